/**
 * Sample-rate and channel conversion for interleaved signed 16-bit PCM.
 *
 * The resampler is a polyphase windowed-sinc filter: output frame n sits at input position
 * n·from/to, and is the sum of the 2·W input frames around it weighted by a Blackman-windowed sinc.
 * Linear interpolation would be cheaper, but it leaves audible images when MiniMax's 8–24 kHz speech
 * is raised to 48 kHz and aliases sibilants when lowering, and the sinc costs only ~32 multiplies per
 * output sample (60 s of 24 kHz mono to 48 kHz in well under a second).
 *
 * - Cutoff: 0.9 × the lower of the two Nyquist frequencies, so one filter both removes upsampling
 *   images and prevents aliasing when downsampling (speech has little above 4–8 kHz anyway).
 * - Width: 16 zero crossings of the sinc on each side (more input taps when downsampling, where the
 *   sinc is stretched), enough for ~ −60 dB stop band with the Blackman window.
 * - Each phase of the filter is normalised to unity DC gain, so the fractional position cannot
 *   modulate the level (which would add a faint tone at the phase rate).
 * - Input before the first and after the last frame counts as silence. The output has
 *   ceil(frames·to/from) frames: exactly frames·to/from whenever that is a whole number.
 */

const ZERO_CROSSINGS = 16;
const PASSBAND = 0.9;
/**
 * Most filter phases tabulated. Rate pairs needing more (odd ones such as 44101 → 48000) round each
 * output position to the nearest 1/4096 of an input frame: a timing error far below audibility.
 */
const MAX_TABLE_PHASES = 4096;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies little-endian 16-bit samples out of `buf`. Always a copy: a Buffer may start at an odd
 * byte offset (pooled or sliced), where an Int16Array view is impossible, and a view would also alias
 * memory the caller may reuse. A trailing odd byte (a truncated sample) is ignored.
 */
export function int16FromBuffer(buf: Uint8Array): Int16Array {
  const out = new Int16Array(buf.length >> 1);
  new Uint8Array(out.buffer).set(buf.subarray(0, out.length * 2));
  if (!LITTLE_ENDIAN) Buffer.from(out.buffer).swap16();
  return out;
}

/** Little-endian bytes of `pcm`, as a new Buffer that does not alias the array. */
export function bufferFromInt16(pcm: Int16Array): Buffer {
  const out = Buffer.from(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  if (!LITTLE_ENDIAN) out.swap16();
  return out;
}

/** Average of the channels of each frame. A trailing partial frame is ignored. */
export function toMono(pcm: Int16Array, channels: number): Int16Array {
  checkChannels(channels);
  if (channels === 1) return pcm.slice();
  const frames = Math.floor(pcm.length / channels);
  const out = new Int16Array(frames);
  for (let f = 0, i = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[i++]!;
    out[f] = Math.round(sum / channels);
  }
  return out;
}

/**
 * Two channels, as Discord voice playback wants them. Mono is duplicated; with more than two channels
 * nothing says which are left and right, so they are mixed to mono first.
 */
export function toStereo(pcm: Int16Array, channels: number): Int16Array {
  checkChannels(channels);
  if (channels === 2) return pcm.slice(0, pcm.length - (pcm.length % 2));
  const mono = channels === 1 ? pcm : toMono(pcm, channels);
  const out = new Int16Array(mono.length * 2);
  for (let f = 0; f < mono.length; f++) {
    out[2 * f] = mono[f]!;
    out[2 * f + 1] = mono[f]!;
  }
  return out;
}

/**
 * Resamples interleaved PCM from `fromRate` to `toRate` (see the file comment for the filter).
 * A trailing partial frame is ignored.
 */
export function resamplePcm16(
  pcm: Int16Array,
  fromRate: number,
  toRate: number,
  channels: number,
): Int16Array {
  const core = createCore(fromRate, toRate, channels);
  const frames = Math.floor(pcm.length / channels);
  const head = core.push(pcm.subarray(0, frames * channels));
  const tail = core.flush();
  return concatInt16(head, tail);
}

export interface StreamingResamplerOptions {
  fromRate: number;
  toRate: number;
  channels: number;
}

export interface StreamingResampler {
  /** Little-endian PCM bytes in (split anywhere, odd offsets included), resampled bytes out. */
  push(chunk: Uint8Array): Buffer;
  /** The frames held back for the filter's look-ahead; the resampler cannot be used afterwards. */
  flush(): Buffer;
}

/**
 * Streaming form of {@link resamplePcm16}: concatenating every `push` result and the `flush` result
 * gives byte for byte what the one-shot function gives for the concatenated input. Output lags input
 * by the filter half-width (16 input frames when upsampling), so a live stream is delayed < 1 ms.
 */
export function createStreamingResampler(options: StreamingResamplerOptions): StreamingResampler {
  const { fromRate, toRate, channels } = options;
  const core = createCore(fromRate, toRate, channels);
  const frameBytes = channels * 2;
  // Bytes of an incomplete frame carried over to the next chunk.
  let pending: Buffer = Buffer.alloc(0);
  let done = false;
  return {
    push(chunk) {
      if (done) throw new Error("push after flush");
      const bytes = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      const whole = bytes.length - (bytes.length % frameBytes);
      // Copied: `chunk` may be a pooled buffer the caller reuses.
      pending = Buffer.from(bytes.subarray(whole));
      return bufferFromInt16(core.push(int16FromBuffer(bytes.subarray(0, whole))));
    },
    flush() {
      if (done) throw new Error("flush called twice");
      done = true;
      pending = Buffer.alloc(0);
      return bufferFromInt16(core.flush());
    },
  };
}

interface Core {
  push(frames: Int16Array): Int16Array;
  flush(): Int16Array;
}

function checkChannels(channels: number): void {
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`invalid channel count ${channels}`);
}

function checkRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < 1) throw new RangeError(`invalid sample rate ${rate}`);
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function concatInt16(a: Int16Array, b: Int16Array): Int16Array {
  if (b.length === 0) return a;
  const out = new Int16Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function blackman(t: number): number {
  // Centred form on [-1, 1]: 1 at t = 0, 0 at |t| = 1.
  return 0.42 + 0.5 * Math.cos(Math.PI * t) + 0.08 * Math.cos(2 * Math.PI * t);
}

/**
 * Writes into `out` the 2W taps for an output `frac` (0–1) of a frame after input frame i; tap k
 * weighs input frame i − W + 1 + k.
 */
function fillTaps(out: Float32Array, frac: number, W: number, cutoff: number): void {
  let sum = 0;
  for (let k = 0; k < out.length; k++) {
    const x = W - 1 - k + frac; // distance from the output position to the tap's input frame
    const t = x / W;
    const arg = Math.PI * cutoff * x;
    const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
    out[k] = Math.abs(t) >= 1 ? 0 : sinc * blackman(t);
    sum += out[k]!;
  }
  for (let k = 0; k < out.length; k++) out[k] = out[k]! / sum;
}

function createCore(fromRate: number, toRate: number, channels: number): Core {
  checkRate(fromRate);
  checkRate(toRate);
  checkChannels(channels);
  if (fromRate === toRate) return { push: (frames) => frames.slice(), flush: () => new Int16Array(0) };

  const g = gcd(fromRate, toRate);
  const L = toRate / g; // output frames per M input frames
  const M = fromRate / g;
  const ratio = Math.min(1, L / M);
  const cutoff = PASSBAND * ratio;
  const W = Math.ceil(ZERO_CROSSINGS / ratio);
  const taps = 2 * W;

  // Taps of table phase p at [p·taps, (p + 1)·taps); phase P (a whole frame on) keeps rounding simple.
  const P = Math.min(L, MAX_TABLE_PHASES);
  const table = new Float32Array((P + 1) * taps);
  for (let p = 0; p <= P; p++) fillTaps(table.subarray(p * taps, (p + 1) * taps), p / P, W, cutoff);
  const tapsOffset = (phase: number): number => (P === L ? phase : Math.round((phase * P) / L)) * taps;

  // Input frames [histStart, histStart + histLen) are kept, interleaved, for taps still to come.
  let hist = new Int16Array(0);
  let histStart = 0;
  let histLen = 0;
  let received = 0;
  // Next output frame n sits at input position ipos + phase/L, with n·M = ipos·L + phase.
  let n = 0;
  let ipos = 0;
  let phase = 0;

  const append = (frames: Int16Array): void => {
    const count = frames.length / channels;
    if ((histLen + count) * channels > hist.length) {
      const grown = new Int16Array(Math.max((histLen + count) * channels, hist.length * 2));
      grown.set(hist.subarray(0, histLen * channels));
      hist = grown;
    }
    hist.set(frames, histLen * channels);
    histLen += count;
    received += count;
  };

  const render = (count: number): Int16Array => {
    const out = new Int16Array(count * channels);
    const input = hist; // a local the JIT can keep in a register through the loops
    let o = 0;
    for (let j = 0; j < count; j++) {
      const h0 = tapsOffset(phase);
      const first = ipos - W + 1;
      // Taps outside [0, received) fall on silence; skipping them is exact.
      const kStart = Math.max(0, -first);
      const kEnd = Math.min(taps, received - first);
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        let idx = (first + kStart - histStart) * channels + c;
        const kLast = h0 + kEnd;
        for (let k = h0 + kStart; k < kLast; k++, idx += channels) acc += input[idx]! * table[k]!;
        const s = Math.round(acc);
        out[o++] = s > 32767 ? 32767 : s < -32768 ? -32768 : s;
      }
      n++;
      phase += M;
      if (phase >= L) {
        ipos += Math.floor(phase / L);
        phase %= L;
      }
    }
    return out;
  };

  const discardUsed = (): void => {
    const keepFrom = Math.max(histStart, ipos - W + 1);
    const drop = Math.min(histLen, keepFrom - histStart);
    if (drop <= 0) return;
    hist.copyWithin(0, drop * channels, histLen * channels);
    histStart += drop;
    histLen -= drop;
  };

  const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b);
  let flushed = false;

  return {
    push(frames) {
      if (flushed) throw new Error("push after flush");
      append(frames);
      // Output n is final once its last tap, input frame ipos + W, has arrived: n·M < (received − W)·L.
      const ready = received > W ? ceilDiv((received - W) * L, M) : 0;
      const out = render(Math.max(0, ready - n));
      discardUsed();
      return out;
    },
    flush() {
      if (flushed) throw new Error("flush called twice");
      flushed = true;
      // Every output whose position falls inside the input: n·M < received·L.
      return render(Math.max(0, ceilDiv(received * L, M) - n));
    },
  };
}
