import { describe, expect, it } from "vitest";
import { dominantFrequency } from "./frequency.ts";
import { synthPcm, toneFrequencyFor } from "./tone.ts";

interface Tone {
  hz: number;
  amplitude: number;
}

/** Interleaved int16 with the same mix on every channel, plus seeded white noise of `noise` peak. */
function synth(tones: Tone[], sampleRate: number, channels: number, ms: number, noise = 0): Int16Array {
  const frames = Math.round((sampleRate * ms) / 1000);
  const out = new Int16Array(frames * channels);
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < frames; i++) {
    let value = 0;
    for (const t of tones) value += t.amplitude * Math.sin((2 * Math.PI * t.hz * i) / sampleRate);
    value += noise * (2 * random() - 1);
    const sample = Math.max(-32768, Math.min(32767, Math.round(value)));
    for (let c = 0; c < channels; c++) out[i * channels + c] = sample;
  }
  return out;
}

describe("dominantFrequency", () => {
  it.each([
    { hz: 220, rate: 48_000, channels: 2, ms: 1000 },
    { hz: 685, rate: 48_000, channels: 2, ms: 200 },
    { hz: 437.3, rate: 48_000, channels: 1, ms: 250 },
    { hz: 1234.5, rate: 44_100, channels: 1, ms: 500 },
    { hz: 300, rate: 24_000, channels: 2, ms: 300 },
    { hz: 95, rate: 16_000, channels: 1, ms: 400 },
    { hz: 1990, rate: 32_000, channels: 1, ms: 200 },
  ])("finds $hz Hz at $rate Hz × $channels ch in $ms ms within ±0.1 Hz", ({ hz, rate, channels, ms }) => {
    // Tighter than half a bin of the padded FFT: only the interpolation gets this close.
    const pcm = synth([{ hz, amplitude: 10_000 }], rate, channels, ms);
    expect(Math.abs(dominantFrequency(pcm, rate, channels) - hz)).toBeLessThan(0.1);
  });

  it("tells apart neighbouring fake-TTS tones 15 Hz apart", () => {
    for (const hz of [220, 235, 670, 685]) {
      const pcm = synth([{ hz, amplitude: 8000 }], 48_000, 2, 200);
      expect(220 + Math.round((dominantFrequency(pcm, 48_000, 2) - 220) / 15) * 15).toBe(hz);
    }
  });

  it("reads the tone of the fakes' own synthPcm (with its fades)", () => {
    const hz = toneFrequencyFor("English_Graceful_Lady");
    const pcm = synthPcm({ durationMs: 300, sampleRate: 48_000, channels: 2, frequency: hz });
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    expect(Math.abs(dominantFrequency(samples, 48_000, 2) - hz)).toBeLessThan(3);
  });

  it("stays within ±3 Hz under white noise as loud as the tone", () => {
    const pcm = synth([{ hz: 515, amplitude: 6000 }], 48_000, 2, 300, 6000 * Math.sqrt(3 / 2));
    expect(Math.abs(dominantFrequency(pcm, 48_000, 2) - 515)).toBeLessThan(3);
  });

  it("ignores stronger components outside the range, and a DC offset", () => {
    const tones = [
      { hz: 50, amplitude: 12_000 },
      { hz: 4000, amplitude: 12_000 },
      { hz: 330, amplitude: 3000 },
    ];
    const pcm = synth(tones, 48_000, 1, 400).map((s) => Math.min(32767, s + 2000));
    expect(Math.abs(dominantFrequency(pcm, 48_000, 1) - 330)).toBeLessThan(1);
    expect(Math.abs(dominantFrequency(pcm, 48_000, 1, [20, 100]) - 50)).toBeLessThan(1);
  });

  it("averages channels: a tone on the left only is still found", () => {
    const mono = synth([{ hz: 610, amplitude: 9000 }], 48_000, 1, 300);
    const stereo = new Int16Array(mono.length * 2);
    mono.forEach((s, i) => {
      stereo[2 * i] = s;
    });
    expect(Math.abs(dominantFrequency(stereo, 48_000, 2) - 610)).toBeLessThan(1);
  });

  it("returns NaN for silence and for too little audio", () => {
    expect(dominantFrequency(new Int16Array(9600), 48_000, 2)).toBeNaN();
    expect(dominantFrequency(new Int16Array(1), 48_000, 2)).toBeNaN();
  });
});
