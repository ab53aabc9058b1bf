import { startFakeMiniMax } from "../test/fakes/index.ts";

/**
 * The fake MiniMax for benchmarks, in its own process so its CPU (audio encoding) never counts as
 * the client's. Every synthesis answer is delayed by a fixed latency; rate limits are out of the way.
 * BENCH_SSE_CHUNKS / BENCH_SSE_DELAY_MS spread a streamed answer over time, like real generation.
 * Prints its URL as one JSON line, then serves until killed.
 */
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 20);
const sse = process.env.BENCH_SSE_CHUNKS
  ? {
      sseChunkCount: Number(process.env.BENCH_SSE_CHUNKS),
      sseChunkDelayMs: Number(process.env.BENCH_SSE_DELAY_MS ?? 5),
    }
  : {};
const fake = await startFakeMiniMax({ apiKey: "bench-key", rpm: 1_000_000, queryQps: 1_000_000, ...sse });
fake.inject({ kind: "latency", ms: latencyMs, route: "/v1/t2a_v2", times: Number.MAX_SAFE_INTEGER });
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
process.on("SIGTERM", () => {
  fake.close().finally(() => process.exit(0));
});
