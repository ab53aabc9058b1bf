import { Mp3Encoder } from "@breezystack/lamejs";
import { MPEGDecoder } from "mpg123-decoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  joinMp3,
  MIN_CLEAN_PART_SHARE,
  type Mp3Frame,
  mainDataBegin,
  mp3DurationMs,
  mp3Frames,
  mp3Info,
  parseFrameHeader,
  silentMp3Frames,
  splitMp3,
} from "../../src/audio/mp3.ts";
import { speechLike } from "./signal.ts";

/** A real LAME-encoded tone (lamejs picks its own output rate for low bitrates, as LAME does). */
function encode(ms: number, sampleRate: number, channels: 1 | 2, kbps: number, freq = 440): Buffer {
  const n = Math.round((ms * sampleRate) / 1000);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = Math.round(Math.sin((2 * Math.PI * freq * i) / sampleRate) * 8000);
  const encoder = new Mp3Encoder(channels, sampleRate, kbps);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i += 1152) {
    const block = pcm.subarray(i, i + 1152);
    parts.push(
      Buffer.from(channels === 2 ? encoder.encodeBuffer(block, block) : encoder.encodeBuffer(block)),
    );
  }
  parts.push(Buffer.from(encoder.flush()));
  return Buffer.concat(parts);
}

/** LAME's encoder delay: the samples in front of the input in what a decoder outputs (before its own 529). */
const LAME_DELAY = 576;

const sideInfoLength = (f: Mp3Frame) =>
  f.version === "1" ? (f.channels === 1 ? 17 : 32) : f.channels === 1 ? 9 : 17;

/** Bytes of main data a frame's side information asks for: its part2_3_length fields, rounded up. */
function mainDataBytes(buf: Uint8Array, f: Mp3Frame): number {
  const side = f.offset + 4 + (f.crc ? 2 : 0);
  const read12 = (bit: number) => {
    const byte = side + (bit >> 3);
    const word = (buf[byte]! << 16) | (buf[byte + 1]! << 8) | buf[byte + 2]!;
    return (word >> (12 - (bit & 7))) & 0xfff;
  };
  const mpeg1 = f.version === "1";
  // main_data_begin, private bits and (MPEG-1) scfsi, then one block per granule and channel.
  let bit = mpeg1 ? 9 + (f.channels === 1 ? 5 : 3) + 4 * f.channels : 8 + f.channels;
  let bits = 0;
  for (let g = 0; g < (mpeg1 ? 2 : 1); g++) {
    for (let c = 0; c < f.channels; c++) {
      bits += read12(bit);
      bit += mpeg1 ? 59 : 63;
    }
  }
  return Math.ceil(bits / 8);
}

/**
 * The same frames with their main data moved back into the room earlier frames leave unused, as an
 * encoder with a bit reservoir lays it out (what mp3packer does): the stream decodes to exactly the same
 * samples. lamejs's Mp3Encoder turns LAME's reservoir off, so this is how the tests get frames with
 * main_data_begin > 0. A frame for which `fresh` says so starts afresh (main_data_begin 0), as encoders
 * often do where little is going on; every other frame starts right after the data before it.
 */
function withReservoir(mp3: Buffer, fresh: (mainDataBytes: number) => boolean): Buffer {
  const frames = mp3Frames(mp3);
  const out = Buffer.alloc(frames.reduce((n, f) => n + f.frameBytes, 0));
  const stream = Buffer.alloc(out.length);
  const payloads: [outStart: number, outEnd: number, streamStart: number][] = [];
  let at = 0;
  let payload = 0;
  let dataEnd = 0;
  for (const f of frames) {
    const head = 4 + (f.crc ? 2 : 0) + sideInfoLength(f);
    expect(f.crc).toBe(false); // the side information changes, and a CRC would cover it
    mp3.copy(out, at, f.offset, f.offset + head);
    const length = mainDataBytes(mp3, f);
    const maxBack = f.version === "1" ? 511 : 255;
    const start = fresh(length) ? payload : Math.max(dataEnd, payload - maxBack);
    mp3.copy(stream, start, f.offset + head, f.offset + head + length);
    const back = payload - start;
    if (f.version === "1") {
      out[at + 4] = back >> 1;
      out[at + 5] = (out[at + 5]! & 0x7f) | ((back & 1) << 7);
    } else {
      out[at + 4] = back;
    }
    payloads.push([at + head, at + f.frameBytes, payload]);
    dataEnd = start + length;
    payload += f.frameBytes - head;
    at += f.frameBytes;
  }
  for (const [from, to, streamStart] of payloads)
    stream.copy(out, from, streamStart, streamStart + to - from);
  return out;
}

/** Mono speech-like audio with pauses of digital silence, laid out with a bit reservoir. */
function speechMp3(ms: number, sampleRate: number, kbps: number, pauses: readonly [number, number][]) {
  const pcm = speechLike(Math.round((ms * sampleRate) / 1000), sampleRate);
  for (const [from, to] of pauses) {
    pcm.fill(0, Math.round((from * sampleRate) / 1000), Math.round((to * sampleRate) / 1000));
  }
  const encoder = new Mp3Encoder(1, sampleRate, kbps);
  const out: Buffer[] = [];
  for (let i = 0; i < pcm.length; i += 1152)
    out.push(Buffer.from(encoder.encodeBuffer(pcm.subarray(i, i + 1152))));
  out.push(Buffer.from(encoder.flush()));
  return { plain: Buffer.concat(out), samples: pcm.length };
}

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/**
 * The Info frame LAME puts in front of a CBR file: Xing fields (frames, bytes, seek table, quality) and
 * the LAME tag with encoder delay and padding, music length and CRCs.
 */
function lameInfoFrame(audio: Buffer, delay: number, padding: number): Buffer {
  const frames = mp3Frames(audio);
  const first = frames[0]!;
  const frame = Buffer.alloc(first.frameBytes);
  audio.copy(frame, 0, first.offset, first.offset + 4);
  const x = 4 + sideInfoLength(first);
  const total = frame.length + audio.length;
  frame.write("Info", x, "latin1");
  frame.writeUInt32BE(0x0f, x + 4);
  frame.writeUInt32BE(frames.length, x + 8);
  frame.writeUInt32BE(total, x + 12);
  for (let i = 0; i < 100; i++) {
    const f = frames[Math.floor((i * frames.length) / 100)]!;
    frame[x + 16 + i] = Math.floor((256 * (frame.length + f.offset)) / total);
  }
  frame.writeUInt32BE(57, x + 116);
  const lame = x + 120;
  frame.write("LAME3.100", lame, "latin1");
  frame[lame + 21] = delay >> 4;
  frame[lame + 22] = ((delay & 0x0f) << 4) | (padding >> 8);
  frame[lame + 23] = padding & 0xff;
  frame.writeUInt32BE(total, lame + 28);
  frame.writeUInt16BE(crc16(audio), lame + 32);
  frame.writeUInt16BE(crc16(frame.subarray(0, lame + 34)), lame + 34);
  return frame;
}

/** What the first frame of `mp3` says when it is an Info frame laid out as `lameInfoFrame` makes it. */
function readLameInfo(mp3: Buffer) {
  const info = mp3Frames(mp3)[0]!;
  if (info.infoTag !== "Info") return undefined;
  const frame = mp3.subarray(info.offset, info.offset + info.frameBytes);
  const x = 4 + sideInfoLength(info);
  const lame = x + 120;
  const audio = mp3Frames(mp3).filter((f) => f.infoTag === undefined);
  const audioEnd = audio.at(-1)!.offset + audio.at(-1)!.frameBytes;
  return {
    frames: frame.readUInt32BE(x + 8),
    bytes: frame.readUInt32BE(x + 12),
    toc: [...frame.subarray(x + 16, x + 116)],
    delay: (frame[lame + 21]! << 4) | (frame[lame + 22]! >> 4),
    padding: ((frame[lame + 22]! & 0x0f) << 8) | frame[lame + 23]!,
    musicLength: frame.readUInt32BE(lame + 28),
    musicCrcOk:
      frame.readUInt16BE(lame + 32) === crc16(mp3.subarray(info.offset + info.frameBytes, audioEnd)),
    tagCrcOk: frame.readUInt16BE(lame + 34) === crc16(frame.subarray(0, lame + 34)),
  };
}

function id3v2(payloadBytes: number, fill = 0xff): Buffer {
  const tag = Buffer.alloc(10 + payloadBytes, fill);
  tag.write("ID3", 0, "ascii");
  tag[3] = 4;
  tag[4] = 0;
  tag[5] = 0;
  // Syncsafe size: 7 bits per byte.
  for (let i = 0; i < 4; i++) tag[6 + i] = (payloadBytes >> (7 * (3 - i))) & 0x7f;
  return tag;
}

function id3v1(): Buffer {
  const tag = Buffer.alloc(128, 0xff); // 0xFF bytes would look like sync words if not recognised
  tag.write("TAG", 0, "ascii");
  return tag;
}

function apeTag(itemsBytes: number): Buffer {
  const footer = Buffer.alloc(32);
  footer.write("APETAGEX", 0, "ascii");
  footer.writeUInt32LE(2000, 8);
  footer.writeUInt32LE(itemsBytes + 32, 12);
  footer.writeUInt32LE(1, 16);
  footer.writeUInt32LE(0, 20); // no header
  return Buffer.concat([Buffer.alloc(itemsBytes, 0xff), footer]);
}

/** A LAME-style "Info" frame shaped like the first frame of `mp3`: header, zero side info, tag. */
function infoFrameFor(mp3: Buffer, tag: "Info" | "Xing" = "Info"): Buffer {
  const first = mp3Frames(mp3)[0]!;
  const frame = Buffer.alloc(first.frameBytes);
  mp3.copy(frame, 0, first.offset, first.offset + 4);
  const side = first.version === "1" ? (first.channels === 1 ? 17 : 32) : first.channels === 1 ? 9 : 17;
  frame.write(tag, 4 + side, "ascii");
  frame.writeUInt32BE(0x0f, 8 + side);
  frame.writeUInt32BE(9999, 12 + side); // a frame count that is wrong for any joined file
  return frame;
}

let decoder: MPEGDecoder;
beforeAll(async () => {
  decoder = new MPEGDecoder();
  await decoder.ready;
});
afterAll(() => decoder.free());

/**
 * Decoded samples this close are the same audio: mpg123's float synthesis, started afresh after
 * silence, can differ from a running one in the last bit of a float (about 1e-7), far below one step
 * of 16-bit audio (3e-5).
 */
const SAME = 1e-6;

function maxDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

async function decode(buf: Uint8Array) {
  await decoder.reset();
  return decoder.decode(buf);
}

describe("parseFrameHeader", () => {
  it.each([
    // bytes, version, bitrate, sampleRate, channels, frameBytes, samplesPerFrame
    [[0xff, 0xfb, 0x90, 0xc4], "1", 128000, 44100, 1, 417, 1152],
    [[0xff, 0xfb, 0x92, 0x04], "1", 128000, 44100, 2, 418, 1152], // padding bit set
    [[0xff, 0xfa, 0xe0, 0x44], "1", 320000, 44100, 2, 1044, 1152], // CRC-protected
    [[0xff, 0xfb, 0x94, 0x44], "1", 128000, 48000, 2, 384, 1152],
    [[0xff, 0xfb, 0x98, 0xc4], "1", 128000, 32000, 1, 576, 1152],
    [[0xff, 0xf3, 0x84, 0x04], "2", 64000, 24000, 2, 192, 576],
    [[0xff, 0xf3, 0x40, 0xc4], "2", 32000, 22050, 1, 104, 576],
    [[0xff, 0xe3, 0x28, 0xc4], "2.5", 16000, 8000, 1, 144, 576],
  ] as const)(
    "%j → MPEG-%s %i bps %i Hz",
    (bytes, version, bitrate, sampleRate, channels, frameBytes, spf) => {
      const h = parseFrameHeader(Uint8Array.from(bytes), 0);
      expect(h).toMatchObject({ version, bitrate, sampleRate, channels, frameBytes, samplesPerFrame: spf });
    },
  );

  it("reports a CRC only when the protection bit is clear", () => {
    expect(parseFrameHeader(Uint8Array.from([0xff, 0xfa, 0xe0, 0x44]), 0)?.crc).toBe(true);
    expect(parseFrameHeader(Uint8Array.from([0xff, 0xfb, 0xe0, 0x44]), 0)?.crc).toBe(false);
  });

  it.each([
    ["no sync", [0xfe, 0xfb, 0x90, 0xc4]],
    ["reserved version", [0xff, 0xeb, 0x90, 0xc4]],
    ["layer II", [0xff, 0xfd, 0x90, 0xc4]],
    ["layer I", [0xff, 0xff, 0x90, 0xc4]],
    ["free-format bitrate", [0xff, 0xfb, 0x00, 0xc4]],
    ["bad bitrate", [0xff, 0xfb, 0xf0, 0xc4]],
    ["reserved sample rate", [0xff, 0xfb, 0x9c, 0xc4]],
    ["truncated", [0xff, 0xfb, 0x90]],
  ])("rejects %s", (_name, bytes) => {
    expect(parseFrameHeader(Uint8Array.from(bytes), 0)).toBeUndefined();
  });
});

describe("mp3Info / mp3DurationMs", () => {
  it.each([
    [44100, 1, 128],
    [44100, 2, 192],
    [48000, 2, 128],
    [32000, 1, 128],
    [24000, 1, 64],
    [16000, 1, 32],
    [8000, 1, 16],
  ] as const)("%i Hz, %i ch, %i kbps: frame count matches what a decoder outputs", async (rate, ch, kbps) => {
    const mp3 = encode(1500, rate, ch, kbps);
    const info = mp3Info(mp3);
    const decoded = await decode(mp3);
    expect(decoded.errors).toEqual([]);
    expect(info.sampleRate).toBe(decoded.sampleRate);
    const spf = info.sampleRate >= 32000 ? 1152 : 576;
    expect(info.frames * spf).toBe(decoded.samplesDecoded);
    expect(info.durationMs).toBe(Math.round((decoded.samplesDecoded * 1000) / decoded.sampleRate));
    expect(mp3DurationMs(mp3)).toBe(info.durationMs);
    expect(info.channels).toBe(ch);
    // Encoder delay and padding add at most a couple of frames to the 1.5 s of input.
    expect(info.durationMs).toBeGreaterThanOrEqual(1500);
    expect(info.durationMs).toBeLessThan(1500 + 3 * ((spf * 1000) / info.sampleRate));
  });

  it("skips ID3v2 (with false sync bytes), ID3v1 and APE tags and junk between frames", () => {
    const mp3 = encode(1000, 44100, 1, 128);
    const plain = mp3Info(mp3);
    const frames = mp3Frames(mp3);
    const cut = frames[10]!.offset;
    const junk = Buffer.from([0xff, 0xfb, 0x00, 0x12, 0x34, 0xff, 0xff, 0x00]);
    const tagged = Buffer.concat([
      id3v2(300),
      mp3.subarray(0, cut),
      junk,
      mp3.subarray(cut),
      apeTag(64),
      id3v1(),
    ]);
    expect(mp3Info(tagged)).toEqual(plain);
    expect(mp3Frames(tagged)[0]!.offset).toBe(310);
  });

  it("does not count the Xing/Info/VBRI frame as audio", () => {
    const mp3 = encode(1000, 44100, 2, 128);
    const withInfo = Buffer.concat([infoFrameFor(mp3), mp3]);
    const frames = mp3Frames(withInfo);
    expect(frames[0]!.infoTag).toBe("Info");
    expect(frames.slice(1).every((f) => f.infoTag === undefined)).toBe(true);
    expect(mp3Info(withInfo).frames).toBe(mp3Info(mp3).frames);
    expect(mp3Frames(Buffer.concat([infoFrameFor(mp3, "Xing"), mp3]))[0]!.infoTag).toBe("Xing");
  });

  it("throws when there is no MPEG audio", () => {
    expect(() => mp3Info(Buffer.from("RIFF....WAVEfmt "))).toThrow(/no MPEG audio frames/);
    expect(() => mp3DurationMs(Buffer.alloc(0))).toThrow(/no MPEG audio frames/);
    expect(mp3Frames(id3v2(50))).toEqual([]);
  });
});

describe("joinMp3", () => {
  it("keeps the first ID3v2 tag, drops the rest and every Info frame, and decodes to the sum", async () => {
    const a = encode(700, 44100, 1, 128, 300);
    const b = encode(1200, 44100, 1, 128, 500);
    const c = encode(400, 44100, 1, 128, 700);
    const firstTag = id3v2(40, 0x41);
    const joined = joinMp3([
      Buffer.concat([firstTag, infoFrameFor(a), a]),
      Buffer.concat([id3v2(60), infoFrameFor(b), b, id3v1()]),
      Buffer.concat([c, apeTag(16)]),
    ]);

    expect(joined.subarray(0, firstTag.length)).toEqual(firstTag);
    expect(joined.indexOf("ID3", firstTag.length)).toBe(-1);
    expect(joined.indexOf("TAG")).toBe(-1);
    expect(joined.indexOf("APETAGEX")).toBe(-1);
    expect(mp3Frames(joined).filter((f) => f.infoTag !== undefined)).toEqual([]);
    expect(joined.length).toBe(firstTag.length + a.length + b.length + c.length);

    const frames = [a, b, c].reduce((n, f) => n + mp3Info(f).frames, 0);
    const decoded = await decode(joined);
    expect(decoded.errors).toEqual([]);
    expect(decoded.samplesDecoded).toBe(frames * 1152);
    expect(mp3DurationMs(joined)).toBe(Math.round((frames * 1152 * 1000) / 44100));
  });

  it("refuses files of different sample rates or channel counts", () => {
    const a = encode(300, 44100, 1, 128);
    expect(() => joinMp3([a, encode(300, 48000, 1, 128)])).toThrow(/different shape/);
    expect(() => joinMp3([a, encode(300, 44100, 2, 128)])).toThrow(/different shape/);
    expect(() => joinMp3([a, Buffer.from("not audio")])).toThrow(/no MPEG audio frames/);
    expect(() => joinMp3([])).toThrow(/nothing to join/);
  });
});

describe("silentMp3Frames", () => {
  it.each([
    [44100, 2, 128],
    [24000, 1, 64],
  ] as const)("%i Hz %i ch: decodes to digital silence of the asked length", async (rate, ch, kbps) => {
    const clip = encode(500, rate, ch, kbps);
    const ref = mp3Frames(clip)[0]!;
    const silence = silentMp3Frames(ref, 1000);
    const frameMs = (ref.samplesPerFrame * 1000) / ref.sampleRate;
    expect(mp3Frames(silence)).toHaveLength(Math.round(1000 / frameMs));
    expect(Math.abs(mp3DurationMs(silence) - 1000)).toBeLessThanOrEqual(frameMs / 2);

    const decoded = await decode(silence);
    expect(decoded.errors).toEqual([]);
    expect(decoded.samplesDecoded).toBe(mp3Frames(silence).length * ref.samplesPerFrame);
    expect(decoded.channelData.every((channel) => channel.every((s) => s === 0))).toBe(true);

    const joined = joinMp3([clip, silence, clip]);
    const both = await decode(joined);
    expect(both.errors).toEqual([]);
    expect(both.samplesDecoded).toBe(mp3Frames(joined).length * ref.samplesPerFrame);
  });

  it("gives nothing for a pause shorter than half a frame", () => {
    const ref = mp3Frames(encode(200, 44100, 1, 128))[0]!;
    expect(silentMp3Frames(ref, 5).length).toBe(0);
  });
});

describe("mainDataBegin", () => {
  const frameAt = (bytes: number[]) => {
    const buf = Uint8Array.from(bytes);
    const h = parseFrameHeader(buf, 0)!;
    return mainDataBegin(buf, { ...h, offset: 0, infoTag: undefined });
  };
  it.each([
    // header, (CRC), side information → main_data_begin
    ["MPEG-1: the first 9 bits", [0xff, 0xfb, 0x90, 0xc4, 0x80, 0x80], 257],
    ["MPEG-1: 0", [0xff, 0xfb, 0x90, 0xc4, 0x00, 0x7f], 0],
    ["MPEG-1: 511", [0xff, 0xfb, 0x90, 0xc4, 0xff, 0x80], 511],
    ["MPEG-1 after the CRC", [0xff, 0xfa, 0x90, 0xc4, 0xff, 0xff, 0x00, 0x80], 1],
    ["MPEG-2: the first 8 bits", [0xff, 0xf3, 0x84, 0x04, 0xab, 0xff], 0xab],
    ["MPEG-2.5: the first 8 bits", [0xff, 0xe3, 0x28, 0xc4, 0x00, 0xff], 0],
    ["MPEG-2 after the CRC", [0xff, 0xf2, 0x84, 0x04, 0xff, 0xff, 0x07, 0xff], 7],
  ])("%s", (_name, bytes, expected) => {
    expect(frameAt(bytes)).toBe(expected);
  });
});

describe("splitMp3", () => {
  const plain = encode(4000, 44100, 2, 128);
  const tagged = Buffer.concat([id3v2(500), infoFrameFor(plain), plain, apeTag(40), id3v1()]);
  const largestFrame = Math.max(...mp3Frames(tagged).map((f) => f.frameBytes));

  it.each([
    ["plain", 2000],
    ["plain", 4096],
    ["plain", 25_000],
    ["plain", plain.length - 1],
    ["tagged", 2000],
    ["tagged", 9_999],
    ["tagged", 40_000],
  ] as const)(
    "%s file at %i bytes: parts fit, cut at frames, play, and hold every frame once",
    async (name, max) => {
      const file = name === "plain" ? plain : tagged;
      const parts = splitMp3(file, max);
      expect(parts.length).toBeGreaterThan(1);
      const joined = Buffer.concat(parts);
      if (name === "plain") {
        expect(joined.equals(file)).toBe(true);
      } else {
        // Byte for byte but for the Info frame, rewritten in place for part one's frames.
        const info = mp3Frames(file)[0]!;
        const end = info.offset + info.frameBytes;
        expect(joined.length).toBe(file.length);
        expect(joined.subarray(0, info.offset).equals(file.subarray(0, info.offset))).toBe(true);
        expect(joined.subarray(end).equals(file.subarray(end))).toBe(true);
        const side = sideInfoLength(info);
        const partOne = mp3Frames(parts[0]!);
        expect(partOne[0]!.infoTag).toBe("Info");
        expect(parts[0]!.readUInt32BE(info.offset + 12 + side)).toBe(partOne.length - 1);
      }
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(max);
      // Every part after the first begins exactly at a frame header.
      for (const part of parts.slice(1)) expect(parseFrameHeader(part, 0)).toBeDefined();
      // lamejs's own encoder never uses the bit reservoir, so every cut is clean and packing is greedy:
      // no two neighbouring parts could have been one.
      for (let i = 1; i < parts.length; i++) {
        expect(parts[i - 1]!.length + parts[i]!.length).toBeGreaterThan(max);
      }

      let samples = 0;
      let frames = 0;
      for (const part of parts) {
        const decoded = await decode(part);
        expect(decoded.errors).toEqual([]);
        expect(decoded.samplesDecoded).toBeGreaterThan(0);
        samples += decoded.samplesDecoded;
        frames += mp3Info(part).frames;
      }
      expect(frames).toBe(mp3Info(file).frames);
      if (name === "plain") {
        expect(samples).toBe(mp3Info(file).frames * 1152);
      } else {
        // mpg123 skips the Info frame of part one and trims the encoder delay it implies.
        expect(Math.abs(samples - mp3Info(file).frames * 1152)).toBeLessThan(2 * 1152);
      }
    },
  );

  it("returns the file itself when it already fits", () => {
    const parts = splitMp3(plain, plain.length);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.equals(plain)).toBe(true);
  });

  it("drops a VBRI frame from part one, and its bytes count towards the room", () => {
    const vbri = Buffer.from(infoFrameFor(plain));
    vbri.fill(0, 4);
    vbri.write("VBRI", 36, "ascii");
    const file = Buffer.concat([vbri, plain]);
    expect(mp3Frames(file)[0]!.infoTag).toBe("VBRI");
    const parts = splitMp3(file, 20_000);
    expect(parts[0]!.indexOf("VBRI")).toBe(-1);
    for (const part of parts) expect(mp3Frames(part).every((f) => f.infoTag === undefined)).toBe(true);
    expect(Buffer.concat(parts).equals(plain)).toBe(true);
    // Without the VBRI frame the file fits whole.
    const whole = splitMp3(file, plain.length);
    expect(whole).toHaveLength(1);
    expect(whole[0]!.equals(plain)).toBe(true);
  });

  it("refuses a limit smaller than a frame (or a tag with its first frame)", () => {
    expect(() => splitMp3(plain, largestFrame - 1)).toThrow(RangeError);
    expect(() => splitMp3(tagged, 600)).toThrow(RangeError);
    expect(() => splitMp3(plain, 0)).toThrow(RangeError);
    expect(() => splitMp3(Buffer.from("no audio here"), 5)).toThrow(/no MPEG audio frames/);
  });
});

describe("splitMp3 on speech that uses the bit reservoir", () => {
  // MiniMax's default shape: 32 kHz mono at 128 kbps. Six seconds with a pause every 1.2 s or so.
  const rate = 32000;
  const pauses: [number, number][] = [
    [900, 1300],
    [2200, 2500],
    [3400, 3900],
    [4800, 5100],
  ];
  const { plain, samples: inputSamples } = speechMp3(6000, rate, 128, pauses);
  // Quiet frames (the pauses) start afresh; speech borrows from the frames before.
  const audio = withReservoir(plain, (bytes) => bytes < 40);
  const audioFrames = mp3Frames(audio);
  const padding = audioFrames.length * 1152 - LAME_DELAY - inputSamples;
  const tag = id3v2(300);
  const infoFrame = lameInfoFrame(audio, LAME_DELAY, padding);
  const file = Buffer.concat([tag, infoFrame, audio, id3v1()]);
  /** Each audio frame of `file`, with the byte where it starts and its main_data_begin. */
  const frames = mp3Frames(file)
    .filter((f) => f.infoTag === undefined)
    .map((f) => ({ offset: f.offset, reservoir: mainDataBegin(file, f) }));

  let whole: Float32Array;
  beforeAll(async () => {
    const decoded = await decode(file);
    expect(decoded.errors).toEqual([]);
    whole = decoded.channelData[0]!;
  });

  it("is the audio the tests need: the reservoir in use while speaking, empty in pauses", async () => {
    // Moving the main data changed nothing a decoder outputs.
    const unpacked = await decode(Buffer.concat([tag, infoFrame, plain]));
    expect(maxDifference(unpacked.channelData[0]!, whole)).toBe(0);
    const speaking = frames.filter((f) => f.reservoir > 0).length;
    const clean = frames.filter((f, i) => i > 0 && f.reservoir === 0).length;
    expect(speaking).toBeGreaterThan(frames.length / 2);
    expect(clean).toBeGreaterThan(10);
    expect(readLameInfo(file)).toMatchObject({ frames: frames.length, tagCrcOk: true, musicCrcOk: true });
    // mpg123 honours the LAME tag: the encoder delay and padding are gone from its output.
    expect(whole.length).toBe(inputSamples);
  });

  it.each([5000, 12_000, 30_000, 50_000, file.length - 1])(
    "at %i bytes: parts start where the reservoir is empty and play as the whole file does",
    async (max) => {
      const parts = splitMp3(file, max);
      expect(parts.length).toBeGreaterThan(1);
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(max);
      // The Info frame is rewritten in place, so part k starts at the sum of the lengths before it.
      expect(Buffer.concat(parts).length).toBe(file.length);
      const starts = parts.map((_, k) => parts.slice(0, k).reduce((n, p) => n + p.length, 0));

      let cleanCuts = 0;
      for (let k = 1; k < parts.length; k++) {
        const cut = frames.findIndex((f) => f.offset === starts[k]);
        expect(cut).toBeGreaterThan(0);
        // The size window: where part k-1 could end, at least MIN_CLEAN_PART_SHARE of the limit long.
        const window = frames.filter(
          (f) =>
            f.offset > starts[k - 1]! && f.offset - starts[k - 1]! <= max && f.offset > frames[0]!.offset,
        );
        const cleanInReach = window.filter(
          (f) => f.reservoir === 0 && f.offset - starts[k - 1]! >= max * MIN_CLEAN_PART_SHARE,
        );
        const expected = cleanInReach.at(-1) ?? window.at(-1)!;
        expect(frames[cut]!.offset).toBe(expected.offset);
        if (frames[cut]!.reservoir === 0) cleanCuts++;
      }
      expect(cleanCuts).toBeGreaterThan(0);
      if (max >= 30_000) expect(cleanCuts).toBe(parts.length - 1);

      // Part one's Info frame describes part one: its own frames and bytes, no padding, valid CRCs.
      const info = readLameInfo(parts[0]!)!;
      const ownFrames = mp3Info(parts[0]!).frames;
      expect(info).toMatchObject({
        frames: ownFrames,
        bytes: parts[0]!.length - tag.length,
        musicLength: parts[0]!.length - tag.length,
        delay: LAME_DELAY,
        padding: 0,
        tagCrcOk: true,
        musicCrcOk: true,
      });
      expect(info.toc[0]).toBe(Math.floor((256 * infoFrame.length) / info.bytes));
      for (let i = 1; i < 100; i++) expect(info.toc[i]).toBeGreaterThanOrEqual(info.toc[i - 1]!);
      expect(parts[0]!.indexOf(infoFrame)).toBe(-1);
      // No other part carries an info frame, and the parts hold every audio frame once.
      for (const part of parts.slice(1)) {
        expect(mp3Frames(part).some((f) => f.infoTag !== undefined)).toBe(false);
      }
      expect(parts.reduce((n, p) => n + mp3Info(p).frames, 0)).toBe(frames.length);

      // Played alone, each part gives exactly its span of the whole file's samples. Part one is trimmed
      // of the encoder delay as the whole file is; the last part keeps the padding the whole file trims.
      let at = 0;
      for (const [k, part] of parts.entries()) {
        const decoded = await decode(part);
        expect(decoded.errors).toEqual([]);
        const pcm = decoded.channelData[0]!;
        const partFrames = mp3Info(part).frames;
        if (k > 0) expect(pcm.length).toBe(partFrames * 1152);
        const span = whole.subarray(at, at + pcm.length);
        const clean = k === 0 || frames[frames.findIndex((f) => f.offset === starts[k])]!.reservoir === 0;
        if (clean) {
          expect(maxDifference(pcm.subarray(0, span.length), span)).toBeLessThan(SAME);
        } else {
          // A cut that needs the part before's reservoir: its first frames are lost, the rest is the same.
          expect(maxDifference(pcm.subarray(0, 1152), span.subarray(0, 1152))).toBeGreaterThan(SAME);
          expect(maxDifference(pcm.subarray(2 * 1152, span.length), span.subarray(2 * 1152))).toBeLessThan(
            SAME,
          );
        }
        at += pcm.length;
      }
      // mpg123 trims the encoder delay and its own 529-sample delay at the start of the whole file and
      // part one; at the end of the whole file it trims the padding less those 529 samples.
      expect(at).toBe(whole.length + padding - 529);
    },
  );

  it("a cut where the reservoir is in use loses the start of the next part (why cuts avoid it)", async () => {
    const busy = frames.findIndex((f, i) => i > 10 && f.reservoir > 100);
    const part = file.subarray(frames[busy]!.offset, frames[busy + 20]!.offset);
    const pcm = (await decode(part)).channelData[0]!;
    const before = mp3Frames(file.subarray(0, frames[busy]!.offset)).filter((f) => !f.infoTag).length;
    const span = whole.subarray(before * 1152 - LAME_DELAY - 529);
    expect(maxDifference(pcm.subarray(0, 1152), span.subarray(0, 1152))).toBeGreaterThan(0.01);
  });
});

describe("splitMp3 when no frame in reach has an empty reservoir", () => {
  // An encoder that never starts a frame afresh (MPEG-2 here, whose main_data_begin has 8 bits): every
  // cut falls back to the largest part.
  const mp3 = withReservoir(speechMp3(4000, 24000, 64, [[1000, 1500]]).plain, () => false);

  it.each([3000, 8000])(
    "at %i bytes: parts are as large as they can be and all frames are kept",
    async (max) => {
      const frames = mp3Frames(mp3);
      expect(frames.slice(1).every((f) => mainDataBegin(mp3, f) > 0)).toBe(true);
      const parts = splitMp3(mp3, max);
      expect(Buffer.concat(parts).equals(mp3)).toBe(true);
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(max);
      // Greedy: the first frame of each part would not have fitted in the part before.
      for (let i = 1; i < parts.length; i++) {
        expect(parts[i - 1]!.length + parseFrameHeader(parts[i]!, 0)!.frameBytes).toBeGreaterThan(max);
      }
      let samples = 0;
      for (const part of parts) {
        const decoded = await decode(part);
        expect(decoded.errors).toEqual([]);
        samples += decoded.samplesDecoded;
      }
      expect(samples).toBe(frames.length * 576);
    },
  );
});
