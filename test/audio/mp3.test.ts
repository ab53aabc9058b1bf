import { Mp3Encoder } from "@breezystack/lamejs";
import { MPEGDecoder } from "mpg123-decoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  joinMp3,
  mp3DurationMs,
  mp3Frames,
  mp3Info,
  parseFrameHeader,
  silentMp3Frames,
  splitMp3,
} from "../../src/audio/mp3.ts";

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
    "%s file at %i bytes: parts fit, cut at frames, play, and concatenate back",
    async (name, max) => {
      const file = name === "plain" ? plain : tagged;
      const parts = splitMp3(file, max);
      expect(parts.length).toBeGreaterThan(1);
      expect(Buffer.concat(parts).equals(file)).toBe(true);
      for (const part of parts) expect(part.length).toBeLessThanOrEqual(max);
      // Every part after the first begins exactly at a frame header.
      for (const part of parts.slice(1)) expect(parseFrameHeader(part, 0)).toBeDefined();
      // Greedy packing: no two neighbouring parts could have been one.
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

  it("refuses a limit smaller than a frame (or a tag with its first frame)", () => {
    expect(() => splitMp3(plain, largestFrame - 1)).toThrow(RangeError);
    expect(() => splitMp3(tagged, 600)).toThrow(RangeError);
    expect(() => splitMp3(plain, 0)).toThrow(RangeError);
    expect(() => splitMp3(Buffer.from("no audio here"), 5)).toThrow(/no MPEG audio frames/);
  });
});
