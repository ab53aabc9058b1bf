import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type BullJobRunnerOptions,
  bullJobId,
  createBullJobRunner,
  POLL_QUEUE,
  pollPriority,
  pollSpacingMs,
} from "../../src/jobs/bullmq-runner.ts";
import { createPollPlan, SPEED_KEY } from "../../src/jobs/poll-plan.ts";
import { createJobService } from "../../src/jobs/service.ts";
import type { QueryInfo } from "../../src/jobs/steps.ts";
import { createJobStore } from "../../src/jobs/store.ts";
import { type JobRecord, JobRecordSchema, type ResultFile } from "../../src/jobs/types.ts";
import { RateLimiter } from "../../src/providers/http/rate-limiter.ts";
import { MiniMaxClient } from "../../src/providers/minimax/client.ts";
import { createMiniMaxProvider } from "../../src/providers/minimax/provider.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";
import { FAST, MemoryKv, MemoryLedger, MemoryPublisher, memoryLogger, SETTINGS, waitFor } from "./helpers.ts";

/**
 * The BullMQ backend against a real redis-server and the fake MiniMax: each `processOn()` is one bot
 * process (its own connections, workers, client and store) on the shared Redis.
 */

const TEXT = "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen.";
const CREATE = "/v1/t2a_async_v2";
const QUERY = "/v1/query/t2a_async_query_v2";

let redis: RedisServer;
let mm: FakeMiniMax;
let prefix: string;
let run = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  mm = await startFakeMiniMax({ rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 300 });
});
afterAll(async () => {
  await mm.close();
  await redis.stop();
});
beforeEach(() => {
  mm.reset();
  prefix = `t${++run}`;
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A publisher whose result posts hang for ever (the process froze or died while posting). */
class HangingPublisher extends MemoryPublisher {
  override postResult(_job: JobRecord, _files: ResultFile[], _text: string): Promise<string[]> {
    return new Promise(() => undefined);
  }
}

interface ProcessOptions {
  fake?: FakeMiniMax;
  publisher?: MemoryPublisher;
  speedStore?: MemoryKv;
  options?: BullJobRunnerOptions;
}

async function processOn(over: ProcessOptions = {}) {
  const storage: Storage = await createStorage(redis.url);
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const client = new MiniMaxClient({
    apiKey: "test-key",
    baseUrl: (over.fake ?? mm).url,
    downloads: { allowLoopback: true },
    retry: { retries: 0 },
    limiters: {
      synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
    },
  });
  const provider = createMiniMaxProvider(client);
  const logger = memoryLogger();
  const store = createJobStore(storage.keyv("jobs"), { logger });
  const publisher = over.publisher ?? new MemoryPublisher();
  const ledger = new MemoryLedger();
  const runner = createBullJobRunner({
    connection,
    store,
    publisher,
    provider,
    ledger,
    logger,
    speedStore: over.speedStore,
    options: { ...FAST, prefix, lockDurationMs: 1_000, stalledIntervalMs: 300, ...over.options },
  });
  const service = createJobService({ store, publisher, provider, runner, ledger, logger });
  let closed = false;
  const close = async (halt = false) => {
    if (closed) return;
    closed = true;
    if (halt) await runner.halt();
    else await runner.stop();
    await client.close();
    await storage.close();
    connection.disconnect();
  };
  cleanups.push(() => close());
  return { runner, service, store, publisher, ledger, logger, provider, close };
}

let holds = 0;
function create(p: Awaited<ReturnType<typeof processOn>>, id?: string, text = TEXT) {
  return p.service.create({
    id,
    reservation: p.ledger.reservation(`job:b${++holds}`, text.length),
    requesterId: "u1",
    guildId: "g1",
    channelId: "c1",
    input: { kind: "text", text },
    settings: SETTINGS,
    chars: text.length,
  });
}

function until(
  p: { store: { get(id: string): Promise<JobRecord | undefined> } },
  id: string,
  ok: (j: JobRecord) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<JobRecord> {
  return waitFor(
    async () => {
      const j = await p.store.get(id);
      return j && ok(j) ? j : undefined;
    },
    what,
    timeoutMs,
  );
}

const calls = (path: string) => mm.requests.filter((r) => r.path === path);

/** The most requests of `path` that arrived within any `windowMs` (sliding). */
function maxInWindow(path: string, windowMs: number): number {
  const at = calls(path)
    .map((r) => r.at)
    .sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("BullMQ job backend", () => {
  it("runs a job once although two processes are told about it", async () => {
    const a = await processOn();
    const b = await processOn({ publisher: a.publisher });
    await a.runner.start();
    await b.runner.start();
    // The same request started by both processes at once: one job, not two.
    const [job, again] = await Promise.all([create(a, "rqonce1"), create(b, "rqonce1")]);
    expect(again.id).toBe(job.id);
    expect(again.createdAt).toBe(job.createdAt);
    b.runner.wake(job.id);
    a.runner.wake();
    const done = await until(a, job.id, (j) => j.state === "done", "done");
    expect(done.resultMessageIds).toEqual([`result-${job.id}`]);
    expect(calls(CREATE)).toHaveLength(1);
    expect(a.publisher.postCalls).toEqual([job.id]);
    expect(a.runner.stats().steps + b.runner.stats().steps).toBeGreaterThanOrEqual(4);
  });

  it("takes over a job whose process died while posting, and posts it once", async () => {
    const hung = await processOn({ publisher: new HangingPublisher() });
    await hung.runner.start();
    const job = await create(hung);
    await until(hung, job.id, (j) => j.state === "posting", "posting");
    // The process "dies": no lock renewal, nothing handed back.
    await hung.close(true);

    const survivor = await processOn();
    await survivor.runner.start();
    const done = await until(survivor, job.id, (j) => j.state === "done", "done after takeover");
    expect(done.resultMessageIds).toEqual([`result-${job.id}`]);
    expect(survivor.publisher.postCalls).toEqual([job.id]);
    // Downloaded again, never submitted again.
    expect(calls(CREATE)).toHaveLength(1);
  });

  it("waits between polls in BullMQ's delayed set, at the poll plan's times", async () => {
    const slow = await startFakeMiniMax({ rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 1_500 });
    cleanups.push(() => slow.close());
    const q = await processOn({
      fake: slow,
      options: { firstPollMs: 400, maxPollMs: 400, pollBackoff: 1, pollPlan: { policy: "backoff" } },
    });
    await q.runner.start();
    const job = await create(q);
    await until(q, job.id, (j) => j.state === "processing", "processing");
    const queue = new Queue(POLL_QUEUE, { connection: { url: redis.url }, prefix });
    cleanups.push(() => queue.close());
    const delayed = await waitFor(async () => {
      const jobs = await queue.getDelayed();
      return jobs.find((j) => j.id === bullJobId(job.id));
    }, "the job in the delayed set");
    expect(delayed.data).toEqual({ id: job.id });
    await until(q, job.id, (j) => j.state === "done", "done");
    const queries = slow.requests.filter((r) => r.path === QUERY).map((r) => r.at);
    // ~1.5 s of processing at one query per 400 ms: a handful, not a busy loop.
    expect(queries.length).toBeGreaterThanOrEqual(2);
    expect(queries.length).toBeLessThanOrEqual(6);
    const gaps = queries.slice(1).map((t, i) => t - queries[i]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(350);
  });

  it("holds the query rate across the workers of two processes", async () => {
    const qps = 4;
    const a = await processOn({ options: { queryQps: qps, firstPollMs: 20, maxPollMs: 40 } });
    const b = await processOn({
      publisher: a.publisher,
      options: { queryQps: qps, firstPollMs: 20, maxPollMs: 40 },
    });
    await a.runner.start();
    await b.runner.start();
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await create(i % 2 === 0 ? a : b, undefined, `${TEXT} ${i}`));
    for (const job of jobs) await until(a, job.id, (j) => j.state === "done", `job ${job.id} done`, 30_000);
    expect(calls(QUERY).length).toBeGreaterThanOrEqual(8);
    // BullMQ's limiter spaces poll activations fleet-wide: at most `qps` in any second.
    expect(maxInWindow(QUERY, 1_000)).toBeLessThanOrEqual(qps);
    expect(pollSpacingMs(qps)).toBe(300);
    expect(a.publisher.postCalls.sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(calls(CREATE)).toHaveLength(8);
  });
});

describe("pollPriority: the poll plan's readiness as BullMQ's priority", () => {
  it.each([
    // [readiness, priority]: 1 in the middle, a doubling 32767 steps, clamped to BullMQ's 1..2^21-1.
    [1, 1_048_576],
    [2, 1_048_576 - 32_767],
    [0.5, 1_048_576 + 32_767],
    [2 ** 32, 32],
    [2 ** 40, 1],
    [2 ** -40, 2_097_151],
    [0, 2_097_151],
    [-5, 2_097_151],
    [Number.NaN, 2_097_151],
    [Number.POSITIVE_INFINITY, 1],
  ])("readiness %d → %d", (readiness, priority) => {
    expect(pollPriority(readiness)).toBe(priority);
  });

  it("keeps the order of every scale readiness comes in, apart by 0.01 %", () => {
    // Shares of the expected time, ms per character (no speed yet), ms since the submit (backoff).
    for (const low of [0.05, 0.8, 1, 3, 12.5, 700, 45_000, 3_600_000]) {
      expect(pollPriority(low * 1.0001)).toBeLessThan(pollPriority(low));
    }
  });
});

describe("status queries under the budget (BullMQ priority)", () => {
  /** 10 ms per character for the test's model, as a previous run would have stored it. */
  async function learnedSpeed(): Promise<MemoryKv> {
    const kv = new MemoryKv();
    const speed = { ms: 10_000, chars: 1_000, spread: 0.1, lead: 0.2, samples: 5 };
    await kv.set(SPEED_KEY, { v: 1, models: { [SETTINGS.model]: speed } });
    return kv;
  }

  /** A job waiting on its (real, fake-side) task, created `elapsedMs` ago for `chars` characters. */
  function waitingJob(id: string, taskId: string, chars: number, elapsedMs: number): JobRecord {
    const now = Date.now();
    return JobRecordSchema.parse({
      id,
      state: "processing",
      requesterId: "u1",
      guildId: "g1",
      channelId: "c1",
      statusMessageId: `status-${id}`,
      input: { kind: "text", text: TEXT },
      settings: SETTINGS,
      chars,
      provider: "minimax",
      taskId,
      submitKey: `key-${id}`,
      holdId: `job:${id}`,
      createdAt: now - elapsedMs - 100,
      updatedAt: now,
      submittedAt: now - elapsedMs,
      polls: 1,
      nextAt: 0,
    });
  }

  it("asks the jobs most likely done first when more are due than the budget allows", async () => {
    const queries: QueryInfo[] = [];
    const p = await processOn({
      speedStore: await learnedSpeed(),
      options: { queryQps: 2, onQuery: (q) => queries.push(q) },
    });
    // Stored in the reverse of the expected order, so first come, first served would ask "early" first.
    // At 10 ms/char: [chars, elapsed ms] → share of the expected time passed.
    const shapes: [string, number, number][] = [
      ["early", 1000, 1_000], // 10 s, 1 s: 0.1
      ["halfway", 2000, 10_000], // 20 s, 10 s: 0.5
      ["late", 1000, 12_000], // 10 s, 12 s: 1.2
      ["twice", 500, 10_000], // 5 s, 10 s: 2
      ["thrice", 100, 3_000], // 1 s, 3 s: 3
    ];
    const api = p.provider.async!;
    const tasks = [];
    for (const [id] of shapes) tasks.push((await api.createTask({ text: `${TEXT} ${id}` }, SETTINGS)).taskId);
    // Every task done at the fake (300 ms each), so each job takes one query.
    await new Promise((r) => setTimeout(r, 400));
    for (const [i, [id, chars, elapsed]] of shapes.entries()) {
      await p.store.put(waitingJob(`prio-${id}`, tasks[i]!, chars, elapsed));
    }
    await p.runner.start();
    await waitFor(() => p.publisher.posted.size === shapes.length || undefined, "every job posted", 15_000);
    expect(queries.map((q) => q.jobId)).toEqual(
      ["thrice", "twice", "late", "halfway", "early"].map((id) => `prio-${id}`),
    );
    expect(queries.every((q) => q.status === "success")).toBe(true);
    expect(maxInWindow(QUERY, 1_000)).toBeLessThanOrEqual(2);
  });

  it("the sweep ranks the polls still waiting for the budget again, as their readiness grows", async () => {
    const p = await processOn({ speedStore: await learnedSpeed(), options: { queryQps: 1, sweepMs: 200 } });
    const api = p.provider.async!;
    const ids = ["w1", "w2", "w3", "w4"].map((id) => `prio-${id}`);
    for (const id of ids) {
      const { taskId } = await api.createTask({ text: `${TEXT} ${id}` }, SETTINGS);
      // 1000 characters at 10 ms/char, 1 s of 10 s passed: readiness 0.1, doubling within the second.
      await p.store.put(waitingJob(id, taskId, 1000, 1_000));
    }
    await p.runner.start();
    const queue = new Queue(POLL_QUEUE, { connection: { url: redis.url }, prefix });
    cleanups.push(() => queue.close());
    const before = new Map((await queue.getJobs(["prioritized"])).map((j) => [j.id, j.priority]));
    // One query per 1.2 s: at least two of the four still wait a second later.
    expect(before.size).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 1_000));
    const after = await queue.getJobs(["prioritized"]);
    expect(after.length).toBeGreaterThanOrEqual(2);
    for (const j of after) expect(j.priority).toBeLessThan(before.get(j.id)! - 20_000);
  });

  it("re-ranks a poll for its next turn when it goes back to the delayed set", async () => {
    const slow = await startFakeMiniMax({ rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 10_000 });
    cleanups.push(() => slow.close());
    const speedStore = await learnedSpeed();
    const p = await processOn({ fake: slow, speedStore, options: { maxPollMs: 5_000 } });
    const { taskId } = await p.provider.async!.createTask({ text: TEXT }, SETTINGS);
    // 200 characters: 2 s expected; the first query (due now, readiness ~0) answers "processing".
    const job = waitingJob("prio-redelay", taskId, 200, 0);
    await p.store.put({ ...job, polls: 0 });
    await p.runner.start();
    const after = await until(p, job.id, (j) => j.polls === 1, "one query answered");
    expect(after.state).toBe("processing");
    expect(after.nextAt).toBeGreaterThan(Date.now());

    const queue = new Queue(POLL_QUEUE, { connection: { url: redis.url }, prefix });
    cleanups.push(() => queue.close());
    const delayed = await waitFor(async () => {
      const j = await queue.getJob(bullJobId(job.id));
      return (await j?.isDelayed()) ? j : undefined;
    }, "the poll back in the delayed set");
    // Its priority is the readiness at its next turn, by the same plan and stored speed.
    const plan = createPollPlan({
      timing: { firstPollMs: 30, maxPollMs: 5_000, pollBackoff: 2 },
      store: speedStore,
    });
    await plan.load();
    const readiness = plan.readiness(after, after.nextAt);
    expect(readiness).toBeGreaterThan(0.5);
    expect(delayed.priority).toBe(pollPriority(readiness));
    expect(delayed.priority).toBeLessThan(pollPriority(0.1));
  });
});
