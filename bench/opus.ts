import { createRequire } from "node:module";
import OpusScript from "opusscript";
import { createPcmToVoice, VOICE_FRAME_BYTES } from "../src/voice/pcm-pipeline.ts";
import { prng } from "../test/audio/signal.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * Opus encoding of 20 ms 48 kHz stereo frames (what @discordjs/voice sends) with the native
 * @discordjs/opus against the wasm opusscript, both fed the same speech-like clip and interleaved
 * round by round so machine noise hits both alike.
 *
 * The encoders are built the way prism-media 1.3 builds them for @discordjs/voice: 48000 Hz, 2 channels,
 * application AUDIO, and no bitrate CTL at all, so libopus picks its automatic bitrate (99 kb/s for
 * 48 kHz stereo 20 ms frames). 64 kb/s (Discord's default channel bitrate) is measured as well.
 */

const require = createRequire(import.meta.url);
// CommonJS whose exports the ESM loader cannot see statically (it re-exports a prebuilt .node file).
const { OpusEncoder } = require("@discordjs/opus") as typeof import("@discordjs/opus");

export const FRAME_MS = 20;
export const FRAME_SAMPLES = 960;
const SOURCE_RATE = 24_000;

export type OpusLib = "native" | "opusscript";
export const OPUS_LIBS: readonly OpusLib[] = ["native", "opusscript"];
export const OPUS_LIB_NAMES: Record<OpusLib, string> = {
  native: "@discordjs/opus",
  opusscript: "opusscript",
};

export interface FrameEncoder {
  /** One 3840-byte frame of 48 kHz stereo s16le in, one Opus packet out (a copy). */
  encode(frame: Buffer): Buffer;
  /** Frees opusscript's wasm memory; the native encoder is garbage collected. */
  close(): void;
}

/** An encoder as prism-media makes it; `bitrate` undefined leaves libopus's automatic choice. */
export function createFrameEncoder(lib: OpusLib, bitrate?: number): FrameEncoder {
  if (lib === "native") {
    const enc = new OpusEncoder(48_000, 2);
    if (bitrate !== undefined) enc.setBitrate(bitrate);
    return { encode: (frame) => enc.encode(frame), close: () => {} };
  }
  const enc = new OpusScript(48_000, 2, OpusScript.Application.AUDIO);
  try {
    if (bitrate !== undefined) enc.setBitrate(bitrate);
  } catch (error) {
    enc.delete();
    throw error;
  }
  return { encode: (frame) => enc.encode(frame, FRAME_SAMPLES), close: () => enc.delete() };
}

/**
 * A speech-like 24 kHz mono s16le clip (what MiniMax streams): syllables of 120–280 ms, each a
 * harmonic series on a gliding 100–220 Hz pitch shaped by two vowel formants under a smooth envelope,
 * a third of them starting with a burst of hissy noise; short gaps between syllables and longer ones
 * between phrases, over a faint noise floor so no frame is digital silence. The length is a whole
 * number of 20 ms frames.
 */
export function speechLikePcm24k(seconds: number, seed = 1): Buffer {
  const rand = prng(seed);
  const frameSamples = (SOURCE_RATE * FRAME_MS) / 1000;
  const total = Math.ceil((seconds * SOURCE_RATE) / frameSamples) * frameSamples;
  const out = new Int16Array(total);
  let i = 0;
  let phase = 0; // of the fundamental, in radians
  let lastNoise = 0;
  const noise = (): number => rand() * 2 - 1;
  let syllable = 0;
  let phraseF0 = 0;
  while (i < total) {
    // Five syllables to a phrase, each phrase on its own pitch.
    if (syllable % 5 === 0) phraseF0 = 100 + rand() * 100;
    const f0Base = phraseF0 * (0.9 + rand() * 0.2);
    const voiced = Math.round((0.12 + rand() * 0.16) * SOURCE_RATE);
    const hiss = rand() < 0.33 ? Math.round((0.04 + rand() * 0.04) * SOURCE_RATE) : 0;
    const f1 = 300 + rand() * 500;
    const f2 = 900 + rand() * 1300;
    const peak = 5000 + rand() * 7000;
    const harmonics = Math.floor(4000 / f0Base);
    const weights = new Float64Array(harmonics + 1);
    for (let h = 1; h <= harmonics; h++) {
      const f = h * f0Base;
      weights[h] =
        (Math.exp(-(((f - f1) / 150) ** 2)) + 0.6 * Math.exp(-(((f - f2) / 200) ** 2)) + 0.05) / Math.sqrt(h);
    }
    let norm = 0;
    for (let h = 1; h <= harmonics; h++) norm += weights[h]!;
    // Fricative: first-differenced (so high-pass) noise with a quick fade in and out.
    for (let n = 0; n < hiss && i < total; n++, i++) {
      const env = Math.sin((Math.PI * n) / hiss);
      const w = noise();
      out[i] = Math.round(0.15 * peak * env * (w - lastNoise));
      lastNoise = w;
    }
    // Vowel: pitch glides by ±15 % with a little jitter.
    const glide = rand() * 2 * Math.PI;
    for (let n = 0; n < voiced && i < total; n++, i++) {
      const t = n / SOURCE_RATE;
      const f0 = f0Base * (1 + 0.15 * Math.sin(glide + 2 * Math.PI * 1.3 * t)) + noise() * 0.5;
      phase += (2 * Math.PI * f0) / SOURCE_RATE;
      if (phase > 2 * Math.PI) phase -= 2 * Math.PI;
      let s = 0;
      for (let h = 1; h <= harmonics; h++) s += weights[h]! * Math.sin(h * phase);
      const env = Math.sin((Math.PI * n) / voiced) ** 0.7;
      out[i] = Math.round((peak * env * s) / norm + noise() * 40);
    }
    // Gap: longer between phrases; the noise floor (about −60 dBFS) goes on.
    const gap = Math.round((syllable % 5 === 4 ? 0.25 + rand() * 0.15 : 0.03 + rand() * 0.09) * SOURCE_RATE);
    for (let n = 0; n < gap && i < total; n++, i++) out[i] = Math.round(noise() * 30);
    syllable++;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** The clip as the bot would play it: through createPcmToVoice, cut to whole 3840-byte frames. */
export function voiceFrames(pcm24k: Buffer): Buffer[] {
  const conv = createPcmToVoice({ sampleRate: SOURCE_RATE, channels: 1 });
  const all = Buffer.concat([conv.push(pcm24k), conv.flush()]);
  const frames: Buffer[] = [];
  for (let o = 0; o + VOICE_FRAME_BYTES <= all.length; o += VOICE_FRAME_BYTES) {
    frames.push(all.subarray(o, o + VOICE_FRAME_BYTES));
  }
  return frames;
}

/** Thread CPU time in µs (4 ms granularity on many kernels: only meaningful summed over rounds). */
export function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

export interface OpusLibResult {
  /** Median over rounds of the wall time per frame, µs. */
  usPerFrame: number;
  /** Thread CPU time per frame over all rounds, µs (a cross-check of the wall figure). */
  cpuUsPerFrame: number;
  /** CPU seconds per second of audio (from the median wall time of a single-threaded loop). */
  rtf: number;
  /** 1 / rtf: streams one core could encode in real time, Opus alone. */
  streamsPerCore: number;
  bytesPerPacket: number;
  /** Median of `new` + the first frame (the native encoder creates its libopus state lazily). */
  createUs: number;
}

export interface OpusBitrateResult {
  label: string;
  bitrate: number | undefined;
  native: OpusLibResult;
  opusscript: OpusLibResult;
}

export interface OpusResult {
  frames: number;
  rounds: number;
  results: OpusBitrateResult[];
  /** Live opusscript encoders at which an older one broke (its wasm heap grew); null: never, up to the cap. */
  opusscriptBrokeAt: number | null;
  opusscriptProbeCap: number;
}

interface Samples {
  wallUs: number[];
  cpuUs: number;
  frames: number;
  bytes: number;
  createUs: number[];
}

function encodeRound(lib: OpusLib, bitrate: number | undefined, frames: Buffer[], s: Samples): void {
  // Creation: one encoder alive at a time (opusscript's heap must not grow under live encoders).
  for (let c = 0; c < 5; c++) {
    const t0 = performance.now();
    const e = createFrameEncoder(lib, bitrate);
    e.encode(frames[c]!);
    s.createUs.push((performance.now() - t0) * 1000);
    e.close();
  }
  const enc = createFrameEncoder(lib, bitrate);
  try {
    const warm = Math.min(50, frames.length);
    for (let f = 0; f < warm; f++) enc.encode(frames[f]!);
    let bytes = 0;
    const cpu0 = threadCpuUs();
    const t0 = performance.now();
    for (const frame of frames) bytes += enc.encode(frame).length;
    const wall = (performance.now() - t0) * 1000;
    s.cpuUs += threadCpuUs() - cpu0;
    s.wallUs.push(wall / frames.length);
    s.frames += frames.length;
    s.bytes += bytes;
  } finally {
    enc.close();
  }
}

function toLibResult(s: Samples): OpusLibResult {
  const usPerFrame = summarize(s.wallUs).median;
  const rtf = usPerFrame / (FRAME_MS * 1000);
  return {
    usPerFrame,
    cpuUsPerFrame: s.cpuUs / s.frames,
    rtf,
    streamsPerCore: 1 / rtf,
    bytesPerPacket: s.bytes / s.frames,
    createUs: summarize(s.createUs).median,
  };
}

/** Creates opusscript encoders until encoding with the first one fails (or `cap` are alive). */
function probeOpusscriptHeap(frame: Buffer, cap: number): number | null {
  const live: OpusScript[] = [];
  try {
    const first = new OpusScript(48_000, 2, OpusScript.Application.AUDIO);
    live.push(first);
    first.encode(frame, FRAME_SAMPLES);
    for (let n = 2; n <= cap; n++) {
      live.push(new OpusScript(48_000, 2, OpusScript.Application.AUDIO));
      try {
        first.encode(frame, FRAME_SAMPLES);
      } catch {
        return n;
      }
    }
    return null;
  } finally {
    for (const e of live) e.delete();
  }
}

export async function benchOpus(
  rounds = Number(process.env.BENCH_OPUS_ROUNDS ?? 9),
  seconds = Number(process.env.BENCH_OPUS_SECONDS ?? 10),
): Promise<OpusResult> {
  const frames = voiceFrames(speechLikePcm24k(seconds, 7));
  const variants: { label: string; bitrate: number | undefined }[] = [
    { label: "libopus auto (as @discordjs/voice)", bitrate: undefined },
    { label: "64 kb/s", bitrate: 64_000 },
  ];
  const empty = (): Samples => ({ wallUs: [], cpuUs: 0, frames: 0, bytes: 0, createUs: [] });
  const samples = variants.map(() => ({ native: empty(), opusscript: empty() }));
  // Warm-up round (JIT, wasm tier-up, page faults), not recorded.
  for (const v of variants) for (const lib of OPUS_LIBS) encodeRound(lib, v.bitrate, frames, empty());
  for (let r = 0; r < rounds; r++) {
    // Alternate which library goes first.
    const order = r % 2 === 0 ? OPUS_LIBS : [...OPUS_LIBS].reverse();
    for (const [vi, v] of variants.entries()) {
      for (const lib of order) encodeRound(lib, v.bitrate, frames, samples[vi]![lib]);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const cap = 2000;
  return {
    frames: frames.length,
    rounds,
    results: variants.map((v, vi) => ({
      label: v.label,
      bitrate: v.bitrate,
      native: toLibResult(samples[vi]!.native),
      opusscript: toLibResult(samples[vi]!.opusscript),
    })),
    opusscriptBrokeAt: probeOpusscriptHeap(frames[0]!, cap),
    opusscriptProbeCap: cap,
  };
}

export function printOpus(r: OpusResult): void {
  console.log(
    `Opus encoding, 48 kHz stereo 20 ms frames, application AUDIO (${r.frames} frames of speech-like audio, ` +
      `median of ${r.rounds} interleaved rounds)`,
  );
  for (const b of r.results) {
    const kbps = (x: OpusLibResult) => (x.bytesPerPacket * 8) / FRAME_MS;
    console.log(`  bitrate ${b.label}`);
    for (const lib of OPUS_LIBS) {
      const x = b[lib];
      console.log(
        `    ${OPUS_LIB_NAMES[lib].padEnd(16)}: ${fmt(x.usPerFrame, 1).padStart(6)} µs/frame ` +
          `(thread CPU ${fmt(x.cpuUsPerFrame, 1)}), RTF ${fmt(x.rtf, 4)}, ` +
          `${fmt(x.streamsPerCore, 0)} streams/core, ${fmt(kbps(x), 1)} kb/s out, ` +
          `create+first frame ${fmt(x.createUs, 0)} µs`,
      );
    }
    console.log(
      `    opusscript/native: ${fmt(b.opusscript.usPerFrame / b.native.usPerFrame, 2)}× per frame, ` +
        `${fmt(b.opusscript.createUs / b.native.createUs, 2)}× creation`,
    );
  }
  console.log(
    r.opusscriptBrokeAt === null
      ? `  opusscript heap probe: ${r.opusscriptProbeCap} live encoders, the first still works`
      : `  opusscript heap probe: creating live encoder #${r.opusscriptBrokeAt} grew the wasm heap and broke the first`,
  );
}
