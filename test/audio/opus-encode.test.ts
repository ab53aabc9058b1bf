import { createRequire } from "node:module";
import OpusScript from "opusscript";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  createNativeOpusEncoder,
  createOpusEncoder,
  encodeOpus,
  FRAME_SAMPLES,
  OPUS_INPUT_RATES,
  OPUS_PRE_SKIP,
} from "../../src/audio/opus-encode.ts";
import { bufferFromInt16, int16FromBuffer } from "../../src/audio/resample.ts";
import { channel, dominantFrequency, rms, sine, speechLike } from "./signal.ts";

const { OpusEncoder: NativeOpus } = createRequire(import.meta.url)(
  "@discordjs/opus",
) as typeof import("@discordjs/opus");

function decodeAll(packets: Buffer[], channels: 1 | 2): Int16Array {
  const decoder = new OpusScript(48000, channels);
  try {
    const parts = packets.map((p) => int16FromBuffer(decoder.decode(p)));
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  } finally {
    decoder.delete();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("encodeOpus", () => {
  it("encodes mono speech-band audio into 20 ms packets that decode to the same tone", () => {
    const pcm = sine(48000 + 500, 48000, 440); // not a whole number of frames
    const { packets, samplesPerPacket } = encodeOpus(pcm, { channels: 1 });
    expect(samplesPerPacket).toBe(FRAME_SAMPLES);
    expect(packets).toHaveLength(Math.ceil(pcm.length / 960));
    for (const p of packets) expect(p.length).toBeGreaterThan(0);
    const decoded = decodeAll(packets, 1);
    expect(decoded).toHaveLength(packets.length * 960);
    expect(dominantFrequency(decoded, 48000)).toBeCloseTo(440, 0);
    // The look-ahead shows up as leading near-silence, then the tone at its level.
    expect(rms(decoded, 0, OPUS_PRE_SKIP - 40)).toBeLessThan(300);
    expect(Math.abs(rms(decoded, 4800, 43200) / rms(pcm) - 1)).toBeLessThan(0.1);
  });

  it("keeps the channels of stereo input", () => {
    const frames = 24000;
    const pcm = new Int16Array(frames * 2);
    const left = sine(frames, 48000, 300);
    const right = sine(frames, 48000, 1200);
    for (let i = 0; i < frames; i++) [pcm[2 * i], pcm[2 * i + 1]] = [left[i]!, right[i]!];
    const { packets } = encodeOpus(pcm, { channels: 2, bitrate: 96000, application: "audio" });
    expect(packets).toHaveLength(25);
    const decoded = decodeAll(packets, 2);
    expect(dominantFrequency(channel(decoded, 2, 0), 48000)).toBeCloseTo(300, 0);
    expect(dominantFrequency(channel(decoded, 2, 1), 48000)).toBeCloseTo(1200, 0);
  });

  it("honours the bitrate", () => {
    const pcm = sine(48000 * 2, 48000, 440, 8000);
    const size = (bitrate: number): number =>
      encodeOpus(pcm, { channels: 1, bitrate }).packets.reduce((n, p) => n + p.length, 0);
    const low = size(16000);
    const high = size(64000);
    expect(high).toBeGreaterThan(low * 1.5);
    expect((low * 8) / 2).toBeLessThan(20000); // about 16 kb/s over the 2 s
  });

  it("frees the encoder when encoding fails half-way", () => {
    const freed = vi.spyOn(OpusScript.prototype, "delete");
    vi.spyOn(OpusScript.prototype, "encode").mockImplementationOnce(() => {
      throw new Error("Encode error: Internal error");
    });
    expect(() => encodeOpus(new Int16Array(960), { channels: 1 })).toThrow(/Internal error/);
    expect(freed).toHaveBeenCalledTimes(1);
  });

  it("frees every encoder's wasm memory: hundreds of clips leave a long-lived encoder working", () => {
    // opusscript keeps views into its wasm heap. Leaking ~100 stereo encoders grows the heap, which
    // detaches the views of every live encoder; this one would then throw on its next frame.
    const live = createOpusEncoder({ channels: 2 });
    try {
      const clip = new Int16Array(960 * 2);
      for (let i = 0; i < 400; i++) encodeOpus(clip, { channels: 2 });
      expect(live.encodeFrame(new Int16Array(1920)).length).toBeGreaterThan(0);
    } finally {
      live.delete();
    }
  });
});

describe("createOpusEncoder", () => {
  it("pads a short last frame with silence and refuses an oversized one", () => {
    const encoder = createOpusEncoder({ channels: 1 });
    try {
      expect(encoder.encodeFrame(new Int16Array(100).fill(1000)).length).toBeGreaterThan(0);
      expect(() => encoder.encodeFrame(new Int16Array(961))).toThrow(RangeError);
    } finally {
      encoder.delete();
    }
  });

  it("cannot be used after delete, and delete twice is harmless", () => {
    const freed = vi.spyOn(OpusScript.prototype, "delete");
    const encoder = createOpusEncoder({ channels: 2 });
    encoder.delete();
    encoder.delete();
    expect(freed).toHaveBeenCalledTimes(1);
    expect(() => encoder.encodeFrame(new Int16Array(1920))).toThrow(/after delete/);
  });

  it("says so when too many live encoders have invalidated it", () => {
    const first = createOpusEncoder({ channels: 2 });
    const others: ReturnType<typeof createOpusEncoder>[] = [];
    try {
      let failure: unknown;
      for (let i = 0; i < 1000 && failure === undefined; i++) {
        others.push(createOpusEncoder({ channels: 2 }));
        try {
          first.encodeFrame(new Int16Array(1920));
        } catch (error) {
          failure = error;
        }
      }
      expect(String(failure)).toMatch(/heap grew/);
    } finally {
      for (const encoder of [first, ...others]) encoder.delete();
    }
  });

  it("rejects channel counts Opus mapping family 0 cannot carry", () => {
    expect(() => createOpusEncoder({ channels: 3 as 1 })).toThrow(RangeError);
  });
});

/** Packets decoded the way Discord clients and bots do: 48 kHz stereo, whatever they were encoded at. */
function decodeAt48kStereo(packets: Buffer[], library: "opusscript" | "@discordjs/opus"): Int16Array {
  let decode: (packet: Buffer) => Buffer;
  let free = () => {};
  if (library === "opusscript") {
    const decoder = new OpusScript(48000, 2);
    decode = (p) => decoder.decode(p);
    free = () => decoder.delete();
  } else {
    const decoder = new NativeOpus(48000, 2);
    decode = (p) => decoder.decode(p);
  }
  try {
    const parts = packets.map((p) => int16FromBuffer(decode(p)));
    const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  } finally {
    free();
  }
}

function encodeNative(pcm: Int16Array, sampleRate: (typeof OPUS_INPUT_RATES)[number], bitrate = 64_000) {
  const encoder = createNativeOpusEncoder({ sampleRate, channels: 1, bitrate });
  const bytes = bufferFromInt16(pcm);
  const packets: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += encoder.frameBytes) {
    packets.push(encoder.encodeFrame(bytes.subarray(o, o + encoder.frameBytes)));
  }
  return packets;
}

describe("createNativeOpusEncoder (voice channels: the provider's rate, mono)", () => {
  it.each(["opusscript", "@discordjs/opus"] as const)(
    "24 kHz mono packets decode with %s at 48 kHz stereo: same length, same tone, same level, both channels alike",
    (library) => {
      const pcm = sine(24000, 24000, 440, 8000); // 1 s
      const packets = encodeNative(pcm, 24000);
      expect(packets).toHaveLength(50); // 480 samples per 20 ms packet
      for (const p of packets) {
        expect(p[0]! & 0x04).toBe(0); // TOC s bit: a mono packet
        expect(p[0]! >> 3).toBeLessThan(28); // TOC config: not fullband (a 24 kHz encoder tops out at SWB)
      }
      const decoded = decodeAt48kStereo(packets, library);
      expect(decoded).toHaveLength(48000 * 2); // every 20 ms packet gives 960 stereo frames at 48 kHz
      const left = channel(decoded, 2, 0);
      const right = channel(decoded, 2, 1);
      expect(right).toEqual(left); // the mono channel duplicated
      expect(Math.abs(dominantFrequency(left, 48000) - 440)).toBeLessThan(1);
      // Skip the encoder's look-ahead and the onset; the tone keeps its level.
      expect(Math.abs(rms(left, 4800, 43200) / rms(pcm) - 1)).toBeLessThan(0.1);
    },
  );

  it.each(OPUS_INPUT_RATES.map((rate) => ({ rate })))(
    "a $rate Hz encoder makes 20 ms packets that decode at 48 kHz to the same tone",
    ({ rate }) => {
      const tone = 1000;
      const packets = encodeNative(sine(rate / 2, rate, tone), rate); // 0.5 s
      expect(packets).toHaveLength(25);
      const decoded = decodeAt48kStereo(packets, "opusscript");
      expect(decoded).toHaveLength(24000 * 2);
      expect(Math.abs(dominantFrequency(channel(decoded, 2, 0), 48000) - tone)).toBeLessThan(2);
    },
  );

  it("keeps to the bitrate asked for", () => {
    const pcm = speechLike(24000 * 4, 24000);
    const kbps = (bitrate: number) =>
      (encodeNative(pcm, 24000, bitrate).reduce((n, p) => n + p.length, 0) * 8) / 4 / 1000;
    expect(kbps(64_000)).toBeGreaterThan(48);
    expect(kbps(64_000)).toBeLessThan(72);
    expect(kbps(24_000)).toBeLessThan(30);
  });

  it("keeps stereo input stereo", () => {
    const frames = 24000;
    const pcm = new Int16Array(frames * 2);
    const left = sine(frames, 24000, 300);
    const right = sine(frames, 24000, 1200);
    for (let i = 0; i < frames; i++) [pcm[2 * i], pcm[2 * i + 1]] = [left[i]!, right[i]!];
    const encoder = createNativeOpusEncoder({ sampleRate: 24000, channels: 2, bitrate: 96_000 });
    expect(encoder.frameBytes).toBe(1920);
    const bytes = bufferFromInt16(pcm);
    const packets: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += 1920)
      packets.push(encoder.encodeFrame(bytes.subarray(o, o + 1920)));
    expect(packets[0]![0]! & 0x04).toBe(0x04);
    const decoded = decodeAt48kStereo(packets, "opusscript");
    expect(dominantFrequency(channel(decoded, 2, 0), 48000)).toBeCloseTo(300, 0);
    expect(dominantFrequency(channel(decoded, 2, 1), 48000)).toBeCloseTo(1200, 0);
  });

  it("pads a short frame with silence, takes any byte offset, and refuses an oversized frame", () => {
    const encoder = createNativeOpusEncoder({ sampleRate: 24000, channels: 1, bitrate: 64_000 });
    expect(encoder.frameBytes).toBe(960);
    expect(encoder.encodeFrame(Buffer.alloc(100, 1)).length).toBeGreaterThan(0);
    const odd = Buffer.alloc(961).subarray(1); // an odd address, as a pooled or sliced Buffer may have
    expect(encoder.encodeFrame(odd).length).toBeGreaterThan(0);
    expect(() => encoder.encodeFrame(Buffer.alloc(962))).toThrow(RangeError);
  });

  it("refuses rates and channel counts libopus cannot encode", () => {
    expect(() =>
      createNativeOpusEncoder({ sampleRate: 44100 as 48000, channels: 1, bitrate: 64_000 }),
    ).toThrow(RangeError);
    expect(() => createNativeOpusEncoder({ sampleRate: 24000, channels: 3 as 1, bitrate: 64_000 })).toThrow(
      RangeError,
    );
  });
});
