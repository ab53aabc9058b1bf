import { monitorEventLoopDelay } from "node:perf_hooks";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORK_QUEUE } from "../../src/jobs/bullmq-runner.ts";
import { createJobStore, type JobStore } from "../../src/jobs/store.ts";
import type { JobRecord } from "../../src/jobs/types.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Fleet, startFleet, waitFor } from "./fleet/harness.ts";

/**
 * Narration jobs in a fleet: 2 real bot processes (one shard each) on one real Redis, 4 guilds, jobs
 * on BullMQ. Every narration is created once and posted once in its own guild, whichever process
 * runs it; a process SIGKILLed while jobs are processing and downloading is taken over (and
 * restarted) without a text submitted twice or a result posted twice; the fake MiniMax, which sees
 * both processes, never sees its query budget exceeded.
 */

const LONG = "The quick brown fox jumps over the lazy dog. ".repeat(12).trim();
const CREATE = "/v1/t2a_async_v2";
const QUERY = "/v1/query/t2a_async_query_v2";
const QPS = 2;

let fleet: Fleet;
let storage: Storage;
let jobs: JobStore;

const loopDelay = monitorEventLoopDelay({ resolution: 10 });

beforeAll(async () => {
  loopDelay.enable();
  fleet = await startFleet({
    guilds: 4,
    shards: 2,
    processes: [{ SHARD_IDS: "0" }, { SHARD_IDS: "1" }],
    // A small query budget, so that 2 processes polling 8 jobs would exceed it if each kept its own.
    env: { SYNC_MAX_CHARS: "200", ASYNC_POLL_QPS: String(QPS) },
    // Short clips: the fake renders real audio in this test's process, and a busy event loop here would
    // skew the arrival times it records (and its own sliding window).
    minimax: { asyncProcessingMs: 2_500, queryQps: QPS, msPerChar: 2 },
  });
  storage = await createStorage(fleet.redis.url);
  jobs = createJobStore(storage.keyv("jobs"));
}, 120_000);

afterAll(async () => {
  await storage?.close();
  await fleet?.close();
}, 30_000);

const textChannel = (guild: number) => fleet.guild(guild).fixtures.channels.text.id;
const isResult = (jobId: string) => (m: FakeMessage) => m.content.includes(`-# job ${jobId}`);
const requests = (path: string) => fleet.minimax.requests.filter((r) => r.path === path);

/** The most requests of `path` that arrived within any `windowMs`. */
function maxInWindow(path: string, windowMs: number): number {
  const at = requests(path)
    .map((r) => r.at)
    .sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** `/narrate` in a guild; resolves with the job id from the private reply. */
async function narrate(guild: number, title: string): Promise<string> {
  const handle = fleet.command(guild, {
    name: "narrate",
    channelId: textChannel(guild),
    options: { title, text: `${title}. ${LONG}` },
  });
  const reply = await handle.waitForResponse((m) => m.content.includes("job `"), 20_000);
  const m = /job `([^`]+)`/.exec(reply.content);
  if (!m) throw new Error(`no job id in: ${reply.content}`);
  return m[1]!;
}

async function records(ids: string[]): Promise<JobRecord[]> {
  return (await Promise.all(ids.map((id) => jobs.get(id)))).filter((j): j is JobRecord => j !== undefined);
}

/** The job's stored record once `ok` holds (its result may be posted a moment before it is stored). */
async function waitForRecord(id: string, ok: (j: JobRecord) => boolean): Promise<JobRecord> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const job = await jobs.get(id);
    if (job && ok(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} is ${job?.state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every job's result in its guild's channel, each exactly once. */
async function expectPostedOnce(byGuild: Map<string, number>, timeoutMs: number): Promise<void> {
  const posted = (id: string) =>
    fleet
      .guild(byGuild.get(id)!)
      .messagesIn(textChannel(byGuild.get(id)!))
      .filter(isResult(id)).length;
  await waitFor(() => [...byGuild.keys()].every((id) => posted(id) >= 1), timeoutMs, "every result posted");
  for (const id of byGuild.keys()) expect(posted(id), `results of ${id}`).toBe(1);
  // And in no other guild.
  for (let g = 0; g < 4; g++) {
    const here = fleet
      .guild(g)
      .allMessages()
      .filter((m) => /-# job /.test(m.content));
    for (const m of here) {
      const id = /-# job (\S+)/.exec(m.content)![1]!;
      if (byGuild.has(id)) expect(byGuild.get(id)).toBe(g);
    }
  }
}

describe("narration jobs across a fleet (BullMQ on Redis)", () => {
  it("a narration in each of 4 guilds is created once and posted once", async () => {
    const byGuild = new Map<string, number>();
    for (let g = 0; g < 4; g++) byGuild.set(await narrate(g, `Guild ${g + 1} story`), g);
    await expectPostedOnce(byGuild, 45_000);
    expect(requests(CREATE)).toHaveLength(4);
    for (const id of byGuild.keys()) await waitForRecord(id, (j) => j.state === "done");
  });

  it("survives a process SIGKILLed mid-job: every job posted once, no text submitted twice", async () => {
    const createsBefore = requests(CREATE).length;
    const byGuild = new Map<string, number>();
    for (let i = 0; i < 8; i++) byGuild.set(await narrate(i % 4, `Kill story ${i + 1}`), i % 4);
    const ids = [...byGuild.keys()];
    // Every task created (no job is left between its two submit halves), some still processing.
    await waitFor(() => requests(CREATE).length === createsBefore + 8, 40_000, "8 tasks created");
    // Downloads slow down, so that jobs are caught downloading as well as processing.
    fleet.minimax.inject({ kind: "latency", ms: 4_000, route: "/oss/", times: 8 });
    // Process 1 is killed while it is downloading a result (and others are still processing).
    const work = new Queue(WORK_QUEUE, { connection: { url: fleet.redis.url } });
    const pid = fleet.bots[1]!.child.pid;
    let held: string | undefined;
    const deadline = Date.now() + 40_000;
    while (!held && Date.now() < deadline) {
      for (const active of await work.getActive()) {
        const job = await jobs.get(active.data.id);
        if (active.processedBy?.endsWith(`:${pid}`) && job?.state === "downloading") held = job.id;
      }
      if (!held) await new Promise((r) => setTimeout(r, 50));
    }
    await work.close();
    expect(held, "a job downloading in process 1").toBeDefined();
    expect((await records(ids)).some((j) => j.state === "processing" || j.state === "submitted")).toBe(true);
    await fleet.kill(1);
    await fleet.restart(1);

    await expectPostedOnce(byGuild, 90_000);
    // No text submitted twice: one task per narration, across both processes and the restart.
    expect(requests(CREATE)).toHaveLength(createsBefore + 8);
    const texts = requests(CREATE).map((r) => (r.json as { text?: string }).text);
    expect(new Set(texts).size).toBe(texts.length);
    for (const id of ids) {
      const job = await waitForRecord(id, (j) => j.state === "done");
      expect(job.state).toBe("done");
    }
  }, 180_000);

  it("kept MiniMax's query budget for the whole fleet in every window", () => {
    expect(requests(QUERY).length).toBeGreaterThan(QPS);
    // The fake counts arrivals in sliding seconds; it never had to refuse one.
    const at = requests(QUERY)
      .map((r) => r.at)
      .sort((x, y) => x - y);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(
      maxInWindow(QUERY, 1_000),
      `gaps between queries (ms): ${gaps.join(", ")}; loop delay max ${Math.round(loopDelay.max / 1e6)} ms`,
    ).toBeLessThanOrEqual(QPS);
    expect(maxInWindow(CREATE, 60_000)).toBeLessThanOrEqual(60);
  });
});
