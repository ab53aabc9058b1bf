import { createCipheriv, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { createPcmToOpus, createPcmToVoice, VOICE_FRAME_BYTES } from "../src/voice/pcm-pipeline.ts";
import { prng } from "../test/audio/signal.ts";
import {
  createFrameEncoder,
  FRAME_MS,
  type FrameEncoder,
  OPUS_LIB_NAMES,
  type OpusLib,
  speechLikePcm24k,
  threadCpuUs,
} from "./opus.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * CPU cost of one voice stream, for two pipelines fed the same MiniMax-like 24 kHz mono PCM in ~4 KB
 * chunks, each ending in AES-256-GCM as @discordjs/voice seals every RTP packet:
 *
 * - old (the baseline: what playback did before): createPcmToVoice resamples to 48 kHz stereo, the
 *   PCM is cut into 3840-byte frames and encoded to Opus at 48 kHz stereo (@discordjs/voice's
 *   `StreamType.Raw` path, 64 kb/s).
 * - new (what playback does now): createPcmToOpus cuts the PCM into 960-byte (480-sample) frames and
 *   encodes them at 24 kHz mono (64 kb/s); @discordjs/voice gets the packets (`StreamType.Opus`).
 *
 * (a) Each stage alone as a real-time factor (seconds of one core per second of audio), against a
 * baseline that only copies the already-converted bytes into frames, and end-to-end totals.
 * (b) K streams paced in real time on one thread (one frame each per 20 ms tick), raising K until
 * the ticks fall behind, for each pipeline. Neither includes @discordjs/voice's stream plumbing (the
 * old path also ran a prism-media Transform per stream, which the new one skips), the UDP sends, the
 * DAVE end-to-end layer, nor the websocket/gateway work: it is a ceiling for the audio work alone.
 */

const SOURCE_RATE = 24_000;
/** Bytes of 24 kHz mono s16le per 20 ms frame. */
const SOURCE_FRAME_BYTES = (SOURCE_RATE * 2 * FRAME_MS) / 1000;

export interface StageResult {
  /** Median over rounds, µs of wall time per 20 ms frame. */
  usPerFrame: number;
  rtf: number;
}

export type PipelineName = "old" | "new";

export interface VoicePipelineResult {
  seconds: number;
  rounds: number;
  chunkBytes: { min: number; max: number };
  copyBaseline: StageResult;
  resample: StageResult;
  opus: Record<OpusLib, StageResult>;
  encrypt: StageResult;
  /** End to end, chunk in → packet out, measured as one pass (not summed from the stages). */
  total: { native: StageResult; nativeEncrypted: StageResult; opusscript: StageResult };
  /** The new pipeline end to end (createPcmToOpus), without and with sealing. */
  direct: { opus: StageResult; encrypted: StageResult };
  /** Thread CPU µs per frame of the encrypted end-to-end passes, all rounds (cross-check). */
  totalCpuUsPerFrame: Record<PipelineName, number>;
  /** Mean Opus packet size, bytes (the same 64 kb/s target for both). */
  packetBytes: Record<PipelineName, number>;
  realtime: Record<PipelineName, RealtimeResult>;
}

export interface RealtimeTrial {
  streams: number;
  ticks: number;
  meanMs: number;
  p95Ms: number;
  /** How late the last tick started against its 20 ms schedule. */
  finalLagMs: number;
  keptUp: boolean;
}

export interface RealtimeResult {
  trialSeconds: number;
  estimate: number;
  trials: RealtimeTrial[];
  best: RealtimeTrial | undefined;
  firstFailure: RealtimeTrial | undefined;
}

/** Irregular chunk sizes around 4 KB (odd ones included), the same for every pass. */
function chunk(pcm: Buffer, seed: number): Buffer[] {
  const rand = prng(seed);
  const out: Buffer[] = [];
  for (let o = 0; o < pcm.length; ) {
    const n = 3000 + Math.floor(rand() * 2193);
    out.push(pcm.subarray(o, o + n));
    o += n;
  }
  return out;
}

/** Cuts a byte stream into 3840-byte frames, handing each to `onFrame` (which must not keep it). */
function createFramer(onFrame: (frame: Buffer) => void): (bytes: Buffer) => void {
  const frame = Buffer.alloc(VOICE_FRAME_BYTES);
  let fill = 0;
  return (bytes) => {
    for (let o = 0; o < bytes.length; ) {
      const n = Math.min(VOICE_FRAME_BYTES - fill, bytes.length - o);
      bytes.copy(frame, fill, o, o + n);
      fill += n;
      o += n;
      if (fill === VOICE_FRAME_BYTES) {
        onFrame(frame);
        fill = 0;
      }
    }
  };
}

/**
 * Seals an Opus packet the way @discordjs/voice does in aead_aes256_gcm_rtpsize mode: a 12-byte RTP
 * header as additional data, a 32-bit incrementing nonce, a new cipher per packet, and the packet
 * assembled from header, ciphertext, tag and nonce.
 */
function createSealer(): (packet: Buffer) => Buffer {
  const key = randomBytes(32);
  const nonceBuffer = Buffer.alloc(12);
  const ssrc = randomBytes(4).readUInt32BE(0);
  let nonce = 0;
  let sequence = 0;
  let timestamp = 0;
  return (packet) => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 0x78;
    header.writeUIntBE(sequence, 2, 2);
    header.writeUIntBE(timestamp, 4, 4);
    header.writeUIntBE(ssrc, 8, 4);
    sequence = (sequence + 1) & 0xffff;
    timestamp = (timestamp + 960) >>> 0;
    nonce = (nonce + 1) >>> 0;
    nonceBuffer.writeUInt32BE(nonce, 0);
    const cipher = createCipheriv("aes-256-gcm", key, nonceBuffer);
    cipher.setAAD(header);
    const sealed = Buffer.concat([cipher.update(packet), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([header, sealed, nonceBuffer.subarray(0, 4)]);
  };
}

interface Pass {
  wallUs: number[];
  cpuUs: number;
}

function timed(pass: Pass, frames: number, fn: () => void): void {
  const cpu0 = threadCpuUs();
  const t0 = performance.now();
  fn();
  pass.wallUs.push(((performance.now() - t0) * 1000) / frames);
  pass.cpuUs += threadCpuUs() - cpu0;
}

function stage(pass: Pass): StageResult {
  const usPerFrame = summarize(pass.wallUs).median;
  return { usPerFrame, rtf: usPerFrame / (FRAME_MS * 1000) };
}

/** What both pipelines ask libopus for: Discord's default voice channel bitrate. */
const BITRATE = 64_000;

function endToEnd(chunks: Buffer[], encoder: FrameEncoder, seal?: (p: Buffer) => Buffer): number {
  const conv = createPcmToVoice({ sampleRate: SOURCE_RATE, channels: 1 });
  let frames = 0;
  const framer = createFramer((frame) => {
    const packet = encoder.encode(frame);
    if (seal) seal(packet);
    frames++;
  });
  for (const c of chunks) framer(conv.push(c));
  framer(conv.flush());
  return frames;
}

/** The new pipeline end to end; returns 20 ms frames made. */
function direct(chunks: Buffer[], seal?: (p: Buffer) => Buffer): number {
  const conv = createPcmToOpus({ sampleRate: SOURCE_RATE, channels: 1 }, { bitrate: BITRATE });
  let frames = 0;
  const send = (packets: Buffer[]) => {
    for (const packet of packets) {
      if (seal) seal(packet);
      frames++;
    }
  };
  for (const c of chunks) send(conv.push(c));
  send(conv.flush());
  return frames;
}

async function stages(seconds: number, rounds: number) {
  const pcm = speechLikePcm24k(seconds, 11);
  const chunks = chunk(pcm, 5);
  const sizes = chunks.slice(0, -1).map((c) => c.length);
  // The converted stream as createPcmToVoice yields it, chunk for chunk, for the stages after it.
  const conv = createPcmToVoice({ sampleRate: SOURCE_RATE, channels: 1 });
  const converted = [...chunks.map((c) => conv.push(c)), conv.flush()];
  const frames = Math.floor(converted.reduce((a, c) => a + c.length, 0) / VOICE_FRAME_BYTES);
  const packets: Buffer[] = [];
  {
    const enc = createFrameEncoder("native", BITRATE);
    const framer = createFramer((f) => {
      packets.push(enc.encode(f));
    });
    for (const c of converted) framer(c);
    enc.close();
  }

  const names = [
    "copy",
    "resample",
    "native",
    "opusscript",
    "encrypt",
    "totalNative",
    "totalNativeEncrypted",
    "totalOpusscript",
    "direct",
    "directEncrypted",
  ] as const;
  type Name = (typeof names)[number];
  const passes = Object.fromEntries(names.map((n) => [n, { wallUs: [], cpuUs: 0 }])) as unknown as Record<
    Name,
    Pass
  >;
  let sink = 0;
  const run: Record<Name, (p: Pass) => void> = {
    copy: (p) =>
      timed(p, frames, () => {
        const framer = createFramer((f) => {
          sink += f[0]!;
        });
        for (const c of converted) framer(c);
      }),
    resample: (p) =>
      timed(p, frames, () => {
        const c2 = createPcmToVoice({ sampleRate: SOURCE_RATE, channels: 1 });
        for (const c of chunks) sink += c2.push(c).length;
        sink += c2.flush().length;
      }),
    native: (p) => encodeConverted(p, "native"),
    opusscript: (p) => encodeConverted(p, "opusscript"),
    encrypt: (p) =>
      timed(p, frames, () => {
        const seal = createSealer();
        for (const packet of packets) sink += seal(packet).length;
      }),
    totalNative: (p) => total(p, "native", false),
    totalNativeEncrypted: (p) => total(p, "native", true),
    totalOpusscript: (p) => total(p, "opusscript", false),
    direct: (p) =>
      timed(p, frames, () => {
        sink += direct(chunks);
      }),
    directEncrypted: (p) => {
      const seal = createSealer();
      timed(p, frames, () => {
        sink += direct(chunks, seal);
      });
    },
  };
  function encodeConverted(p: Pass, lib: OpusLib): void {
    // One encoder alive at a time, created outside the timing, deleted after.
    const enc = createFrameEncoder(lib, BITRATE);
    try {
      timed(p, frames, () => {
        const framer = createFramer((f) => {
          sink += enc.encode(f).length;
        });
        for (const c of converted) framer(c);
      });
    } finally {
      enc.close();
    }
  }
  function total(p: Pass, lib: OpusLib, encrypt: boolean): void {
    const enc = createFrameEncoder(lib, BITRATE);
    const seal = encrypt ? createSealer() : undefined;
    try {
      timed(p, frames, () => {
        sink += endToEnd(chunks, enc, seal);
      });
    } finally {
      enc.close();
    }
  }

  const scratch = (): Pass => ({ wallUs: [], cpuUs: 0 });
  for (const n of names) run[n](scratch()); // warm-up, not recorded
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no pass always runs right after the same one.
    for (let k = 0; k < names.length; k++) {
      const n = names[(k + r) % names.length]!;
      run[n](passes[n]);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (sink === 0) throw new Error("nothing was produced");
  const directPackets = (() => {
    const conv = createPcmToOpus({ sampleRate: SOURCE_RATE, channels: 1 }, { bitrate: BITRATE });
    return [...chunks.flatMap((c) => conv.push(c)), ...conv.flush()];
  })();
  const meanBytes = (list: Buffer[]) => list.reduce((n, p) => n + p.length, 0) / list.length;
  return {
    frames,
    chunkBytes: { min: Math.min(...sizes), max: Math.max(...sizes) },
    copyBaseline: stage(passes.copy),
    resample: stage(passes.resample),
    opus: { native: stage(passes.native), opusscript: stage(passes.opusscript) },
    encrypt: stage(passes.encrypt),
    total: {
      native: stage(passes.totalNative),
      nativeEncrypted: stage(passes.totalNativeEncrypted),
      opusscript: stage(passes.totalOpusscript),
    },
    direct: { opus: stage(passes.direct), encrypted: stage(passes.directEncrypted) },
    totalCpuUsPerFrame: {
      old: passes.totalNativeEncrypted.cpuUs / (frames * rounds),
      new: passes.directEncrypted.cpuUs / (frames * rounds),
    },
    packetBytes: { old: meanBytes(packets), new: meanBytes(directPackets) },
  };
}

interface LiveStream {
  tick(): void;
}

/** One stream of (b): its own position in the shared source, converter, framer, encoder and sealer. */
function createLiveStream(pipeline: PipelineName, source: Buffer, offsetFrames: number): LiveStream {
  const seal = createSealer();
  const sourceFrames = source.length / SOURCE_FRAME_BYTES;
  let pos = offsetFrames % sourceFrames;
  let push: (bytes: Buffer) => void;
  if (pipeline === "old") {
    const conv = createPcmToVoice({ sampleRate: SOURCE_RATE, channels: 1 });
    const enc = createFrameEncoder("native", BITRATE);
    const framer = createFramer((frame) => {
      seal(enc.encode(frame));
    });
    push = (bytes) => framer(conv.push(bytes));
  } else {
    const conv = createPcmToOpus({ sampleRate: SOURCE_RATE, channels: 1 }, { bitrate: BITRATE });
    push = (bytes) => {
      for (const packet of conv.push(bytes)) seal(packet);
    };
  }
  return {
    tick() {
      const o = pos * SOURCE_FRAME_BYTES;
      push(source.subarray(o, o + SOURCE_FRAME_BYTES));
      pos = (pos + 1) % sourceFrames;
    },
  };
}

async function realtimeTrial(
  pipeline: PipelineName,
  source: Buffer,
  streams: number,
  seconds: number,
): Promise<RealtimeTrial> {
  const live = Array.from({ length: streams }, (_, k) => createLiveStream(pipeline, source, k * 37));
  // Warm-up: the native encoders create their libopus state on the first frame.
  for (let w = 0; w < 5; w++) for (const s of live) s.tick();
  const ticks = Math.max(10, Math.round((seconds * 1000) / FRAME_MS));
  const work: number[] = [];
  const t0 = performance.now();
  let lag = 0;
  for (let i = 0; i < ticks; i++) {
    const due = t0 + i * FRAME_MS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const start = performance.now();
    lag = start - due;
    for (const s of live) s.tick();
    work.push(performance.now() - start);
  }
  const w = summarize(work);
  return {
    streams,
    ticks,
    meanMs: w.mean,
    p95Ms: w.p95,
    finalLagMs: lag,
    // Kept up: the average tick fits in its 20 ms and the schedule ended less than two frames late.
    keptUp: w.mean < FRAME_MS && lag < 2 * FRAME_MS,
  };
}

async function realtime(
  pipeline: PipelineName,
  estimate: number,
  trialSeconds: number,
  budgetS: number,
): Promise<RealtimeResult> {
  const source = speechLikePcm24k(10, 13);
  const trials: RealtimeTrial[] = [];
  const started = performance.now();
  const overBudget = () => (performance.now() - started) / 1000 > budgetS;
  const attempt = async (k: number) => {
    const t = await realtimeTrial(pipeline, source, k, trialSeconds);
    trials.push(t);
    return t;
  };
  // Doubling from well below the estimate, then bisection between the last pass and the first failure.
  let k = 2 ** Math.max(0, Math.floor(Math.log2(Math.max(1, estimate / 4))));
  let best: RealtimeTrial | undefined;
  let fail: RealtimeTrial | undefined;
  while (!fail && !overBudget()) {
    const t = await attempt(k);
    if (t.keptUp) {
      best = t;
      k *= 2;
    } else {
      fail = t;
    }
  }
  let lo = best?.streams ?? 0;
  let hi = fail?.streams ?? lo;
  while (hi - lo > Math.max(1, Math.floor(lo / 16)) && !overBudget()) {
    const mid = Math.floor((lo + hi) / 2);
    const t = await attempt(mid);
    if (t.keptUp) {
      lo = mid;
      best = t;
    } else {
      hi = mid;
      fail = t;
    }
  }
  return { trialSeconds, estimate, trials, best, firstFailure: fail };
}

export async function benchVoicePipeline(
  rounds = Number(process.env.BENCH_VOICE_ROUNDS ?? 5),
  seconds = Number(process.env.BENCH_VOICE_SECONDS ?? 10),
  trialSeconds = Number(process.env.BENCH_VOICE_TRIAL_S ?? 1.5),
): Promise<VoicePipelineResult> {
  const s = await stages(seconds, rounds);
  const budgetS = Number(process.env.BENCH_VOICE_BUDGET_S ?? 11);
  // One search per pipeline, each with its own time budget, the baseline first.
  const rtOld = await realtime("old", 1 / s.total.nativeEncrypted.rtf, trialSeconds, budgetS);
  const rtNew = await realtime("new", 1 / s.direct.encrypted.rtf, trialSeconds, budgetS);
  return {
    seconds,
    rounds,
    chunkBytes: s.chunkBytes,
    copyBaseline: s.copyBaseline,
    resample: s.resample,
    opus: s.opus,
    encrypt: s.encrypt,
    total: s.total,
    direct: s.direct,
    totalCpuUsPerFrame: s.totalCpuUsPerFrame,
    packetBytes: s.packetBytes,
    realtime: { old: rtOld, new: rtNew },
  };
}

/** What the speed issue asks of the new pipeline (one core, one thread). */
const TARGETS = { realtimeX: 150, streams: 120 };

export function printVoicePipeline(r: VoicePipelineResult): void {
  const base = r.copyBaseline.usPerFrame;
  const line = (label: string, x: StageResult, note = "") =>
    console.log(
      `  ${label.padEnd(40)}: ${fmt(x.usPerFrame, 1).padStart(6)} µs/frame, RTF ${fmt(x.rtf, 4)}, ` +
        `${fmt(x.usPerFrame / base, 1).padStart(5)}× copy, ${fmt(1 / x.rtf, 0)}× real time${note}`,
    );
  console.log(
    `voice pipeline per stream: 24 kHz mono PCM in ${r.chunkBytes.min}–${r.chunkBytes.max} B chunks → 20 ms Opus at ` +
      `${BITRATE / 1000} kb/s (${r.seconds} s of speech-like audio, median of ${r.rounds} rotated rounds)`,
  );
  console.log("  old (baseline): resample to 48 kHz stereo, @discordjs/voice encodes (StreamType.Raw)");
  line("copy into 3840 B frames (floor)", r.copyBaseline);
  line("resample + stereo (createPcmToVoice)", r.resample);
  for (const lib of ["native", "opusscript"] as const)
    line(`Opus 48 kHz stereo, ${OPUS_LIB_NAMES[lib]}`, r.opus[lib]);
  line("AES-256-GCM sealing (as voice does)", r.encrypt);
  line("total, @discordjs/opus", r.total.native);
  line(
    "total, @discordjs/opus + AES-GCM",
    r.total.nativeEncrypted,
    ` (thread CPU ${fmt(r.totalCpuUsPerFrame.old, 1)} µs/frame)`,
  );
  line("total, opusscript", r.total.opusscript);
  console.log(
    `    split (stages timed alone, as % of the @discordjs/opus end-to-end pass): resample + stereo ` +
      `${fmt((100 * r.resample.usPerFrame) / r.total.native.usPerFrame, 0)} %, Opus ` +
      `${fmt((100 * r.opus.native.usPerFrame) / r.total.native.usPerFrame, 0)} %`,
  );
  console.log("  new: Opus at the provider's 24 kHz mono, packets to @discordjs/voice (StreamType.Opus)");
  line("total, createPcmToOpus (@discordjs/opus)", r.direct.opus);
  line(
    "total, createPcmToOpus + AES-GCM",
    r.direct.encrypted,
    ` (thread CPU ${fmt(r.totalCpuUsPerFrame.new, 1)} µs/frame)`,
  );
  console.log(
    `  packets: old ${fmt(r.packetBytes.old, 1)} B, new ${fmt(r.packetBytes.new, 1)} B on average ` +
      `(${fmt((r.packetBytes.old * 8) / FRAME_MS, 1)} and ${fmt((r.packetBytes.new * 8) / FRAME_MS, 1)} kb/s)`,
  );
  for (const name of ["old", "new"] as const) {
    const rt = r.realtime[name];
    console.log(
      `  real-time streams on one JS thread, ${name} pipeline + AES-GCM (one frame per stream per 20 ms tick, ` +
        `${rt.trialSeconds} s per trial; estimate from the RTF: ${fmt(rt.estimate, 0)})`,
    );
    for (const t of rt.trials) {
      console.log(
        `    K=${String(t.streams).padStart(4)}: tick work mean ${fmt(t.meanMs).padStart(6)} ms, ` +
          `p95 ${fmt(t.p95Ms).padStart(6)} ms, final lag ${fmt(t.finalLagMs, 1).padStart(6)} ms → ` +
          `${t.keptUp ? "kept up" : "fell behind"}`,
      );
    }
    console.log(
      rt.best
        ? `    largest K that kept up: ${rt.best.streams} (mean ${fmt(rt.best.meanMs)} ms, p95 ${fmt(rt.best.p95Ms)} ms of each 20 ms)` +
            (rt.firstFailure
              ? `; fell behind at ${rt.firstFailure.streams}`
              : "; never fell behind within the budget")
        : "    no K kept up",
    );
  }
  const oldT = r.total.nativeEncrypted;
  const newT = r.direct.encrypted;
  const kOld = r.realtime.old.best?.streams ?? 0;
  const kNew = r.realtime.new.best?.streams ?? 0;
  const row = (label: string, x: StageResult, k: number) =>
    console.log(
      `    ${label.padEnd(10)} ${fmt(x.usPerFrame, 1).padStart(6)} µs/frame, RTF ${fmt(x.rtf, 4)}, ` +
        `${fmt(1 / x.rtf, 0).padStart(4)}× real time per stream, ${String(k).padStart(4)} streams per thread`,
    );
  console.log("  summary (end to end with AES-GCM):");
  row("old", oldT, kOld);
  row("new", newT, kNew);
  console.log(
    `    new/old: ${fmt(newT.usPerFrame / oldT.usPerFrame, 2)}× the CPU per frame ` +
      `(${fmt(oldT.usPerFrame / newT.usPerFrame, 2)}× faster), ${kOld > 0 ? fmt(kNew / kOld, 2) : "n/a"}× the streams per thread`,
  );
  const okX = 1 / newT.rtf >= TARGETS.realtimeX;
  const okK = kNew >= TARGETS.streams;
  console.log(
    `    targets: ≥ ${TARGETS.realtimeX}× real time per stream ${okX ? "met" : "NOT met"}, ` +
      `≥ ${TARGETS.streams} streams per thread ${okK ? "met" : "NOT met"}` +
      (r.realtime.new.firstFailure ? "" : " (the search stopped at its time budget, not at a failure)"),
  );
  console.log(
    "  (audio work only, one thread: excludes @discordjs/voice's stream plumbing, UDP sends, DAVE E2EE and gateway work)",
  );
}
