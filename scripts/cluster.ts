import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type RedisServer, startRedisServer } from "./redis-server.ts";

/**
 * `npm run cluster`: a local fleet to try sharding on one machine. It starts CLUSTERS bot processes
 * (default 2), each running a contiguous range of the SHARD_COUNT shards (default: one per process;
 * `auto` asks Discord), all on one Redis: STORAGE_URL when it is a redis:// URL, otherwise a
 * `redis-server` started here on a free loopback port, without persistence (for trying only; a real
 * fleet uses a Redis that keeps its data). With METRICS_PORT=P, process i serves /metrics and /healthz
 * on P + i. A process that exits by itself is started again after a pause that grows with each crash
 * in a row; Ctrl-C stops them all. In production, run each process under your process manager
 * (systemd, compose, Kubernetes) with its own SHARD_IDS instead: see the README, "Running as a fleet".
 */

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ENTRY = fileURLToPath(new URL("../bin/start.mjs", import.meta.url));

function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), name: "cluster", ...extra, msg })}\n`,
  );
}

/** `count` shards in `processes` contiguous ranges: 4 in 2 → [[0,1],[2,3]]. */
export function shardRanges(count: number, processes: number): number[][] {
  const out: number[][] = [];
  for (let p = 0; p < processes; p++) {
    const from = Math.floor((p * count) / processes);
    const to = Math.floor(((p + 1) * count) / processes);
    if (to > from) out.push(Array.from({ length: to - from }, (_, i) => from + i));
  }
  return out;
}

async function recommendedShards(env: NodeJS.ProcessEnv): Promise<number> {
  const api = (env.DISCORD_API_URL ?? "https://discord.com/api").replace(/\/+$/, "");
  const res = await fetch(`${api}/v10/gateway/bot`, {
    headers: { authorization: `Bot ${env.DISCORD_TOKEN ?? ""}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) fail(`SHARD_COUNT=auto: GET /gateway/bot answered ${res.status}; check DISCORD_TOKEN.`);
  const body = (await res.json()) as { shards?: unknown };
  if (typeof body.shards !== "number" || body.shards < 1)
    fail("SHARD_COUNT=auto: no shard count from Discord.");
  return body.shards;
}

async function startRedis(): Promise<RedisServer> {
  let redis: RedisServer;
  try {
    redis = await startRedisServer({
      inheritStderr: true,
      missing:
        "npm run cluster needs a Redis: set STORAGE_URL=redis://host:port, or install redis-server " +
        "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) to have one started here.",
    });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  log("started a redis-server for this cluster (no persistence)", { port: redis.port });
  return redis;
}

async function main(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const clusters = Number(process.env.CLUSTERS ?? "2");
  if (!Number.isInteger(clusters) || clusters < 1 || clusters > 64)
    fail("CLUSTERS must be a whole number from 1 to 64.");
  const rawCount = process.env.SHARD_COUNT?.trim() || String(clusters);
  const shardCount = rawCount === "auto" ? await recommendedShards(process.env) : Number(rawCount);
  if (!Number.isInteger(shardCount) || shardCount < 1) fail("SHARD_COUNT must be auto or a whole number.");
  if (process.env.SHARD_IDS) log("SHARD_IDS is ignored by npm run cluster: each process gets its own range");
  const ranges = shardRanges(shardCount, clusters);
  if (ranges.length < clusters)
    log("fewer shards than CLUSTERS: some processes would have none", { shardCount });

  const storage = process.env.STORAGE_URL ?? "";
  const redis = /^rediss?:\/\//.test(storage) ? undefined : await startRedis();
  const storageUrl = redis?.url ?? storage;
  const metricsBase = process.env.METRICS_PORT ? Number(process.env.METRICS_PORT) : undefined;

  let stopping = false;
  const children = new Map<number, ChildProcess>();
  const crashes = ranges.map(() => 0);
  /** Processes that ran past their start once: later exits are crashes to recover from. */
  const started = new Set<number>();

  const startOne = (index: number) => {
    const ids = ranges[index]!;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STORAGE_URL: storageUrl,
      SHARD_COUNT: String(shardCount),
      SHARD_IDS: ids.join(","),
      ...(metricsBase !== undefined ? { METRICS_PORT: String(metricsBase + index) } : {}),
    };
    const startedAt = Date.now();
    const child = spawn(process.execPath, [ENTRY], { cwd: ROOT, env, stdio: "inherit" });
    children.set(index, child);
    log("started a bot process", { process: index, pid: child.pid, shards: ids.join(",") });
    child.once("exit", (code, signal) => {
      children.delete(index);
      if (stopping) return;
      if (!started.has(index) && Date.now() - startedAt < 10_000) {
        // It never got going: a setup problem (its one-line reason is above), not a crash to retry.
        log("a bot process failed at start; stopping the cluster", { process: index, code });
        void stop("SIGTERM");
        return;
      }
      started.add(index);
      // A process that stays up a minute was healthy: its next crash starts the back-off over.
      crashes[index] = Date.now() - startedAt > 60_000 ? 1 : crashes[index]! + 1;
      const delay = Math.min(30_000, 1000 * 2 ** (crashes[index]! - 1));
      log("a bot process exited; starting it again", { process: index, code, signal, delayMs: delay });
      setTimeout(() => {
        if (!stopping) startOne(index);
      }, delay).unref();
    });
  };

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log("stopping the cluster", { signal });
    const exits = [...children.values()].map((c) => once(c, "exit"));
    for (const child of children.values()) child.kill("SIGTERM");
    await Promise.race([Promise.all(exits), sleep(30_000)]);
    for (const child of children.values()) child.kill("SIGKILL");
    void redis?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  log("starting a local fleet", {
    processes: ranges.length,
    shardCount,
    storage: storageUrl.replace(/\/\/[^@]*@/, "//"),
  });
  for (let i = 0; i < ranges.length; i++) startOne(i);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) =>
    fail(`npm run cluster failed: ${err instanceof Error ? err.message : String(err)}`),
  );
}
