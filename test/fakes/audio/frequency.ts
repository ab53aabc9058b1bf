/**
 * The pitch of a clip, to tell which fake-TTS tone (220–685 Hz in 15 Hz steps) a listener heard:
 * channels are averaged, a Hann window applied, the signal zero-padded to at least 4× its length (and
 * 2^16 points), and the strongest FFT bin in `range` refined by a parabola through the log magnitudes
 * of it and its neighbours. Good to well under ±3 Hz for a clean sine of 200 ms or more.
 */

const MIN_FFT_SIZE = 1 << 16;

/** Frequency in Hz of the strongest component within `range`; NaN for silence. */
export function dominantFrequency(
  pcm: Int16Array,
  sampleRate: number,
  channels: number,
  range: readonly [number, number] = [80, 2000],
): number {
  const frames = Math.floor(pcm.length / channels);
  if (frames < 2) return Number.NaN;
  let size = MIN_FFT_SIZE;
  while (size < frames * 4) size *= 2;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  let mean = 0;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[i * channels + c]!;
    re[i] = sum / channels;
    mean += re[i]! / frames;
  }
  for (let i = 0; i < frames; i++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (frames - 1));
    re[i] = (re[i]! - mean) * hann;
  }
  fftInPlace(re, im);
  const binHz = sampleRate / size;
  const lo = Math.max(1, Math.ceil(range[0] / binHz));
  const hi = Math.min(size / 2 - 1, Math.floor(range[1] / binHz));
  let best = -1;
  let bestPower = 0;
  for (let k = lo; k <= hi; k++) {
    const power = re[k]! * re[k]! + im[k]! * im[k]!;
    if (power > bestPower) {
      bestPower = power;
      best = k;
    }
  }
  if (best < 0) return Number.NaN;
  const logPower = (k: number) => Math.log(re[k]! * re[k]! + im[k]! * im[k]! + 1e-300);
  const left = logPower(best - 1);
  const mid = logPower(best);
  const right = logPower(best + 1);
  const denominator = left - 2 * mid + right;
  const offset = denominator === 0 ? 0 : (0.5 * (left - right)) / denominator;
  return (best + offset) * binHz;
}

/** Iterative radix-2 FFT; `re.length` must be a power of two. */
function fftInPlace(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j]!, re[i]!];
      [im[i], im[j]] = [im[j]!, im[i]!];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    const wRe = Math.cos(angle);
    const wIm = Math.sin(angle);
    const half = len >> 1;
    for (let start = 0; start < n; start += len) {
      let curRe = 1;
      let curIm = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const tRe = re[b]! * curRe - im[b]! * curIm;
        const tIm = re[b]! * curIm + im[b]! * curRe;
        re[b] = re[a]! - tRe;
        im[b] = im[a]! - tIm;
        re[a] = re[a]! + tRe;
        im[a] = im[a]! + tIm;
        const nextRe = curRe * wRe - curIm * wIm;
        curIm = curRe * wIm + curIm * wRe;
        curRe = nextRe;
      }
    }
  }
}
