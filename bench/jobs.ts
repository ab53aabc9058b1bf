import { DatabaseSync } from "node:sqlite";
import { createJobRunner } from "../src/jobs/runner.ts";
import { createJobService } from "../src/jobs/service.ts";
import { createJobStore } from "../src/jobs/store.ts";
import type { JobPublisher, JobRecord } from "../src/jobs/types.ts";
import { createLogger } from "../src/logger.ts";
import { createMiniMaxProvider, MiniMaxClient } from "../src/providers/minimax/index.ts";
import { createSqliteBudgetStore } from "../src/settings/budget-store-sqlite.ts";
import { createUsageLedger } from "../src/settings/usage.ts";
import { jobHoldId } from "../src/speak/planner.ts";
import { startFakeMiniMax } from "../test/fakes/index.ts";
import { MemoryKv } from "../test/jobs/helpers.ts";
import { fmt, quantile } from "./stats.ts";

/**
 * 200 narration jobs created at random moments, against the fake MiniMax (tasks take 4 s each, so
 * they finish at random times): the peak query rate (it must stay within the 10 QPS limit), the
 * queries per job, and the delay from a task's Success to its result being posted.
 */

export interface JobsBenchResult {
  jobs: number;
  qpsLimit: number;
  peakQps: number;
  queriesPerJob: number;
  successToPostedMs: { p50: number; p99: number };
  wallSeconds: number;
}

export async function benchJobs(count = 200, processingMs = 4000, qpsLimit = 10): Promise<JobsBenchResult> {
  const fake = await startFakeMiniMax({
    apiKey: "bench-key",
    asyncProcessingMs: processingMs,
    rpm: 1_000_000,
    queryQps: qpsLimit,
    msPerChar: 5,
  });
  const client = new MiniMaxClient({
    apiKey: "bench-key",
    baseUrl: fake.url,
    downloads: { allowLoopback: true },
    synthesisRpm: 1_000_000,
    queryQps: qpsLimit,
  });
  const provider = createMiniMaxProvider(client);
  const logger = createLogger({ level: "silent" });
  const posted = new Map<string, number>();
  const publisher: JobPublisher = {
    postStatus: async (job) => `status-${job.id}`,
    updateStatus: async () => {},
    postResult: async (job) => {
      if (!posted.has(job.id)) posted.set(job.id, Date.now());
      return [`result-${job.id}`];
    },
  };
  const store = createJobStore(new MemoryKv(), { logger });
  // The real ledger (SQLite in memory): each job holds its characters and settles them when it ends.
  const ledger = createUsageLedger(createSqliteBudgetStore(new DatabaseSync(":memory:")));
  const runner = createJobRunner({
    store,
    publisher,
    provider,
    ledger,
    logger,
    options: { concurrency: 16 },
  });
  const service = createJobService({ store, publisher, provider, runner, ledger, logger });
  const started = Date.now();
  await runner.start();
  const jobs: JobRecord[] = [];
  try {
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5000));
        const id = service.newId();
        const requesterId = `user-${i % 20}`;
        const hold = await ledger.reserve({
          holdId: jobHoldId(id),
          guildId: "g",
          userId: requesterId,
          chars: 50,
          limits: {},
        });
        jobs.push(
          await service.create({
            id,
            reservation: { holdId: hold.id, release: async () => void (await ledger.release(hold.id)) },
            requesterId,
            guildId: "g",
            channelId: "c",
            input: { kind: "text", text: `Job number ${i}. A few sentences to narrate, then done.` },
            settings: { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" },
            chars: 50,
          }),
        );
      }),
    );
    while (posted.size < count) {
      if (Date.now() - started > 10 * 60_000)
        throw new Error(`only ${posted.size} of ${count} jobs finished`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await runner.stop();
    await client.close();
    await fake.close();
  }

  const queries = fake.requests.filter((r) => r.path === "/v1/query/t2a_async_query_v2").map((r) => r.at);
  queries.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < queries.length; i++) {
    while (queries[i]! - queries[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  // A task turns Success `processingMs` after the fake created it.
  const tasks = [...fake.tasks.values()];
  const delays: number[] = [];
  for (const job of jobs) {
    const record = await store.get(job.id);
    const task = tasks.find((t) => String(t.task_id) === record?.taskId);
    const at = posted.get(job.id);
    if (task && at !== undefined) delays.push(at - (task.created_at + processingMs));
  }
  delays.sort((a, b) => a - b);
  return {
    jobs: count,
    qpsLimit,
    peakQps: peak,
    queriesPerJob: queries.length / count,
    successToPostedMs: { p50: quantile(delays, 0.5), p99: quantile(delays, 0.99) },
    wallSeconds: (Date.now() - started) / 1000,
  };
}

export function printJobs(r: JobsBenchResult): void {
  console.log(
    `narration jobs (${r.jobs} jobs created over 5 s, each task processing 4 s, limit ${r.qpsLimit} queries/s)`,
  );
  console.log(
    `  peak query rate ${r.peakQps}/s in any 1 s window (${fmt(r.peakQps / r.qpsLimit)}× the limit)`,
  );
  console.log(`  queries per job ${fmt(r.queriesPerJob)}`);
  console.log(
    `  Success → posted: p50 ${fmt(r.successToPostedMs.p50, 0)} ms, p99 ${fmt(r.successToPostedMs.p99, 0)} ms; all done in ${fmt(r.wallSeconds, 1)} s`,
  );
}
