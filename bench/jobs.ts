import { DatabaseSync } from "node:sqlite";
import type { PollPlanOptions } from "../src/jobs/poll-plan.ts";
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
import { taskProcessingMs } from "../test/fakes/minimax/async-tasks.ts";
import { MemoryKv } from "../test/jobs/helpers.ts";
import { fmt, quantile } from "./stats.ts";

/**
 * 200 narration jobs against the fake MiniMax under its 10 queries/s limit, run twice on the same
 * workload: with the old fixed backoff (first query after 2 s, then ×1.5, first come first asked) and
 * with the poll plan (first query near the finish expected from the learned speed, most-likely-done
 * first when over budget). For each: the delay from a task's Success to its result being posted, the
 * peak query rate (it must stay within the limit) and the queries per job.
 *
 * Two workloads. "varied": jobs arrive over a minute, 250 to 5,000 characters, and a task takes
 * 4 ms per character ±20 % (1 to 24 s) — scaled down from real narrations, whose speed is learned
 * the same way. "burst": the earlier workload, 200 jobs of 50 characters within 5 s, 4 s each: 200
 * Successes in 5 s need 200 queries, 20 s at 10/s, so the last ones wait about 15 s whatever the plan
 * (the lower bound is printed); it shows the query budget is kept and the order under overload.
 */

export interface JobsRun {
  policy: "backoff" | "adaptive";
  peakQps: number;
  queriesPerJob: number;
  successToPostedMs: { p50: number; p99: number };
  /** From the job's creation to its result posted. */
  createdToPostedMs: { p50: number; p99: number };
  wallSeconds: number;
  /** Per job, for a closer look: characters, queries, created and Success → posted. */
  perJob: { chars: number; polls: number; createdAt: number; successToPostedMs: number }[];
}

export interface JobsScenario {
  name: string;
  describe: string;
  jobs: number;
  /** Jobs are created at random moments within this window. */
  arrivalMs: number;
  /** Characters of job i. */
  chars: (i: number) => number;
  /** A task's processing time from its characters. */
  processingMs: (chars: number) => number;
  /** Least possible p99 of Success → posted, when the query budget is the bottleneck. */
  lowerBoundP99Ms?: number;
}

export interface JobsBenchResult {
  qpsLimit: number;
  scenarios: { scenario: JobsScenario; baseline: JobsRun; plan: JobsRun }[];
}

/** A small seeded generator, so both runs of a workload get the same jobs. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Noise in [-1, 1) that depends only on `n`: the same job processes as long in both runs. */
function noise(n: number): number {
  return seeded(n * 2654435761)() * 2 - 1;
}

export function variedScenario(jobs = 200): JobsScenario {
  const rnd = seeded(7);
  const lengths = Array.from({ length: jobs }, () => Math.round(250 * 20 ** rnd()));
  return {
    name: "varied",
    describe: `${jobs} jobs over 60 s, 250–5,000 characters, each task 4 ms per character ±20 %`,
    jobs,
    arrivalMs: 60_000,
    chars: (i) => lengths[i]!,
    processingMs: (chars) => Math.round(4 * chars * (1 + 0.2 * noise(chars))),
  };
}

export function burstScenario(jobs = 200, qpsLimit = 10): JobsScenario {
  const arrivalMs = 5000;
  const processingMs = 4000;
  // Every job needs one query that finds it done, and none can before the first Success (at about
  // processingMs). In a sliding 1 s window the (k+1)-th of those comes floor(k / qps) s later at the
  // earliest, while every Success is in by arrivalMs + processingMs: the jobs found last (the p99 one
  // among them) waited at least the difference.
  const k = Math.round(0.99 * (jobs - 1));
  const lowerBoundP99Ms = Math.max(0, Math.floor(k / qpsLimit) * 1000 - arrivalMs);
  return {
    name: "burst",
    describe: `${jobs} jobs within 5 s, 50 characters, each task 4 s (the earlier workload)`,
    jobs,
    arrivalMs,
    chars: () => 50,
    processingMs: () => processingMs,
    lowerBoundP99Ms,
  };
}

const SENTENCE = "A few sentences to narrate, one after another, until the text is long enough. ";

function textOf(i: number, chars: number): string {
  const head = `Job number ${i}. `;
  return `${(head + SENTENCE.repeat(Math.ceil(chars / SENTENCE.length) + 1)).slice(0, chars - 1)}.`;
}

export async function runJobs(
  scenario: JobsScenario,
  policy: PollPlanOptions["policy"] & string,
  qpsLimit = 10,
  planOptions: PollPlanOptions = {},
): Promise<JobsRun> {
  const fake = await startFakeMiniMax({
    apiKey: "bench-key",
    asyncProcessingMs: ({ chars }) => scenario.processingMs(chars),
    rpm: 1_000_000,
    queryQps: qpsLimit,
    // Short clips: rendering audio is the fake's work, and it shares this process's event loop.
    msPerChar: 1,
    maxAudioMs: 500,
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
    speedStore: new MemoryKv(),
    options: { concurrency: 16, queryQps: qpsLimit, pollPlan: { ...planOptions, policy } },
  });
  const service = createJobService({ store, publisher, provider, runner, ledger, logger });
  const started = Date.now();
  await runner.start();
  const jobs: JobRecord[] = [];
  const rnd = seeded(11);
  const arrivals = Array.from({ length: scenario.jobs }, () => rnd() * scenario.arrivalMs);
  try {
    await Promise.all(
      arrivals.map(async (at, i) => {
        await new Promise((r) => setTimeout(r, at));
        const id = service.newId();
        const requesterId = `user-${i % 20}`;
        const text = textOf(i, scenario.chars(i));
        const hold = await ledger.reserve({
          holdId: jobHoldId(id),
          guildId: "g",
          userId: requesterId,
          chars: text.length,
          limits: {},
        });
        jobs.push(
          await service.create({
            id,
            reservation: { holdId: hold.id, release: async () => void (await ledger.release(hold.id)) },
            requesterId,
            guildId: "g",
            channelId: "c",
            input: { kind: "text", text },
            settings: { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" },
            chars: text.length,
          }),
        );
      }),
    );
    while (posted.size < scenario.jobs) {
      if (Date.now() - started > 10 * 60_000)
        throw new Error(`only ${posted.size} of ${scenario.jobs} jobs finished`);
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
  const tasks = new Map([...fake.tasks.values()].map((t) => [String(t.task_id), t]));
  const fromSuccess: number[] = [];
  const fromCreated: number[] = [];
  const perJob: JobsRun["perJob"] = [];
  for (const job of jobs) {
    const record = await store.get(job.id);
    const task = record?.taskId === undefined ? undefined : tasks.get(record.taskId);
    const at = posted.get(job.id);
    if (!task || at === undefined) continue;
    // A task turns Success its processing time after the fake created it.
    fromSuccess.push(
      at - (task.created_at + taskProcessingMs(task, ({ chars }) => scenario.processingMs(chars))),
    );
    fromCreated.push(at - job.createdAt);
    perJob.push({
      chars: job.chars,
      polls: record?.polls ?? 0,
      createdAt: job.createdAt - started,
      successToPostedMs: fromSuccess.at(-1)!,
    });
  }
  const p = (xs: number[]) => {
    xs.sort((a, b) => a - b);
    return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99) };
  };
  return {
    policy,
    peakQps: peak,
    queriesPerJob: queries.length / scenario.jobs,
    successToPostedMs: p(fromSuccess),
    createdToPostedMs: p(fromCreated),
    wallSeconds: (Date.now() - started) / 1000,
    perJob,
  };
}

export async function benchJobs(count = 200, qpsLimit = 10): Promise<JobsBenchResult> {
  const scenarios: JobsBenchResult["scenarios"] = [];
  for (const scenario of [variedScenario(count), burstScenario(count, qpsLimit)]) {
    const baseline = await runJobs(scenario, "backoff", qpsLimit);
    const plan = await runJobs(scenario, "adaptive", qpsLimit);
    scenarios.push({ scenario, baseline, plan });
  }
  return { qpsLimit, scenarios };
}

function line(label: string, r: JobsRun, limit: number): string {
  const s = r.successToPostedMs;
  const c = r.createdToPostedMs;
  return (
    `    ${label.padEnd(14)} Success → posted p50 ${fmt(s.p50, 0)} ms, p99 ${fmt(s.p99, 0)} ms; ` +
    `created → posted p50 ${fmt(c.p50 / 1000, 1)} s, p99 ${fmt(c.p99 / 1000, 1)} s; ` +
    `${fmt(r.queriesPerJob)} queries/job, peak ${r.peakQps}/s (${fmt(r.peakQps / limit)}× the limit); ` +
    `${fmt(r.wallSeconds, 1)} s`
  );
}

export function printJobs(r: JobsBenchResult): void {
  console.log(`narration jobs (limit ${r.qpsLimit} queries/s): the old fixed backoff against the poll plan`);
  for (const { scenario, baseline, plan } of r.scenarios) {
    console.log(`  ${scenario.name}: ${scenario.describe}`);
    console.log(line("fixed backoff", baseline, r.qpsLimit));
    console.log(line("poll plan", plan, r.qpsLimit));
    const ratio = (a: number, b: number) => fmt(a / Math.max(1, b));
    console.log(
      `    Success → posted, backoff ÷ plan: p50 ${ratio(baseline.successToPostedMs.p50, plan.successToPostedMs.p50)}×, ` +
        `p99 ${ratio(baseline.successToPostedMs.p99, plan.successToPostedMs.p99)}×`,
    );
    if (scenario.lowerBoundP99Ms !== undefined) {
      console.log(
        `    (no plan can do better than a p99 of about ${fmt(scenario.lowerBoundP99Ms / 1000, 1)} s here: ` +
          `${scenario.jobs} Successes in ${scenario.arrivalMs / 1000} s need ${scenario.jobs} queries)`,
      );
    }
  }
}
