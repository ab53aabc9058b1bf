import OpusScript from "opusscript";
import { describe, expect, it } from "vitest";
import { bufferFromInt16, int16FromBuffer } from "../../src/audio/resample.ts";
import { createPcmToOpus, VOICE_FALLBACK_RATE } from "../../src/voice/pcm-pipeline.ts";
import { channel, dominantFrequency, prng, rms, sine } from "../audio/signal.ts";

/** What a listener gets: every packet decoded at 48 kHz stereo (opusscript, not the encoder's library). */
function listen(packets: Buffer[]): Int16Array {
  const decoder = new OpusScript(48000, 2);
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

function splitRandomly(bytes: Buffer, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; ) {
    const n = 1 + Math.floor(rand() * 3000);
    out.push(bytes.subarray(o, o + n));
    o += n;
  }
  return out;
}

function convert(input: { sampleRate: number; channels: 1 | 2 }, chunks: Buffer[]) {
  const pipe = createPcmToOpus(input);
  const packets = chunks.flatMap((c) => pipe.push(c));
  packets.push(...pipe.flush());
  return { pipe, packets };
}

describe("createPcmToOpus", () => {
  it("encodes 24 kHz mono as it is: one packet per 20 ms, the last one padded, any chunking alike", () => {
    const pcm = bufferFromInt16(sine(24000 + 240, 24000, 440, 8000)); // 1.01 s
    const whole = convert({ sampleRate: 24000, channels: 1 }, [pcm]);
    expect(whole.pipe.sampleRate).toBe(24000);
    expect(whole.pipe.channels).toBe(1);
    expect(whole.packets).toHaveLength(51);
    // Chunks split anywhere, odd byte counts included, give the same packets.
    const split = convert({ sampleRate: 24000, channels: 1 }, splitRandomly(pcm, 3));
    expect(Buffer.concat(split.packets).equals(Buffer.concat(whole.packets))).toBe(true);
    const heard = listen(whole.packets);
    expect(heard).toHaveLength(51 * 960 * 2);
    expect(Math.abs(dominantFrequency(channel(heard, 2, 0), 48000) - 440)).toBeLessThan(1);
  });

  it("flush gives nothing more when the input ended on a frame boundary", () => {
    const pipe = createPcmToOpus({ sampleRate: 24000, channels: 1 });
    expect(pipe.push(Buffer.alloc(960 * 3))).toHaveLength(3);
    expect(pipe.flush()).toEqual([]);
    expect(() => pipe.push(Buffer.alloc(2))).toThrow(/after flush/);
  });

  it("encodes at 16 kHz without resampling, and keeps stereo", () => {
    const frames = 16000;
    const pcm = new Int16Array(frames * 2);
    const left = sine(frames, 16000, 300);
    const right = sine(frames, 16000, 1200);
    for (let i = 0; i < frames; i++) [pcm[2 * i], pcm[2 * i + 1]] = [left[i]!, right[i]!];
    const { pipe, packets } = convert({ sampleRate: 16000, channels: 2 }, [bufferFromInt16(pcm)]);
    expect(pipe.sampleRate).toBe(16000);
    expect(packets).toHaveLength(50);
    const heard = listen(packets);
    expect(dominantFrequency(channel(heard, 2, 0), 48000)).toBeCloseTo(300, 0);
    expect(dominantFrequency(channel(heard, 2, 1), 48000)).toBeCloseTo(1200, 0);
  });

  it.each([22050, 44100, 32000])("resamples %i Hz (not an Opus rate) to 24 kHz first", (rate) => {
    const pcm = sine(rate, rate, 440, 8000); // 1 s
    const { pipe, packets } = convert(
      { sampleRate: rate, channels: 1 },
      splitRandomly(bufferFromInt16(pcm), 7),
    );
    expect(pipe.sampleRate).toBe(VOICE_FALLBACK_RATE);
    expect(packets).toHaveLength(50);
    const heard = channel(listen(packets), 2, 0);
    expect(Math.abs(dominantFrequency(heard, 48000) - 440)).toBeLessThan(1);
    expect(Math.abs(rms(heard, 4800, 43200) / rms(pcm) - 1)).toBeLessThan(0.1);
  });
});
