import { startFakeMiniMax } from "../test/fakes/index.ts";

/**
 * The fake MiniMax for benchmarks, in its own process so its CPU (audio encoding) never counts as
 * the client's. Every synthesis answer is delayed by a fixed latency; rate limits are out of the way.
 * Prints its URL as one JSON line, then serves until killed.
 */
const latencyMs = Number(process.env.BENCH_LATENCY_MS ?? 20);
const fake = await startFakeMiniMax({ apiKey: "bench-key", rpm: 1_000_000, queryQps: 1_000_000 });
fake.inject({ kind: "latency", ms: latencyMs, route: "/v1/t2a_v2", times: Number.MAX_SAFE_INTEGER });
process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);
process.on("SIGTERM", () => {
  fake.close().finally(() => process.exit(0));
});
