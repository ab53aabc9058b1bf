/**
 * The amplitude preview Discord draws on a voice message bubble: up to 256 bytes, one 0–255 bar each.
 *
 * Each bar is the RMS of its bucket rather than the peak: speech is full of short consonant spikes,
 * and peaks make every bar of a sentence look the same height, while RMS follows perceived loudness.
 * Bars are scaled linearly so the loudest one is 255; pure silence is all zeros. A clip shorter than
 * `points` samples gets one bar per sample.
 */

export function waveform(pcm: Int16Array, channels: number, points = 256): Uint8Array {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`invalid channel count ${channels}`);
  if (!Number.isInteger(points) || points < 1) throw new RangeError(`invalid point count ${points}`);
  const frames = Math.floor(pcm.length / channels);
  const count = Math.min(points, frames);
  const rms = new Float64Array(count);
  let loudest = 0;
  for (let b = 0; b < count; b++) {
    // Bucket edges by integer division so the buckets tile the clip and differ by at most one frame.
    const start = Math.floor((b * frames) / count) * channels;
    const end = Math.floor(((b + 1) * frames) / count) * channels;
    let sum = 0;
    for (let i = start; i < end; i++) sum += pcm[i]! * pcm[i]!;
    rms[b] = Math.sqrt(sum / (end - start));
    if (rms[b]! > loudest) loudest = rms[b]!;
  }
  const out = new Uint8Array(count);
  if (loudest === 0) return out;
  for (let b = 0; b < count; b++) out[b] = Math.round((rms[b]! / loudest) * 255);
  return out;
}

/** The `waveform` field of a voice message attachment. */
export function waveformBase64(pcm: Int16Array, channels: number, points = 256): string {
  return Buffer.from(waveform(pcm, channels, points)).toString("base64");
}
