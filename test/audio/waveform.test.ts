import { describe, expect, it } from "vitest";
import { waveform, waveformBase64 } from "../../src/audio/waveform.ts";
import { sine } from "./signal.ts";

describe("waveform", () => {
  it("gives 256 bars for a long clip, the loudest at 255", () => {
    const bars = waveform(sine(48000, 48000, 440), 1);
    expect(bars).toHaveLength(256);
    expect(Math.max(...bars)).toBe(255);
    // A steady tone is equally loud everywhere (bucket edges may cut a cycle unevenly).
    expect(Math.min(...bars)).toBeGreaterThan(220);
  });

  it("follows loudness over time", () => {
    // Silence, a quiet half-scale part, then a loud part: thirds of the clip.
    const third = 16000;
    const pcm = new Int16Array(3 * third);
    pcm.set(sine(third, 48000, 440, 5000), third);
    pcm.set(sine(third, 48000, 440, 20000), 2 * third);
    const bars = waveform(pcm, 1, 30);
    expect(bars).toHaveLength(30);
    expect([...bars.subarray(0, 10)]).toEqual(new Array(10).fill(0));
    for (const bar of bars.subarray(11, 19)) expect(bar).toBeCloseTo(64, -1); // a quarter of 255
    for (const bar of bars.subarray(21)) expect(bar).toBeGreaterThanOrEqual(250);
  });

  it("is all zeros for silence", () => {
    expect([...waveform(new Int16Array(10_000), 1)]).toEqual(new Array(256).fill(0));
  });

  it("gives one bar per frame for clips shorter than the point count", () => {
    const pcm = new Int16Array([0, 100, -200, 400, 0, 0]);
    expect([...waveform(pcm, 1)]).toEqual([0, 64, 128, 255, 0, 0]);
    expect(waveform(new Int16Array(0), 1)).toHaveLength(0);
  });

  it("counts frames, not samples, for stereo", () => {
    const pcm = new Int16Array([1000, -1000, 0, 0, 500, 500]);
    expect([...waveform(pcm, 2)]).toEqual([255, 0, 128]);
  });

  it("rejects nonsense channel and point counts", () => {
    expect(() => waveform(new Int16Array(4), 0)).toThrow(RangeError);
    expect(() => waveform(new Int16Array(4), 1, 0)).toThrow(RangeError);
  });
});

describe("waveformBase64", () => {
  it("is the base64 of the bars, at most 256 bytes", () => {
    const pcm = sine(96000, 48000, 440);
    const decoded = Buffer.from(waveformBase64(pcm, 1), "base64");
    expect(decoded).toHaveLength(256);
    expect([...decoded]).toEqual([...waveform(pcm, 1)]);
  });
});
