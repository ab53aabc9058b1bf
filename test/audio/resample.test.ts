import { describe, expect, it } from "vitest";
import {
  bufferFromInt16,
  createStreamingResampler,
  int16FromBuffer,
  resamplePcm16,
  toMono,
  toStereo,
} from "../../src/audio/resample.ts";
import { channel, dominantFrequency, hann, power, prng, rms, sine, speechLike } from "./signal.ts";

const db = (ratio: number): number => 20 * Math.log10(ratio);

describe("resamplePcm16", () => {
  it.each([
    [8000, 48000, 1000],
    [16000, 48000, 1000],
    [22050, 48000, 440],
    [24000, 48000, 440],
    [32000, 48000, 3000],
    [44100, 48000, 440],
    [48000, 16000, 1000],
    [48000, 8000, 440],
    [44100, 22050, 5000],
  ])("%i → %i Hz keeps a %i Hz sine at its frequency and level", (from, to, freq) => {
    const input = sine(from, from, freq);
    const out = resamplePcm16(input, from, to, 1);
    expect(out.length).toBe(to); // one second in, one second out
    expect(dominantFrequency(out, to)).toBeCloseTo(freq, 0);
    const middle = [Math.floor(to * 0.1), Math.floor(to * 0.9)] as const;
    expect(Math.abs(db(rms(out, ...middle) / rms(input, from * 0.1, from * 0.9)))).toBeLessThan(0.5);
  });

  it("gives ceil(frames × to / from) frames", () => {
    expect(resamplePcm16(new Int16Array(441), 44100, 48000, 1).length).toBe(480);
    expect(resamplePcm16(new Int16Array(1000), 44100, 48000, 1).length).toBe(Math.ceil((1000 * 480) / 441));
    expect(resamplePcm16(new Int16Array(7), 48000, 16000, 1).length).toBe(3);
    expect(resamplePcm16(new Int16Array(2 * 300), 24000, 48000, 2).length).toBe(2 * 600);
    expect(resamplePcm16(new Int16Array(0), 24000, 48000, 1).length).toBe(0);
  });

  it("removes what would alias when downsampling", () => {
    // 10 kHz is above 8 kHz, the Nyquist frequency of 16 kHz: without a low-pass it folds to 6 kHz.
    const out = resamplePcm16(sine(44100, 44100, 10_000), 44100, 16000, 1);
    expect(db(rms(out, 1000, 15000) / rms(sine(44100, 44100, 10_000)))).toBeLessThan(-40);
  });

  it("suppresses the images of upsampling", () => {
    // 24 → 48 kHz: a 3 kHz tone has its image at 21 kHz.
    const out = channel(resamplePcm16(sine(24000, 24000, 3000), 24000, 48000, 1), 1, 0);
    const block = hann(out.subarray(20000, 28192));
    expect(10 * Math.log10(power(block, 48000, 21000) / power(block, 48000, 3000))).toBeLessThan(-50);
  });

  it("has unity gain at every filter phase (a constant stays constant)", () => {
    const out = resamplePcm16(new Int16Array(4410).fill(12345), 44100, 48000, 1);
    for (const s of out.subarray(100, out.length - 100)) expect(Math.abs(s - 12345)).toBeLessThanOrEqual(1);
  });

  it("keeps stereo channels apart", () => {
    const frames = 24000;
    const left = sine(frames, 24000, 440);
    const right = sine(frames, 24000, 1500);
    const stereo = new Int16Array(frames * 2);
    for (let i = 0; i < frames; i++) [stereo[2 * i], stereo[2 * i + 1]] = [left[i]!, right[i]!];
    const out = resamplePcm16(stereo, 24000, 48000, 2);
    expect(dominantFrequency(channel(out, 2, 0), 48000)).toBeCloseTo(440, 0);
    expect(dominantFrequency(channel(out, 2, 1), 48000)).toBeCloseTo(1500, 0);
  });

  it("clips instead of wrapping around on full-scale input", () => {
    const square = new Int16Array(4800).map((_, i) => (Math.floor(i / 50) % 2 ? 32767 : -32768));
    const out = resamplePcm16(square, 24000, 48000, 1);
    // Gibbs overshoot of a full-scale square wave must saturate, never flip sign.
    for (let i = 200; i < out.length - 200; i++) {
      const expected = Math.floor(i / 2 / 50) % 2 ? 1 : -1;
      const phaseInPeriod = (i / 2) % 50;
      if (phaseInPeriod > 5 && phaseInPeriod < 45) expect(Math.sign(out[i]!)).toBe(expected);
    }
  });

  it("copies when the rates are equal", () => {
    const input = sine(100, 48000, 440);
    const out = resamplePcm16(input, 48000, 48000, 1);
    expect(out).toEqual(input);
    expect(out.buffer).not.toBe(input.buffer);
  });

  it("rejects nonsense rates and channel counts", () => {
    expect(() => resamplePcm16(new Int16Array(4), 0, 48000, 1)).toThrow(RangeError);
    expect(() => resamplePcm16(new Int16Array(4), 24000, 48000.5, 1)).toThrow(RangeError);
    expect(() => resamplePcm16(new Int16Array(4), 24000, 48000, 0)).toThrow(RangeError);
  });
});

describe("createStreamingResampler", () => {
  function splitRandomly(buf: Buffer, random: () => number, maxChunk: number): Buffer[] {
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < buf.length; ) {
      const size = Math.floor(random() * maxChunk); // 0 included: empty chunks must be harmless
      chunks.push(buf.subarray(offset, offset + size));
      offset += size;
    }
    return chunks;
  }

  it.each([
    [24000, 48000, 1],
    [44100, 48000, 2],
    [22050, 48000, 2],
    [8000, 48000, 1],
    [48000, 16000, 1],
    [44101, 48000, 1], // more phases than are tabulated
    [48000, 48000, 2],
  ])("%i → %i Hz × %i: any split gives the one-shot output byte for byte", (from, to, channels) => {
    const mono = speechLike(Math.round(from * 0.3), from);
    const pcm = channels === 1 ? mono : toStereo(mono, 1);
    const expected = bufferFromInt16(resamplePcm16(pcm, from, to, channels));
    const input = bufferFromInt16(pcm);
    const random = prng(from + to + channels);
    for (const maxChunk of [3, 101, 4096]) {
      const resampler = createStreamingResampler({ fromRate: from, toRate: to, channels });
      const out = splitRandomly(input, random, maxChunk).map((chunk) => resampler.push(chunk));
      out.push(resampler.flush());
      expect(Buffer.concat(out).equals(expected)).toBe(true);
    }
  });

  it("does not keep a reference to the caller's chunk", () => {
    const input = bufferFromInt16(sine(2000, 24000, 440));
    const expected = bufferFromInt16(resamplePcm16(int16FromBuffer(input), 24000, 48000, 1));
    const resampler = createStreamingResampler({ fromRate: 24000, toRate: 48000, channels: 1 });
    const scratch = Buffer.alloc(333);
    const out: Buffer[] = [];
    for (let offset = 0; offset < input.length; offset += scratch.length) {
      const n = input.copy(scratch, 0, offset);
      out.push(resampler.push(scratch.subarray(0, n)));
      scratch.fill(0x55); // a pooled buffer being reused
    }
    out.push(resampler.flush());
    expect(Buffer.concat(out).equals(expected)).toBe(true);
  });

  it("is finished after flush", () => {
    const resampler = createStreamingResampler({ fromRate: 24000, toRate: 48000, channels: 1 });
    resampler.flush();
    expect(() => resampler.push(Buffer.alloc(2))).toThrow();
    expect(() => resampler.flush()).toThrow();
  });
});

describe("sample and channel helpers", () => {
  it("int16FromBuffer reads little-endian samples at an odd byte offset and copies them", () => {
    const backing = Buffer.from([0xaa, 0x34, 0x12, 0xff, 0xff, 0x00, 0x80, 0x07]);
    const odd = backing.subarray(1); // 7 bytes: three samples and a stray byte
    const samples = int16FromBuffer(odd);
    expect([...samples]).toEqual([0x1234, -1, -32768]);
    backing[1] = 0;
    expect(samples[0]).toBe(0x1234);
  });

  it("bufferFromInt16 writes little-endian bytes into a fresh buffer", () => {
    const samples = new Int16Array([0x1234, -2, 0, 32767]).subarray(1);
    const buf = bufferFromInt16(samples);
    expect([...buf]).toEqual([0xfe, 0xff, 0x00, 0x00, 0xff, 0x7f]);
    buf[0] = 0;
    expect(samples[0]).toBe(-2);
  });

  it("toMono averages the channels of each frame", () => {
    expect([...toMono(new Int16Array([100, 300, -32768, 32767, 5, 6]), 2)]).toEqual([200, 0, 6]);
    expect([...toMono(new Int16Array([3, 6, 9, 1]), 3)]).toEqual([6]); // partial frame ignored
  });

  it("toStereo duplicates mono and mixes down more channels", () => {
    expect([...toStereo(new Int16Array([1, -2]), 1)]).toEqual([1, 1, -2, -2]);
    expect([...toStereo(new Int16Array([1, 2, 3, 4]), 2)]).toEqual([1, 2, 3, 4]);
    expect([...toStereo(new Int16Array([3, 6, 9]), 3)]).toEqual([6, 6]);
  });
});
