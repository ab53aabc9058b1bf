import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Events } from "discord.js";
import { Redis } from "ioredis";
import { createDiscordClient, useShards } from "../src/discord/client.ts";
import { createRedisIdentifyThrottler } from "../src/discord/sharding/identify-throttler.ts";
import { startFleet } from "../test/e2e/fleet/harness.ts";
import { startFakeDiscordFleet } from "../test/fakes/discord/fleet.ts";
import { startRedisServer } from "../test/storage/redis-server.ts";
import { fmt, quantile } from "./stats.ts";
import { startFakeMiniMaxProcess } from "./sync-latency.ts";

/**
 * The fleet figures (`npm run bench` ends with them; `npm run bench:fleet` prints them alone: they
 * start a dozen bot processes and take about four minutes). Real bot processes on a real
 * redis-server against the sharded fake Discord:
 * - `/speak` throughput and p50/p99 with 1, 2 and 4 processes (4 shards split between them): bursts
 *   of interactions at once against the same fake MiniMax (its own process, 200 ms per synthesis);
 *   the rate of the median burst, as a ratio to the 1-process run, and p50/p99 over every request;
 * - resident memory per process with 1,000 guilds in READY (24 channels and 12 roles each), against the
 *   same process with 4 such guilds;
 * - identify time for 16 shards (2 clients × 8 shards, as 2 processes, on the Redis throttler) with
 *   max_concurrency 1 and 16. The identify window is shortened tenfold in the fake and in the
 *   throttler (500 ms for Discord's 5 s) and the times are scaled back ×10.
 */

const BURST = Number(process.env.BENCH_FLEET_BURST ?? 200);
/** Bursts per configuration: the median round's rate is printed (the machine may be shared). */
const ROUNDS = 3;
const UPSTREAM_MS = 200;
const SCALE = 10;

interface SpeakRow {
  processes: number;
  n: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function benchSpeak(processes: number, minimaxUrl: string): Promise<SpeakRow> {
  const fleet = await startFleet({
    guilds: 8,
    shards: 4,
    maxConcurrency: 4,
    processes,
    env: {
      MINIMAX_API_URL: minimaxUrl,
      MINIMAX_API_KEY: "bench-key",
      TTS_RATE_LIMIT_RPM: "100000",
    },
  });
  try {
    let seq = 0;
    const speak = async (guild: number) => {
      const t0 = performance.now();
      await fleet
        .command(guild, {
          name: "speak",
          options: { text: `Fleet benchmark sentence ${seq++}, long enough to sound like a reply.` },
        })
        .waitForResponse((m) => m.attachments.length > 0, 120_000);
      return performance.now() - t0;
    };
    for (let i = 0; i < 8; i++) await speak(i); // warm up every process
    const times: number[] = [];
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const t0 = performance.now();
      times.push(...(await Promise.all(Array.from({ length: BURST }, (_, i) => speak(i % 8)))));
      rates.push(BURST / ((performance.now() - t0) / 1000));
    }
    const sorted = times.sort((a, b) => a - b);
    const rate = quantile(
      rates.sort((a, b) => a - b),
      0.5,
    );
    return {
      processes,
      n: sorted.length,
      seconds: BURST / rate,
      perSecond: rate,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
    };
  } finally {
    await fleet.close();
  }
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb * 1024;
}

/**
 * A server closer to a real one than the fixture's four channels: 24 channels and 12 roles, all of
 * which discord.js caches (members are not sent without the privileged members intent, as in
 * production; the bot caches itself and who is in voice).
 */
const REALISTIC_GUILD = {
  channels: Array.from({ length: 20 }, (_, i) => ({
    key: `c${i}`,
    name: `channel-${i}`,
    type: i % 5 === 4 ? 2 : 0,
  })),
  roles: Array.from({ length: 9 }, (_, i) => ({ key: `r${i}`, name: `role ${i}` })),
};

/** RSS of each process once every guild is in its cache (after 3 s to settle). */
async function benchMemory(guilds: number, processes: number): Promise<number[]> {
  const fleet = await startFleet({
    guilds,
    shards: processes,
    maxConcurrency: processes,
    processes,
    discord: { guild: REALISTIC_GUILD },
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    return await Promise.all(fleet.bots.map((b) => rssOf(b.child.pid!)));
  } finally {
    await fleet.close();
  }
}

/** 16 shards, 2 clients × 8 (as two processes), each with its own Redis connection and throttler. */
async function benchIdentify(maxConcurrency: number): Promise<{ ms: number; invalid: number }> {
  const redisServer = await startRedisServer();
  const fake = await startFakeDiscordFleet({
    guilds: 16,
    shards: 16,
    maxConcurrency,
    identifyWindowMs: 5000 / SCALE,
  });
  const connections: Redis[] = [];
  const clients = [0, 1].map((half) => {
    const redis = new Redis(redisServer.url);
    connections.push(redis);
    const client = createDiscordClient({
      apiUrl: fake.apiUrl,
      buildIdentifyThrottler: async (manager) => {
        const info = await manager.fetchGatewayInformation();
        return createRedisIdentifyThrottler({
          redis,
          maxConcurrency: info.session_start_limit.max_concurrency,
          botId: "bench",
          windowMs: 5500 / SCALE,
        });
      },
    });
    useShards(client, { shardIds: Array.from({ length: 8 }, (_, i) => half * 8 + i), shardCount: 16 });
    return client;
  });
  try {
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
        await client.login(fake.botToken);
        await ready;
      }),
    );
    const ms = (performance.now() - t0) * SCALE;
    return { ms, invalid: fake.identifies.filter((i) => !i.accepted).length };
  } finally {
    for (const client of clients) await client.destroy();
    for (const redis of connections) redis.disconnect();
    await fake.close();
    await redisServer.stop();
  }
}

/**
 * Prints every part, or one: `only` (BENCH_FLEET_ONLY) = speak, memory or identify. `npm run bench`
 * ends with it; `npm run bench:fleet` runs it alone.
 */
export async function runFleetBench(only = process.env.BENCH_FLEET_ONLY): Promise<void> {
  if (!only || only === "speak") {
    const minimax = await startFakeMiniMaxProcess(UPSTREAM_MS);
    const speakRows: SpeakRow[] = [];
    try {
      for (const processes of [1, 2, 4]) speakRows.push(await benchSpeak(processes, minimax.url));
    } finally {
      await minimax.stop();
    }
    console.log(
      `fleet /speak: ${ROUNDS} bursts of ${BURST} interactions over 8 guilds and 4 shards, fake MiniMax at ${UPSTREAM_MS} ms (median burst)`,
    );
    const base = speakRows[0]!;
    for (const r of speakRows) {
      console.log(
        `  ${r.processes} process${r.processes === 1 ? " " : "es"}: ${fmt(r.perSecond, 1)}/s ` +
          `(×${fmt(r.perSecond / base.perSecond)} of 1 process), p50 ${fmt(r.p50, 0)} ms, p99 ${fmt(r.p99, 0)} ms ` +
          `(p50 ${fmt(r.p50 / UPSTREAM_MS)}× upstream)`,
      );
    }
  }

  if (!only || only === "memory") {
    const small = await benchMemory(4, 1);
    const large = await benchMemory(1000, 1);
    const split = await benchMemory(1000, 2);
    const mb = (n: number) => fmt(n / 1024 / 1024, 0);
    console.log("fleet memory (resident, per process, after READY; guilds of 24 channels and 12 roles)");
    console.log(`  1 process, 4 guilds:          ${mb(small[0]!)} MiB`);
    console.log(
      `  1 process, 1,000 guilds:      ${mb(large[0]!)} MiB (×${fmt(large[0]! / small[0]!)} of 4 guilds)`,
    );
    console.log(`  2 processes, 500 guilds each: ${split.map(mb).join(" / ")} MiB`);
  }

  if (!only || only === "identify") {
    console.log(
      `fleet identify: 16 shards over 2 processes (fake window ${5000 / SCALE} ms, times ×${SCALE})`,
    );
    for (const mc of [1, 16]) {
      const r = await benchIdentify(mc);
      console.log(
        `  max_concurrency ${String(mc).padStart(2)}: ${fmt(r.ms / 1000, 1)} s to all ready, ${r.invalid} op 9`,
      );
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runFleetBench();
  process.exit(0);
}
