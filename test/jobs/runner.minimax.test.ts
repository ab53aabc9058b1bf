import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createJobRunner, type JobRunnerOptions } from "../../src/jobs/runner.ts";
import { createJobService } from "../../src/jobs/service.ts";
import { createJobStore } from "../../src/jobs/store.ts";
import type { JobRecord } from "../../src/jobs/types.ts";
import { RateLimiter } from "../../src/providers/http/rate-limiter.ts";
import { MiniMaxClient } from "../../src/providers/minimax/client.ts";
import { createMiniMaxProvider } from "../../src/providers/minimax/provider.ts";
import type { JobInput } from "../../src/text/narration-input.ts";
import { parseTitles, toSrt } from "../../src/text/subtitles.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { FAST, MemoryKv, MemoryLedger, MemoryPublisher, memoryLogger, SETTINGS, waitFor } from "./helpers.ts";

/** The job runner end to end: real MiniMax client and provider, fake MiniMax over loopback HTTP. */

const TEXT = "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen.";
const QUERY = "/v1/query/t2a_async_query_v2";
const CREATE = "/v1/t2a_async_v2";
const CONTENT = "/v1/files/retrieve_content";

let mm: FakeMiniMax;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  mm = await startFakeMiniMax({ rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 250 });
});
afterAll(() => mm.close());
beforeEach(() => mm.reset());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface SetupOptions {
  fake?: FakeMiniMax;
  kv?: MemoryKv;
  publisher?: MemoryPublisher;
  options?: JobRunnerOptions;
  now?: () => number;
  ledger?: MemoryLedger;
}

/** One "process": client, provider, store, runner and service over a shared store and publisher. */
function setup(over: SetupOptions = {}) {
  const fake = over.fake ?? mm;
  const client = new MiniMaxClient({
    apiKey: "test-key",
    baseUrl: fake.url,
    downloads: { allowLoopback: true },
    // The runner's own retries are under test, so the client gives up at once.
    retry: { retries: 0 },
    limiters: {
      synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
    },
  });
  const provider = createMiniMaxProvider(client);
  const logger = memoryLogger();
  const kv = over.kv ?? new MemoryKv();
  const store = createJobStore(kv, { logger });
  const publisher = over.publisher ?? new MemoryPublisher();
  const ledger = over.ledger ?? new MemoryLedger();
  const runner = createJobRunner({
    store,
    publisher,
    provider,
    ledger,
    logger,
    now: over.now,
    options: { ...FAST, ...over.options },
  });
  const service = createJobService({ store, publisher, provider, runner, ledger, logger, now: over.now });
  cleanups.push(async () => {
    await runner.stop();
    await client.close();
  });
  return { client, provider, logger, kv, store, publisher, runner, service, ledger };
}

let holds = 0;

function create(
  service: ReturnType<typeof setup>["service"],
  input: JobInput = { kind: "text", text: TEXT },
  ledger = new MemoryLedger(),
) {
  return service.create({
    reservation: ledger.reservation(`job:test${++holds}`, TEXT.length),
    requesterId: "u1",
    guildId: "g1",
    channelId: "c1",
    title: "Chapter One: April",
    input,
    settings: SETTINGS,
    chars: TEXT.length,
  });
}

async function until(
  store: { get(id: string): Promise<JobRecord | undefined> },
  id: string,
  ok: (j: JobRecord) => boolean,
  what: string,
): Promise<JobRecord> {
  return waitFor(async () => {
    const j = await store.get(id);
    return j && ok(j) ? j : undefined;
  }, what);
}

const finished = (store: Parameters<typeof until>[0], id: string) =>
  until(store, id, (j) => ["done", "failed", "cancelled", "expired"].includes(j.state), "a final state");

const calls = (path: string, fake = mm) => fake.requests.filter((r) => r.path === path).length;
const downloads = (fake = mm) => fake.requests.filter((r) => r.path.startsWith("/oss/")).length;

function resultEntry(job: JobRecord, ext: string): Buffer {
  const entries = mm.tasks.get(Number(job.taskId))?.result ?? [];
  const entry = entries.find((e) => e.name.endsWith(ext));
  if (!entry?.content) throw new Error(`no ${ext} entry in the task's result`);
  return Buffer.from(entry.content);
}

describe("job runner against the fake MiniMax", () => {
  it("narrates a text: posts the tar's audio and its subtitles as SRT, then ends done", async () => {
    const { service, runner, publisher, store } = setup();
    await runner.start();
    const job = await create(service);
    expect(job).toMatchObject({ state: "queued", statusMessageId: `status-${job.id}`, provider: "minimax" });

    const done = await finished(store, job.id);
    expect(done.state).toBe("done");
    expect(done).toMatchObject({ resultMessageIds: [`result-${job.id}`], usageCharacters: TEXT.length });
    expect(done.finishedAt).toBeGreaterThanOrEqual(done.submittedAt!);
    // The query names a different file than the create call; the query's must win.
    expect(done.resultFileId).toBe(String(mm.tasks.get(Number(done.taskId))!.result_file_id));

    const posted = publisher.posted.get(job.id)!;
    expect(posted.files.map((f) => f.name)).toEqual(["chapter-one-april.mp3", "chapter-one-april.srt"]);
    expect(posted.files[0]!.contentType).toBe("audio/mpeg");
    expect(posted.files[0]!.data.equals(resultEntry(done, ".mp3"))).toBe(true);
    const titles = parseTitles(JSON.parse(resultEntry(done, ".titles").toString("utf8")));
    expect(posted.files[1]!.data.toString("utf8")).toBe(toSrt(titles));
    expect(posted.files[1]!.data.toString("utf8")).toMatch(
      /^1\n00:00:00,000 --> 00:00:\d\d,\d{3}\nChapter one\./,
    );
    expect(posted.text).toContain("<@u1>");
    expect(posted.text).toContain("Chapter One: April");
    expect(posted.text).toMatch(/\d:\d\d · 86 characters/);

    const states = publisher.statesOf(job.id);
    expect(states[0]).toBe("submitted");
    expect(states.slice(-3)).toEqual(["downloading", "posting", "done"]);
    expect(await store.listActive()).toEqual([]);
    expect(publisher.postCalls).toEqual([job.id]);
    const stats = runner.stats();
    expect(stats.queries).toBe(calls(QUERY));
    expect(stats.byState.done).toBe(1);
    expect(stats.byState.processing).toBe(0);
  });

  it("backs off adaptively between polls of one job", async () => {
    const polls: number[] = [];
    const { service, runner, store } = setup({
      options: { firstPollMs: 20, maxPollMs: 60, onQuery: (q) => polls.push(q.sinceSubmitMs) },
    });
    await runner.start();
    const job = await create(service);
    await finished(store, job.id);
    const gaps = polls.slice(1).map((t, i) => t - polls[i]!);
    expect(polls[0]).toBeGreaterThanOrEqual(20);
    // 30, 45, 60, 60…: growing, then capped (timers only ever fire late, hence the lower bounds).
    expect(gaps[0]).toBeGreaterThanOrEqual(30);
    expect(gaps[1]).toBeGreaterThanOrEqual(45);
    expect(Math.max(...gaps)).toBeLessThan(60 + 150);
  });

  it("uploads a file input once, creates the task with text_file_id and drops the bytes", async () => {
    const { service, runner, store } = setup();
    await runner.start();
    const contentBase64 = Buffer.from(TEXT, "utf8").toString("base64");
    const job = await create(service, { kind: "file", fileName: "book.txt", contentBase64 });
    const done = await finished(store, job.id);
    expect(done.state).toBe("done");
    expect(calls("/v1/files/upload")).toBe(1);
    const body = mm.requests.find((r) => r.path === CREATE)!.json as Record<string, unknown>;
    // The uploaded file's id went into the task; the finished job keeps no input, only its size.
    const uploaded = mm.requests.filter((r) => r.path === "/v1/files/upload").length;
    expect(uploaded).toBe(1);
    expect(body.text_file_id).toEqual(expect.anything());
    expect(done.input).toEqual({ kind: "dropped", chars: done.chars, fileName: "book.txt" });
    expect(body.text).toBeUndefined();
  });

  it("resumes a processing job in a new runner and posts it exactly once", async () => {
    const kv = new MemoryKv();
    const publisher = new MemoryPublisher();
    const first = setup({ kv, publisher });
    await first.runner.start();
    const job = await create(first.service);
    await until(first.store, job.id, (j) => j.state === "processing", "processing");
    await first.runner.stop();
    const between = await first.store.get(job.id);
    expect(["processing", "downloading"]).toContain(between!.state);
    expect(publisher.postCalls).toEqual([]);

    const second = setup({ kv, publisher });
    await second.runner.start();
    const done = await finished(second.store, job.id);
    expect(done.state).toBe("done");
    expect(done.taskId).toBe(between!.taskId);
    expect(calls(CREATE)).toBe(1);
    expect(publisher.postCalls).toEqual([job.id]);
  });

  it("after a crash while posting, the next runner posts again and the result exists once", async () => {
    const kv = new MemoryKv();
    const publisher = new MemoryPublisher();
    publisher.crashAfterSend = 1;
    // A long retry delay stands in for the process dying before it could try again.
    const first = setup({ kv, publisher, options: { retryBaseMs: 60_000, retryMaxMs: 60_000 } });
    await first.runner.start();
    const job = await create(first.service);
    const crashed = await until(
      first.store,
      job.id,
      (j) => j.state === "posting" && j.attempts === 1,
      "crash",
    );
    expect(crashed.lastError).toMatchObject({ kind: "unexpected" });
    await first.runner.stop();
    expect(downloads()).toBe(1);

    const later = () => Date.now() + 120_000;
    const second = setup({ kv, publisher, now: later });
    await second.runner.start();
    const done = await finished(second.store, job.id);
    expect(done.state).toBe("done");
    expect(done.resultMessageIds).toEqual([`result-${job.id}`]);
    expect(publisher.postCalls).toEqual([job.id, job.id]);
    expect(publisher.posted.size).toBe(1);
    // The audio is not stored: the second runner downloaded the result again.
    expect(downloads()).toBe(2);
  });

  it("retries query failures (HTTP 5xx, 1002) with backoff and then finishes", async () => {
    const { service, runner, store, logger } = setup();
    mm.inject({ kind: "http", status: 502, route: QUERY, times: 2 });
    mm.inject({ kind: "baseResp", code: 1002, route: QUERY, times: 1 });
    await runner.start();
    const job = await create(service);
    const done = await finished(store, job.id);
    expect(done.state).toBe("done");
    expect(done.lastError).toBeUndefined();
    const retried = logger.lines.filter((l) => (l.obj as { kind?: string }).kind === "retryable");
    expect(retried).toHaveLength(3);
    expect(retried.map((l) => (l.obj as { code?: number }).code)).toContain(1002);
  });

  it("gives up after maxAttempts retryable failures", async () => {
    const { service, runner, store } = setup({ options: { maxAttempts: 3 } });
    mm.inject({ kind: "http", status: 503, route: QUERY, times: 10 });
    await runner.start();
    const job = await create(service);
    const failed = await finished(store, job.id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError).toEqual({
      kind: "retryable",
      message: expect.stringMatching(/temporary problem/),
    });
    expect(calls(QUERY)).toBe(3);
  });

  it("a Failed task fails the job with a reason and posts nothing", async () => {
    const { service, runner, store, publisher } = setup();
    mm.inject({ kind: "taskFailed" });
    await runner.start();
    const job = await create(service);
    const failed = await finished(store, job.id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError?.message).toMatch(/task failed/);
    expect(publisher.postCalls).toEqual([]);
    expect(publisher.statesOf(job.id).at(-1)).toBe("failed");
  });

  it("an Expired task ends the job as expired", async () => {
    const { service, runner, store } = setup();
    mm.inject({ kind: "taskExpired" });
    await runner.start();
    const job = await create(service);
    const expired = await finished(store, job.id);
    expect(expired.state).toBe("expired");
    expect(expired.lastError?.kind).toBe("expired");
  });

  it.each(["traversal", "oversized"] as const)(
    "a malicious result tar (%s) fails the job cleanly",
    async (variant) => {
      const { service, runner, store, logger, publisher } = setup();
      mm.inject({ kind: "tar", variant });
      await runner.start();
      const job = await create(service);
      const failed = await finished(store, job.id);
      expect(failed.state).toBe("failed");
      expect(failed.lastError).toEqual({
        kind: "upstream",
        message: "The speech service failed to produce audio.",
      });
      expect(JSON.stringify(logger.lines)).toMatch(/archive rejected/);
      expect(publisher.postCalls).toEqual([]);
    },
  );

  it("a truncated download is retried; truncated every time it fails as a transient problem", async () => {
    const once = setup();
    mm.inject({ kind: "truncate", route: "/oss/", times: 1 });
    mm.inject({ kind: "truncate", route: CONTENT, times: 1 });
    await once.runner.start();
    const ok = await finished(once.store, (await create(once.service)).id);
    expect(ok.state).toBe("done");

    mm.reset();
    const always = setup({ options: { maxAttempts: 2 } });
    mm.inject({ kind: "truncate", route: "/oss/", times: 50 });
    mm.inject({ kind: "truncate", route: CONTENT, times: 50 });
    await always.runner.start();
    const failed = await finished(always.store, (await create(always.service)).id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError?.kind).toBe("retryable");
    expect(always.publisher.postCalls).toEqual([]);
  });

  describe("with download URLs that are already expired", () => {
    let stale: FakeMiniMax;
    beforeAll(async () => {
      stale = await startFakeMiniMax({
        rpm: 100_000,
        queryQps: 100_000,
        asyncProcessingMs: 50,
        downloadUrlTtlMs: 0,
      });
    });
    afterAll(() => stale.close());
    beforeEach(() => stale.reset());

    it("falls back to retrieve_content and finishes", async () => {
      const { service, runner, store } = setup({ fake: stale });
      await runner.start();
      const done = await finished(store, (await create(service)).id);
      expect(done.state).toBe("done");
      expect(calls(CONTENT, stale)).toBe(1);
    });

    it("ends expired when retrieve_content fails too", async () => {
      const { service, runner, store } = setup({ fake: stale });
      stale.inject({ kind: "http", status: 500, route: CONTENT, times: 1 });
      await runner.start();
      const expired = await finished(store, (await create(service)).id);
      expect(expired.state).toBe("expired");
      expect(expired.lastError?.message).toMatch(/expired/);
    });
  });

  it("cancelling a queued job means nothing is ever sent to MiniMax", async () => {
    const { service, runner, store, publisher } = setup();
    const job = await create(service);
    await expect(service.cancel(job.id, { userId: "someone-else", guildId: "g1" })).rejects.toThrow(
      /Only the person/,
    );
    const cancelled = await service.cancel(job.id, { userId: "u1", guildId: "g1" });
    expect(cancelled).toMatchObject({ state: "cancelled", finishedAt: expect.any(Number) });
    await runner.start();
    await new Promise((r) => setTimeout(r, 150));
    expect(calls(CREATE)).toBe(0);
    expect((await store.get(job.id))!.state).toBe("cancelled");
    expect(publisher.statesOf(job.id)).toEqual(["cancelled"]);
    await expect(service.cancel(job.id, { userId: "u1", guildId: "g1" })).rejects.toThrow(
      /already ended \(cancelled\)/,
    );
  });

  it("cancelling while processing stops polling and posts nothing", async () => {
    const { service, runner, store, publisher } = setup();
    await runner.start();
    const job = await create(service);
    await until(store, job.id, (j) => j.state === "processing", "processing");
    await service.cancel(job.id, { userId: "mod", guildId: "g1", isModerator: true });
    const queries = calls(QUERY);
    await new Promise((r) => setTimeout(r, 400));
    expect((await store.get(job.id))!.state).toBe("cancelled");
    // At most the query already in flight when the cancel landed.
    expect(calls(QUERY) - queries).toBeLessThanOrEqual(1);
    expect(downloads()).toBe(0);
    expect(publisher.postCalls).toEqual([]);
    expect(runner.stats().byState.processing).toBe(0);
  });

  it("retries a failed job from the start when its requester asks", async () => {
    const { service, runner, store, publisher } = setup();
    mm.inject({ kind: "taskFailed" });
    await runner.start();
    const job = await create(service);
    const failed = await finished(store, job.id);
    expect(failed.state).toBe("failed");
    await expect(
      service.retry(job.id, { userId: "someone-else", guildId: "g1" }, new MemoryLedger().reservation("r1")),
    ).rejects.toThrow(/Only the person/);

    const retried = await service.retry(
      job.id,
      { userId: "u1", guildId: "g1" },
      new MemoryLedger().reservation("r2"),
    );
    expect(retried).toMatchObject({ state: "queued", attempts: 0, polls: 0 });
    expect(retried.taskId).toBeUndefined();
    expect(retried.lastError).toBeUndefined();
    const done = await until(store, job.id, (j) => j.state === "done", "done after retry");
    expect(done.taskId).not.toBe(failed.taskId);
    expect(calls(CREATE)).toBe(2);
    expect(publisher.postCalls).toEqual([job.id]);
    await expect(
      service.retry(job.id, { userId: "u1", guildId: "g1" }, new MemoryLedger().reservation("r3")),
    ).rejects.toThrow(/Only a failed or expired/);
  });
});

/** A store whose next N writes of a record matching `when` fail, as a dropped Redis connection would. */
class FlakyKv extends MemoryKv {
  failures = 0;
  when: (value: unknown) => boolean = () => true;
  override async set(key: string, value: unknown): Promise<boolean> {
    if (this.failures > 0 && key.startsWith("job:") && this.when(value)) {
      this.failures--;
      throw new Error("store unavailable");
    }
    return super.set(key, value);
  }
}

describe("paid work happens once, and is billed once", () => {
  it("the store failing right after createTask: the task in hand is stored later, never created again", async () => {
    const kv = new FlakyKv();
    kv.failures = 2;
    kv.when = (v) => typeof (v as JobRecord).taskId === "string";
    const ledger = new MemoryLedger();
    const { service, runner, store, logger } = setup({ kv, ledger });
    await runner.start();
    const job = await create(service, undefined, ledger);
    const done = await finished(store, job.id);
    expect(done.state).toBe("done");
    expect(calls(CREATE)).toBe(1);
    expect(logger.lines.some((l) => l.msg?.includes("could not be stored"))).toBe(true);
    expect(ledger.settled.get(job.holdId!)).toBe(TEXT.length);
  });

  it("a job killed between its submit mark and createTask is not sent again on restart, and is billed", async () => {
    const kv = new MemoryKv();
    const ledger = new MemoryLedger();
    const first = setup({ kv, ledger });
    const job = await create(first.service, undefined, ledger);
    // What a process killed during createTask leaves behind: the mark, no task id.
    await first.store.update(job.id, (cur) => cur && { ...cur, submitKey: "k1" });
    const second = setup({ kv, ledger });
    await second.runner.start();
    const failed = await finished(second.store, job.id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError?.message).toMatch(/not paid for twice/);
    expect(calls(CREATE)).toBe(0);
    // It may have reached MiniMax, so it counts: once.
    expect(ledger.settled.get(job.holdId!)).toBe(TEXT.length);
  });

  it("a job killed before its submit mark is sent normally on restart", async () => {
    const kv = new MemoryKv();
    const first = setup({ kv });
    const job = await create(first.service);
    const second = setup({ kv });
    await second.runner.start();
    expect((await finished(second.store, job.id)).state).toBe("done");
    expect(calls(CREATE)).toBe(1);
  });

  it("a job cancelled before it was sent is not billed; one cancelled while processing is", async () => {
    const ledger = new MemoryLedger();
    const { service, runner, store } = setup({ ledger });
    const queued = await create(service, undefined, ledger);
    await service.cancel(queued.id, { userId: "u1", guildId: "g1" });
    expect(ledger.released.has(queued.holdId!)).toBe(true);

    await runner.start();
    const running = await create(service, undefined, ledger);
    await until(store, running.id, (j) => j.state === "processing", "processing");
    await service.cancel(running.id, { userId: "u1", guildId: "g1" });
    expect(ledger.settled.get(running.holdId!)).toBe(TEXT.length);
  });

  it("a task MiniMax failed is still billed (it was charged)", async () => {
    const ledger = new MemoryLedger();
    const { service, runner, store } = setup({ ledger });
    mm.inject({ kind: "taskFailed" });
    await runner.start();
    const job = await create(service, undefined, ledger);
    expect((await finished(store, job.id)).state).toBe("failed");
    expect(ledger.settled.get(job.holdId!)).toBe(TEXT.length);
  });

  it("the ledger failing at the end delays the final state; the job is billed once and posted once", async () => {
    const ledger = new MemoryLedger();
    const { service, runner, store, publisher } = setup({ ledger });
    await runner.start();
    // The ledger is only called when the job ends: its first settle fails.
    ledger.failNext = 1;
    const job = await create(service, undefined, ledger);
    const done = await finished(store, job.id);
    expect(done.state).toBe("done");
    expect(ledger.failNext).toBe(0);
    expect(ledger.settled.get(job.holdId!)).toBe(TEXT.length);
    expect(publisher.postCalls.length).toBeGreaterThanOrEqual(1);
    expect(publisher.posted.size).toBe(1);
  });

  it("a moderator of another server can neither cancel, show nor retry a job", async () => {
    const { service } = setup();
    const job = await create(service);
    const outsider = { userId: "mod-b", guildId: "g2", isModerator: true };
    await expect(service.cancel(job.id, outsider)).rejects.toThrow(/no narration job/);
    await expect(service.show(job.id, outsider)).rejects.toThrow(/no job/);
    await expect(service.retry(job.id, outsider, new MemoryLedger().reservation("x"))).rejects.toThrow(
      /no narration job/,
    );
    const inside = { userId: "mod-a", guildId: "g1", isModerator: true };
    expect((await service.show(job.id, inside)).id).toBe(job.id);
    expect((await service.cancel(job.id, inside)).state).toBe("cancelled");
  });
});
