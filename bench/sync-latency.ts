import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { Agent, request } from "undici";
import { createMiniMaxProvider, MiniMaxClient, toSyncBody } from "../src/providers/minimax/index.ts";
import type { SpeechRequest } from "../src/speech/types.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * Sync synthesis against the fake with a fixed latency: our client (limiter, retry wrapper, zod
 * parsing, hex decoding) against a bare undici request that only sends the same body and parses the
 * JSON, interleaved in one run so machine noise hits both alike.
 */

export interface SyncLatencyResult {
  requests: number;
  latencyMs: number;
  bare: { median: number; p95: number; cpuUs: number };
  client: { median: number; p95: number; cpuUs: number };
}

/** The fake MiniMax in a child process, so its audio encoding never counts as our CPU or latency. */
export async function startFakeMiniMaxProcess(latencyMs: number, sse?: { chunks: number; delayMs: number }) {
  const child = spawn(process.execPath, ["bench/fake-server.ts"], {
    env: {
      ...process.env,
      BENCH_LATENCY_MS: String(latencyMs),
      ...(sse ? { BENCH_SSE_CHUNKS: String(sse.chunks), BENCH_SSE_DELAY_MS: String(sse.delayMs) } : {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, "line")) as [string];
  const { url } = JSON.parse(line) as { url: string };
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await once(child, "exit");
    },
  };
}

export async function benchSyncLatency(requests = 150, latencyMs = 20): Promise<SyncLatencyResult> {
  const fake = await startFakeMiniMaxProcess(latencyMs);
  const req: SpeechRequest = {
    model: "speech-2.5-turbo-preview",
    voiceId: "Wise_Woman",
    format: "mp3",
    speed: 1.1,
    text: "The quick brown fox jumps over the lazy dog.",
  };
  const body = JSON.stringify(toSyncBody(req, { stream: false }));
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
  const client = new MiniMaxClient({
    apiKey: "bench-key",
    baseUrl: fake.url,
    downloads: { allowLoopback: true },
    synthesisRpm: 1_000_000,
    queryQps: 1_000_000,
  });
  const provider = createMiniMaxProvider(client);

  const bare = async () => {
    const res = await request(`${fake.url}/v1/t2a_v2`, {
      method: "POST",
      dispatcher: agent,
      headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
      body,
    });
    const json = (await res.body.json()) as { data: { audio: string } };
    if (json.data.audio.length === 0) throw new Error("no audio");
  };
  const ours = async () => {
    const r = await provider.synthesize(req);
    if (r.audio.length === 0) throw new Error("no audio");
  };

  const measure = async (fn: () => Promise<void>) => {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wall, cpuUs: cpu.user + cpu.system };
  };

  try {
    // Warm both paths (connections, JIT, zod) before measuring.
    for (let i = 0; i < 10; i++) {
      await bare();
      await ours();
    }
    const b: { wall: number; cpuUs: number }[] = [];
    const c: { wall: number; cpuUs: number }[] = [];
    for (let i = 0; i < requests; i++) {
      if (i % 2 === 0) {
        b.push(await measure(bare));
        c.push(await measure(ours));
      } else {
        c.push(await measure(ours));
        b.push(await measure(bare));
      }
    }
    const bs = summarize(b.map((x) => x.wall));
    const cs = summarize(c.map((x) => x.wall));
    return {
      requests,
      latencyMs,
      bare: { median: bs.median, p95: bs.p95, cpuUs: summarize(b.map((x) => x.cpuUs)).mean },
      client: { median: cs.median, p95: cs.p95, cpuUs: summarize(c.map((x) => x.cpuUs)).mean },
    };
  } finally {
    await client.close();
    await agent.close();
    await fake.stop();
  }
}

export function printSyncLatency(r: SyncLatencyResult): void {
  console.log(
    `sync t2a_v2 against the fake (fixed latency ${r.latencyMs} ms, ${r.requests} requests each, interleaved)`,
  );
  console.log(
    `  bare undici request : median ${fmt(r.bare.median)} ms, p95 ${fmt(r.bare.p95)} ms, CPU ${fmt(r.bare.cpuUs / 1000, 3)} ms/request`,
  );
  console.log(
    `  MiniMax client      : median ${fmt(r.client.median)} ms, p95 ${fmt(r.client.p95)} ms, CPU ${fmt(r.client.cpuUs / 1000, 3)} ms/request`,
  );
  console.log(
    `  added latency ${fmt(r.client.median - r.bare.median)} ms (client/bare median ${fmt(r.client.median / r.bare.median, 3)}×), ` +
      `CPU client/bare ${fmt(r.client.cpuUs / r.bare.cpuUs, 3)}×`,
  );
}
