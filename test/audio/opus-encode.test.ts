import OpusScript from "opusscript";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createOpusEncoder, encodeOpus, FRAME_SAMPLES, OPUS_PRE_SKIP } from "../../src/audio/opus-encode.ts";
import { int16FromBuffer } from "../../src/audio/resample.ts";
import { channel, dominantFrequency, rms, sine } from "./signal.ts";

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
