import { createBullJobRunner } from "../src/jobs/bullmq-runner.ts";
import { createJobService } from "../src/jobs/service.ts";
import { createJobStore } from "../src/jobs/store.ts";
import type { JobPublisher, JobRecord } from "../src/jobs/types.ts";
import { sharedProviderLimiters } from "../src/providers/http/shared-rate-limiter.ts";
import { createMiniMaxProvider, MiniMaxClient } from "../src/providers/minimax/index.ts";
import { createFleetRedis } from "../src/storage/fleet-redis.ts";
import { createStorage } from "../src/storage/storage.ts";
import { startFakeMiniMax } from "../test/fakes/index.ts";
import { startRedisServer } from "../test/storage/redis-server.ts";
import { fmt, quantile } from "./stats.ts";

/**
 * Narration job throughput of the distributed backend (BullMQ on a real redis-server) with 1 and 2
 * "processes" against one fake MiniMax that allows 10 status queries per sliding second. Each process
 * is a whole job backend of its own (Redis connections, BullMQ workers, MiniMax client with the
 * fleet's shared limiters, job store); they run in this one Node process, which the fake's
 * per-request cost allows. The query budget is the account's, so a second process must not raise the
 * query rate past it: the figures are jobs per second, the peak queries in any second at the fake,
 * queries per job, and created → posted p50/p99, with the 2-process run as a ratio of the 1-process
 * one measured in the same run.
 */

const QPS = 10;

export interface FleetJobsRun {
  processes: number;
  jobs: number;
  wallSeconds: number;
  jobsPerSecond: number;
  peakQps: number;
  queriesPerJob: number;
  createdToPostedMs: { p50: number; p99: number };
}

class CountingPublisher implements JobPublisher {
  readonly posted = new Map<string, number>();
  async postStatus(job: JobRecord): Promise<string> {
    return `status-${job.id}`;
  }
  async updateStatus(): Promise<void> {}
  async postResult(job: JobRecord): Promise<string[]> {
    this.posted.set(job.id, Date.now());
    return [`result-${job.id}`];
  }
}

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

function peakInWindow(times: number[], windowMs: number): number {
  const at = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export async function benchFleetJobs(jobs = 80): Promise<FleetJobsRun[]> {
  const redis = await startRedisServer();
  const fake = await startFakeMiniMax({ rpm: 1_000_000, queryQps: QPS, asyncProcessingMs: 1_500 });
  const runs: FleetJobsRun[] = [];
  try {
    for (const processes of [1, 2]) {
      fake.reset();
      const prefix = `bench${processes}`;
      const publisher = new CountingPublisher();
      const parts = await Promise.all(
        Array.from({ length: processes }, async () => {
          const storage = await createStorage(redis.url);
          const fleet = createFleetRedis(redis.url);
          const client = new MiniMaxClient({
            apiKey: "test-key",
            baseUrl: fake.url,
            downloads: { allowLoopback: true },
            limiters: sharedProviderLimiters(
              fleet.limits,
              { provider: "minimax", apiKey: prefix },
              { synthesisRpm: 1_000_000, queryQps: QPS },
            ),
          });
          const provider = createMiniMaxProvider(client);
          const store = createJobStore(storage.keyv(`jobs-${prefix}`));
          const ledger = { settle: async () => true, release: async () => true };
          const runner = createBullJobRunner({
            connection: fleet.queues,
            store,
            publisher,
            provider,
            ledger,
            logger: silent,
            options: { prefix, queryQps: QPS, pollPlan: { policy: "backoff" }, firstPollMs: 1_000 },
          });
          const service = createJobService({ store, publisher, provider, runner, ledger, logger: silent });
          return { storage, fleet, client, runner, service };
        }),
      );
      for (const p of parts) await p.runner.start();
      const started = Date.now();
      const created = new Map<string, number>();
      for (let i = 0; i < jobs; i++) {
        const p = parts[i % processes]!;
        const text = `Narration number ${i}. ${"Words to be read aloud. ".repeat(4)}`;
        const job = await p.service.create({
          reservation: { holdId: `job:b${i}`, release: async () => undefined },
          requesterId: "u1",
          guildId: "g1",
          channelId: "c1",
          input: { kind: "text", text },
          settings: { model: "speech-2.5-turbo-preview", voiceId: "Wise_Woman", format: "mp3" },
          chars: text.length,
        });
        created.set(job.id, Date.now());
      }
      while (publisher.posted.size < jobs) await new Promise((r) => setTimeout(r, 20));
      const wallSeconds = (Date.now() - started) / 1000;
      const queries = fake.requests.filter((r) => r.path === "/v1/query/t2a_async_query_v2");
      const latencies = [...publisher.posted].map(([id, at]) => at - created.get(id)!).sort((a, b) => a - b);
      runs.push({
        processes,
        jobs,
        wallSeconds,
        jobsPerSecond: jobs / wallSeconds,
        peakQps: peakInWindow(
          queries.map((q) => q.at),
          1_000,
        ),
        queriesPerJob: queries.length / jobs,
        createdToPostedMs: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) },
      });
      for (const p of parts) {
        await p.runner.stop();
        await p.client.close();
        await p.storage.close();
        await p.fleet.close();
      }
    }
  } finally {
    await fake.close();
    await redis.stop();
  }
  return runs;
}

export function printFleetJobs(runs: FleetJobsRun[]): void {
  const base = runs[0]!;
  console.log(`Narration jobs on BullMQ + Redis, fake MiniMax at ${QPS} queries/s (sliding), 1.5 s per task`);
  for (const r of runs) {
    console.log(
      `  ${r.processes} process${r.processes === 1 ? " " : "es"}: ${r.jobs} jobs in ${fmt(r.wallSeconds, 1)} s = ` +
        `${fmt(r.jobsPerSecond)} jobs/s (×${fmt(r.jobsPerSecond / base.jobsPerSecond)}), ` +
        `peak ${r.peakQps} queries in any second, ${fmt(r.queriesPerJob)} queries/job, ` +
        `created → posted p50 ${fmt(r.createdToPostedMs.p50 / 1000, 1)} s, p99 ${fmt(r.createdToPostedMs.p99 / 1000, 1)} s`,
    );
  }
}

if (import.meta.main) {
  printFleetJobs(await benchFleetJobs(Number(process.env.BENCH_FLEET_JOBS ?? 80)));
}
