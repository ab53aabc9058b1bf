/** Signal helpers for the audio tests: synthetic input and a frequency estimate of the output. */

export function sine(
  frames: number,
  sampleRate: number,
  frequency: number,
  amplitude = 10_000,
  channels = 1,
): Int16Array {
  const out = new Int16Array(frames * channels);
  for (let i = 0; i < frames; i++) {
    const s = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
    for (let c = 0; c < channels; c++) out[i * channels + c] = s;
  }
  return out;
}

/** One channel of interleaved samples, as floats. */
export function channel(pcm: ArrayLike<number>, channels: number, index: number): Float64Array {
  const frames = Math.floor(pcm.length / channels);
  const out = new Float64Array(frames);
  for (let i = 0; i < frames; i++) out[i] = pcm[i * channels + index]!;
  return out;
}

export function rms(samples: ArrayLike<number>, start = 0, end = samples.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += samples[i]! ** 2;
  return Math.sqrt(sum / Math.max(1, end - start));
}

/** A Hann-windowed copy: the window keeps the leakage of a tone local, so weak tones can be measured. */
export function hann(samples: ArrayLike<number>): Float64Array {
  const n = samples.length;
  return Float64Array.from(
    { length: n },
    (_, i) => samples[i]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1))),
  );
}

/** Goertzel power of one frequency over a block (window it first). */
export function power(block: ArrayLike<number>, sampleRate: number, frequency: number): number {
  const n = block.length;
  const coeff = 2 * Math.cos((2 * Math.PI * frequency) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = block[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
}

/**
 * The strongest frequency in the middle 8192 samples: a scan one DFT bin apart, then a 0.1 Hz
 * refinement around the best bin.
 */
export function dominantFrequency(samples: ArrayLike<number>, sampleRate: number, minHz = 40): number {
  const size = Math.min(8192, samples.length);
  const start = Math.floor((samples.length - size) / 2);
  const block = hann(Array.from({ length: size }, (_, i) => samples[start + i]!));
  const bin = sampleRate / size;
  let best = minHz;
  let bestPower = -1;
  for (let f = minHz; f < sampleRate / 2; f += bin) {
    const p = power(block, sampleRate, f);
    if (p > bestPower) [best, bestPower] = [f, p];
  }
  const coarse = best;
  for (let f = coarse - bin; f <= coarse + bin; f += 0.1) {
    const p = power(block, sampleRate, f);
    if (p > bestPower) [best, bestPower] = [f, p];
  }
  return best;
}

/** Deterministic PRNG (mulberry32) so random splits and noise are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Speech-like test signal: a gliding 100–160 Hz voice with 20 harmonics, syllables at ~3 per second,
 * and a little breath noise. Harder for Opus than a sine, so its bitrate is representative.
 */
export function speechLike(frames: number, sampleRate: number, seed = 1): Int16Array {
  const random = prng(seed);
  const out = new Int16Array(frames);
  let phase = 0;
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    phase += (2 * Math.PI * (130 + 30 * Math.sin(2 * Math.PI * 0.7 * t))) / sampleRate;
    let voiced = 0;
    for (let h = 1; h <= 20; h++) voiced += Math.sin(h * phase) / h;
    const syllable = Math.max(0, Math.sin(2 * Math.PI * 3 * t)) ** 2;
    out[i] = Math.round(6000 * syllable * voiced + 600 * (random() - 0.5));
  }
  return out;
}
