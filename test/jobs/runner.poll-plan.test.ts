import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SPEED_KEY } from "../../src/jobs/poll-plan.ts";
import { createJobRunner, type JobRunnerOptions } from "../../src/jobs/runner.ts";
import { createJobService } from "../../src/jobs/service.ts";
import type { QueryInfo } from "../../src/jobs/steps.ts";
import { createJobStore } from "../../src/jobs/store.ts";
import { type JobRecord, JobRecordSchema } from "../../src/jobs/types.ts";
import { RateLimiter } from "../../src/providers/http/rate-limiter.ts";
import { MiniMaxClient } from "../../src/providers/minimax/client.ts";
import { createMiniMaxProvider } from "../../src/providers/minimax/provider.ts";
import type { AsyncTaskState, TtsProvider } from "../../src/speech/types.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { FAST, MemoryKv, MemoryLedger, MemoryPublisher, memoryLogger, SETTINGS, waitFor } from "./helpers.ts";

/** The runner with the poll plan: when it asks, in which order under the query budget, and what waits. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** 10 ms per character for the test's model, as a previous run would have stored it. */
async function learnedSpeed(kv: MemoryKv): Promise<void> {
  const speed = { ms: 10_000, chars: 1_000, spread: 0.1, lead: 0.2, samples: 5 };
  await kv.set(SPEED_KEY, { v: 1, models: { [SETTINGS.model]: speed } });
}

/**
 * An async provider in memory: each query is recorded, then waits for `gate` (if set) or the abort
 * of its step, then answers `status(taskId)`.
 */
function scriptedProvider(status: (taskId: string) => AsyncTaskState["status"]) {
  const queries: { taskId: string; at: number }[] = [];
  const fetched: string[] = [];
  let gate: Promise<void> | undefined;
  const provider: TtsProvider = {
    name: "minimax",
    capabilities: { stream: false, async: true, voices: false, maxSyncChars: 100 },
    synthesize: () => Promise.reject(new Error("not used")),
    async: {
      uploadText: () => Promise.reject(new Error("not used")),
      createTask: () => Promise.reject(new Error("not used")),
      async queryTask(taskId, opts) {
        queries.push({ taskId, at: performance.now() });
        if (gate) {
          const signal = opts?.signal;
          await new Promise<void>((resolve, reject) => {
            gate!.then(resolve);
            signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        }
        return { taskId, status: status(taskId), fileId: `file-${taskId}` };
      },
      async fetchResult(fileId) {
        fetched.push(fileId);
        return {
          parts: [
            {
              name: "content.mp3",
              audio: Buffer.alloc(64, 1),
              format: "mp3",
              subtitles: undefined,
              extra: { audio_length: 1000 },
            },
          ],
        };
      },
    },
  };
  return {
    provider,
    queries,
    fetched,
    hold() {
      gate = new Promise<void>(() => {});
    },
  };
}

/** A job as the store would hold it partway: `state` with its task created `elapsedMs` ago. */
function jobRecord(id: string, chars: number, elapsedMs: number, over: Partial<JobRecord> = {}): JobRecord {
  const now = Date.now();
  return JobRecordSchema.parse({
    id,
    state: "processing",
    requesterId: "u1",
    guildId: "g1",
    channelId: "c1",
    statusMessageId: `status-${id}`,
    input: { kind: "text", text: "x".repeat(chars) },
    settings: SETTINGS,
    chars,
    provider: "minimax",
    taskId: `task-${id}`,
    submitKey: `key-${id}`,
    holdId: `job:${id}`,
    createdAt: now - elapsedMs - 100,
    updatedAt: now,
    submittedAt: now - elapsedMs,
    polls: 1,
    nextAt: 0,
    ...over,
  });
}

async function setup(provider: TtsProvider, jobs: JobRecord[], options: JobRunnerOptions) {
  const kv = new MemoryKv();
  const speedStore = new MemoryKv();
  await learnedSpeed(speedStore);
  const logger = memoryLogger();
  const store = createJobStore(kv, { logger });
  for (const job of jobs) await store.put(job);
  const publisher = new MemoryPublisher();
  const ledger = new MemoryLedger();
  const runner = createJobRunner({
    store,
    publisher,
    provider,
    ledger,
    logger,
    speedStore,
    options: { ...FAST, ...options },
  });
  cleanups.push(() => runner.stop());
  return { store, publisher, runner };
}

describe("queries under the budget", () => {
  it("asks the jobs most likely done first when more are due than the budget allows", async () => {
    const scripted = scriptedProvider(() => "success");
    // At 10 ms/char: [expected, elapsed] → share of the expected time passed.
    const jobs = [
      jobRecord("halfway", 2000, 10_000), // 20 s, 10 s: 0.5
      jobRecord("twice", 500, 10_000), // 5 s, 10 s: 2
      jobRecord("thrice", 100, 3_000), // 1 s, 3 s: 3
      jobRecord("late", 1000, 12_000), // 10 s, 12 s: 1.2
      jobRecord("early", 1000, 1_000), // 10 s, 1 s: 0.1
    ];
    const { runner, publisher } = await setup(scripted.provider, jobs, { queryQps: 2 });
    await runner.start();
    await waitFor(() => publisher.posted.size === jobs.length || undefined, "every job posted");
    expect(scripted.queries.map((q) => q.taskId)).toEqual(
      ["thrice", "twice", "late", "halfway", "early"].map((id) => `task-${id}`),
    );
    // Never more than the budget in one window (the runner's window is 1.1 s, as the client's).
    const at = scripted.queries.map((q) => q.at);
    for (let i = 2; i < at.length; i++) expect(at[i]! - at[i - 2]!).toBeGreaterThanOrEqual(1_000);
  });

  it("the old plan asks first come, first asked (the benchmark's baseline)", async () => {
    const scripted = scriptedProvider(() => "success");
    const jobs = [jobRecord("a", 100, 3_000), jobRecord("b", 5000, 9_000), jobRecord("c", 10, 6_000)];
    const { runner, publisher } = await setup(scripted.provider, jobs, {
      queryQps: 1,
      pollPlan: { policy: "backoff" },
    });
    await runner.start();
    await waitFor(() => publisher.posted.size === jobs.length || undefined, "every job posted");
    expect(scripted.queries.map((q) => q.taskId)).toEqual(["task-b", "task-c", "task-a"]);
  });

  it("downloads and posting do not wait behind queries", async () => {
    const scripted = scriptedProvider(() => "processing");
    scripted.hold();
    const waiting = Array.from({ length: 6 }, (_, i) => jobRecord(`q${i}`, 100, 5_000));
    const ready = jobRecord("ready", 100, 5_000, { state: "downloading", resultFileId: "file-ready" });
    const { runner, publisher } = await setup(scripted.provider, [...waiting, ready], {
      queryQps: 3,
      concurrency: 1,
      stopTimeoutMs: 50,
    });
    await runner.start();
    await waitFor(() => publisher.posted.get("ready"), "the downloaded job posted", 3_000);
    expect(scripted.fetched).toEqual(["file-ready"]);
    // Meanwhile the query budget is spent on queries that have not answered, and no more start.
    await waitFor(() => runner.stats().inFlight === 3 || undefined, "only the queries in flight");
    await new Promise((r) => setTimeout(r, 1_200));
    expect(scripted.queries.length).toBe(3);
  });
});

describe("against the fake MiniMax, tasks taking 1 ms per character", () => {
  let mm: FakeMiniMax;
  beforeAll(async () => {
    mm = await startFakeMiniMax({
      rpm: 100_000,
      queryQps: 100_000,
      asyncProcessingMs: ({ chars }) => chars,
    });
  });
  afterAll(() => mm.close());

  const TEXT = "Every story has a beginning, a middle and an end. ".repeat(16).trim(); // 799 characters

  function bot(speedStore: MemoryKv, kv: MemoryKv) {
    const client = new MiniMaxClient({
      apiKey: "test-key",
      baseUrl: mm.url,
      downloads: { allowLoopback: true },
      retry: { retries: 0 },
      limiters: {
        synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
        query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      },
    });
    const provider = createMiniMaxProvider(client);
    const logger = memoryLogger();
    const store = createJobStore(kv, { logger });
    const publisher = new MemoryPublisher();
    const ledger = new MemoryLedger();
    const queries: QueryInfo[] = [];
    // No 120 ms ceiling here (FAST has one), so the first query can wait for the expected finish.
    const options = { ...FAST, maxPollMs: 5_000, onQuery: (q: QueryInfo) => queries.push(q) };
    const runner = createJobRunner({ store, publisher, provider, ledger, logger, speedStore, options });
    const service = createJobService({ store, publisher, provider, runner, ledger, logger });
    cleanups.push(async () => {
      await runner.stop();
      await client.close();
    });
    let n = 0;
    const narrate = async () => {
      const job = await service.create({
        reservation: ledger.reservation(`job:plan-${++n}-${Date.now()}`, TEXT.length),
        requesterId: "u1",
        guildId: "g1",
        channelId: "c1",
        input: { kind: "text", text: TEXT },
        settings: SETTINGS,
        chars: TEXT.length,
      });
      const done = await waitFor(async () => {
        const j = await store.get(job.id);
        return j?.state === "done" ? j : undefined;
      }, "done");
      return { done, queries: queries.filter((q) => q.jobId === job.id) };
    };
    return { runner, narrate };
  }

  it("learns the speed, asks first near the expected finish, and keeps the speed across a restart", async () => {
    expect(TEXT.length).toBe(799);
    const speedStore = new MemoryKv();
    const kv = new MemoryKv();
    const first = bot(speedStore, kv);
    await first.runner.start();
    // Nothing known: the backoff, from 30 ms.
    const cold = await first.narrate();
    expect(cold.queries[0]!.sinceSubmitMs).toBeLessThan(200);
    // Learned from that one: the first query comes shortly before the 799 ms.
    const warm = await first.narrate();
    expect(warm.queries[0]!.sinceSubmitMs).toBeGreaterThan(400);
    expect(warm.queries[0]!.sinceSubmitMs).toBeLessThan(900);
    expect(warm.queries.length).toBeLessThan(cold.queries.length);
    await first.runner.stop();

    // A new process over the same store: the first job is planned from the stored speed at once.
    const second = bot(speedStore, kv);
    await second.runner.start();
    const resumed = await second.narrate();
    expect(resumed.queries[0]!.sinceSubmitMs).toBeGreaterThan(400);
    expect(resumed.queries[0]!.sinceSubmitMs).toBeLessThan(900);
    expect(resumed.queries.at(-1)!.status).toBe("success");
    expect(resumed.queries.at(-1)!.sinceSubmitMs).toBeLessThan(799 + 500);
    expect(resumed.done.expectedAt! - resumed.done.submittedAt!).toBeGreaterThan(500);
  });
});
