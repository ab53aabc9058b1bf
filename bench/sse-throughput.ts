import { randomBytes } from "node:crypto";
import { readAudioStream } from "../src/providers/minimax/sse.ts";
import { fmt } from "./stats.ts";

/**
 * SSE parse throughput: a synthetic t2a_v2 stream (incremental hex chunks plus the final event that
 * repeats the whole clip) fed to our parser in irregular TCP-sized pieces, against a naive baseline
 * (concatenate, split on blank lines, JSON.parse, hex-decode) in the same run.
 */

export interface SseResult {
  streamBytes: number;
  ours: { mbPerS: number };
  naive: { mbPerS: number };
}

function buildStream(events: number, chunkBytes: number): Buffer {
  const trace = "0123456789abcdef0123456789abcdef";
  const parts: string[] = [];
  const all: Buffer[] = [];
  for (let i = 0; i < events; i++) {
    const audio = randomBytes(chunkBytes);
    all.push(audio);
    parts.push(
      `data: ${JSON.stringify({ data: { audio: audio.toString("hex"), status: 1 }, trace_id: trace, base_resp: { status_code: 0, status_msg: "" } })}\n\n`,
    );
  }
  parts.push(
    `data: ${JSON.stringify({
      data: { audio: Buffer.concat(all).toString("hex"), status: 2 },
      extra_info: { audio_length: 1000, usage_characters: 10 },
      trace_id: trace,
      base_resp: { status_code: 0, status_msg: "success" },
    })}\n\n`,
  );
  return Buffer.from(parts.join(""), "utf8");
}

/** Irregular piece sizes like a real socket gives, fixed per run so both parsers see the same ones. */
function pieces(buf: Buffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 42;
  for (let o = 0; o < buf.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (seed % 65536);
    out.push(buf.subarray(o, o + n));
    o += n;
  }
  return out;
}

async function* iterate(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function runOurs(chunks: Uint8Array[]): Promise<number> {
  let bytes = 0;
  const gen = readAudioStream(iterate(chunks));
  for (;;) {
    const n = await gen.next();
    if (n.done) break;
    bytes += n.value.length;
  }
  return bytes;
}

async function runNaive(chunks: Uint8Array[]): Promise<number> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const c of iterate(chunks)) text += decoder.decode(c, { stream: true });
  let bytes = 0;
  for (const block of text.split("\n\n")) {
    if (!block.startsWith("data:")) continue;
    const ev = JSON.parse(block.slice(5)) as { data: { audio: string; status: number } };
    if (ev.data.status === 2) continue;
    bytes += Buffer.from(ev.data.audio, "hex").length;
  }
  return bytes;
}

export async function benchSse(rounds = 5): Promise<SseResult> {
  const stream = buildStream(64, 32 * 1024);
  const chunks = pieces(stream);
  const expected = 64 * 32 * 1024;
  const time = async (fn: (c: Uint8Array[]) => Promise<number>) => {
    const samples: number[] = [];
    for (let i = 0; i < rounds + 1; i++) {
      const t0 = performance.now();
      const bytes = await fn(chunks);
      const ms = performance.now() - t0;
      if (bytes !== expected) throw new Error(`parser yielded ${bytes} bytes, expected ${expected}`);
      if (i > 0) samples.push(ms); // the first round warms the JIT
    }
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)]!;
    return stream.length / (1024 * 1024) / (median / 1000);
  };
  const naive: number[] = [];
  const ours: number[] = [];
  // Alternate so both see the same machine conditions.
  for (let i = 0; i < 3; i++) {
    ours.push(await time(runOurs));
    naive.push(await time(runNaive));
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[1]!;
  return { streamBytes: stream.length, ours: { mbPerS: med(ours) }, naive: { mbPerS: med(naive) } };
}

export function printSse(r: SseResult): void {
  console.log(
    `SSE parsing (${fmt(r.streamBytes / (1024 * 1024), 1)} MiB stream incl. the aggregated final event, irregular pieces)`,
  );
  console.log(`  naive split+JSON.parse : ${fmt(r.naive.mbPerS, 1)} MiB/s`);
  console.log(
    `  readAudioStream        : ${fmt(r.ours.mbPerS, 1)} MiB/s (${fmt(r.ours.mbPerS / r.naive.mbPerS, 3)}× the naive baseline)`,
  );
}
