import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { NarrationRequest } from "../../src/jobs/narrate.ts";
import type { JobRecord } from "../../src/jobs/types.ts";
import { PUMP_QUEUE } from "../../src/requests/pump-queue.ts";
import { createRequestService, type RequestService } from "../../src/requests/service.ts";
import { createRequestStore } from "../../src/requests/store.ts";
import type { RequestCards } from "../../src/requests/types.ts";
import { createGuildSettingsStore } from "../../src/settings/settings.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";

/**
 * The fair queue across processes: two request services (two bot processes) on one Redis, pumping the
 * same guild at once, never run more of its requests than `max_concurrent_jobs`, and start each once.
 */

const GUILD = "100000000000000001";
const MOD = { userId: "mod", guildId: GUILD, name: "Moderator Mia", isModerator: true };

let redis: RedisServer;
let run = 0;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** What the narration side saw, shared by the processes (jobs live in the shared store in the bot). */
interface Narrations {
  started: string[];
  jobs: Map<string, JobRecord>;
}

async function processOn(prefix: string, narrations: Narrations): Promise<RequestService> {
  const storage: Storage = await createStorage(redis.url);
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const guildSettings = createGuildSettingsStore(storage.keyv("guilds"));
  const cards: RequestCards = {
    post: async (r) => `card-${r.id}`,
    update: async () => undefined,
    notify: async () => undefined,
  };
  const service = createRequestService({
    store: createRequestStore(storage.keyv("requests")),
    cards,
    narration: {
      async checkStory() {},
      async start(req: NarrationRequest): Promise<JobRecord> {
        const id = req.jobId!;
        // Reserving characters and posting the status message take a while: room for a race.
        await sleep(40);
        narrations.started.push(id);
        const job = { id, state: "queued", guildId: GUILD, requesterId: req.actor.userId } as JobRecord;
        narrations.jobs.set(id, job);
        return job;
      },
    },
    guildSettings,
    jobs: { get: async (id) => narrations.jobs.get(id) },
    logger: { warn: () => undefined },
    fleet: { connection, prefix },
  });
  cleanups.push(async () => {
    await service.stop();
    await storage.close();
    connection.disconnect();
  });
  return service;
}

/** Until no pump run waits or runs anywhere in the fleet. */
async function drained(prefix: string): Promise<void> {
  const queue = new Queue(PUMP_QUEUE, { connection: { url: redis.url }, prefix });
  try {
    for (let quiet = 0; quiet < 3; ) {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "prioritized");
      quiet = Object.values(counts).every((n) => n === 0) ? quiet + 1 : 0;
      await sleep(30);
    }
  } finally {
    await queue.close();
  }
}

describe("the request pump across processes (BullMQ)", () => {
  it("keeps max_concurrent_jobs for the guild while two processes pump it at once", async () => {
    const prefix = `p${++run}`;
    const narrations: Narrations = { started: [], jobs: new Map() };
    const a = await processOn(prefix, narrations);
    const b = await processOn(prefix, narrations);
    const settings = createGuildSettingsStore((await createStorage(redis.url)).keyv("guilds"));
    await settings.update(GUILD, {
      channels: { requests: "200000000000000001", narration: "200000000000000002" },
      limits: { maxConcurrentJobs: 2 },
    });
    await a.resumeAll();
    await b.resumeAll();

    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const svc = i % 2 === 0 ? a : b;
      const r = await svc.submit({
        guildId: GUILD,
        requesterId: `member${i}`,
        requesterName: `Member ${i}`,
        channelId: "300000000000000000",
        title: `Story ${i}`,
        text: `Once upon a time, story ${i}.`,
        options: {},
      });
      ids.push(r.id);
    }
    // Approved from both processes at once; each approval pumps, and so do these extra calls.
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? a : b).approve(id, MOD)));
    await Promise.all([...Array(6)].map((_, i) => (i % 2 === 0 ? a : b).pump(GUILD)));
    await drained(prefix);

    expect(narrations.started).toHaveLength(2);
    expect(new Set(narrations.started).size).toBe(2);
    const running = (await a.list(GUILD, 20)).filter((r) => r.state === "running");
    expect(running).toHaveLength(2);

    // One ends, reported by the other process: exactly one more starts.
    const first = narrations.jobs.get(narrations.started[0]!)!;
    const ended = { ...first, state: "done", resultMessageIds: ["m1"], finishedAt: Date.now() } as JobRecord;
    narrations.jobs.set(first.id, ended);
    await Promise.all([b.onJobChange(ended), a.pump(GUILD), b.pump(GUILD)]);
    await drained(prefix);
    expect(narrations.started).toHaveLength(3);
    expect(new Set(narrations.started).size).toBe(3);
    expect((await b.list(GUILD, 20)).filter((r) => r.state === "running")).toHaveLength(2);
  });
});
