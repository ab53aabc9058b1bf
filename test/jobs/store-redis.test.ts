import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJobStore } from "../../src/jobs/store.ts";
import { isFinal, type JobRecord } from "../../src/jobs/types.ts";
import type { AtomicUpdate, RecordKeyValue } from "../../src/storage/key-value.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";
import { SETTINGS } from "./helpers.ts";

/**
 * Job records shared by processes on Redis: two stores (two storages, two connections) writing at once
 * lose neither an index entry nor a change made by the other (compare-and-set, retried).
 */

let redis: RedisServer;
const storages: Storage[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());
afterEach(async () => {
  for (const s of storages.splice(0)) await s.close();
});

let run = 0;
async function kvOf(namespace: string) {
  const storage = await createStorage(redis.url);
  storages.push(storage);
  return storage.keyv(namespace);
}

function job(id: string, requesterId = "u1"): JobRecord {
  const t = Date.now();
  return {
    id,
    state: "queued",
    requesterId,
    guildId: "g1",
    channelId: "c1",
    input: { kind: "text", text: "Hello there." },
    settings: SETTINGS,
    chars: 12,
    provider: "minimax",
    retries: 0,
    createdAt: t,
    updatedAt: t,
    attempts: 0,
    polls: 0,
    nextAt: t,
  };
}

describe("job store on Redis, two processes", () => {
  it("keeps every job in the active index and the member's list when both create at once", async () => {
    const ns = `jobs${++run}`;
    const a = createJobStore(await kvOf(ns));
    const b = createJobStore(await kvOf(ns));
    const ids = Array.from({ length: 40 }, (_, i) => `job${i}`);
    await Promise.all(ids.map((id, i) => (i % 2 === 0 ? a : b).put(job(id))));
    expect((await a.listActive()).map((j) => j.id).sort()).toEqual([...ids].sort());
    expect((await b.listByUser("u1", 50)).map((j) => j.id).sort()).toEqual([...ids].sort());
  });

  it("does not overwrite a cancel made by the other process while a step was being stored", async () => {
    const ns = `jobs${++run}`;
    const inner = await kvOf(ns);
    let beforeWrite: (() => Promise<unknown>) | undefined;
    // The step's process: its write of the record waits until the other process has cancelled.
    const slow: RecordKeyValue & AtomicUpdate = {
      get: (k) => inner.get(k),
      set: (k, v, ttl) => inner.set(k, v, ttl),
      update: async (k, change) => {
        if (k === "job:j1" && beforeWrite) {
          const hook = beforeWrite;
          beforeWrite = undefined;
          await hook();
        }
        return inner.update!(k, change);
      },
    };
    const worker = createJobStore(slow);
    const other = createJobStore(await kvOf(ns));
    await worker.put(job("j1"));
    beforeWrite = () =>
      other.update("j1", (cur) => cur && { ...cur, state: "cancelled", finishedAt: Date.now() });
    const stored = await worker.update("j1", (cur) =>
      !cur || isFinal(cur.state) ? undefined : { ...cur, state: "submitted", taskId: "42" },
    );
    // Read again after the conflict, found cancelled, and left alone.
    expect(stored).toBeUndefined();
    expect(await other.get("j1")).toMatchObject({ state: "cancelled" });
    expect((await other.get("j1"))?.taskId).toBeUndefined();
    expect(await other.listActive()).toEqual([]);
  });
});
