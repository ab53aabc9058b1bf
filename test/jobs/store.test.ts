import { describe, expect, it } from "vitest";
import { createJobStore } from "../../src/jobs/store.ts";
import type { JobRecord, JobState } from "../../src/jobs/types.ts";
import type { RecordKeyValue } from "../../src/storage/key-value.ts";
import { createStorage } from "../../src/storage/storage.ts";
import { MemoryKv, memoryLogger, SETTINGS } from "./helpers.ts";

/** MemoryKv with Keyv's TTL: values expire on a clock the test moves. Records the TTL of each set. */
class TtlKv implements RecordKeyValue {
  clock = 0;
  readonly data = new Map<string, { json: string; expires: number | undefined }>();
  readonly ttls = new Map<string, number | undefined>();
  async get(key: string): Promise<unknown> {
    const entry = this.data.get(key);
    if (!entry) return undefined;
    if (entry.expires !== undefined && entry.expires <= this.clock) {
      this.data.delete(key);
      return undefined;
    }
    return JSON.parse(entry.json);
  }
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.data.set(key, { json: JSON.stringify(value), expires: ttl ? this.clock + ttl : undefined });
    this.ttls.set(key, ttl);
    return true;
  }
}

const DAY = 86_400_000;

function record(id: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    state: "queued",
    requesterId: "u1",
    guildId: null,
    channelId: "c1",
    input: { kind: "text", text: "hello" },
    settings: SETTINGS,
    chars: 5,
    provider: "minimax",
    createdAt: 1000,
    updatedAt: 1000,
    attempts: 0,
    retries: 0,
    polls: 0,
    nextAt: 0,
    ...over,
  };
}

const ids = (jobs: JobRecord[]) => jobs.map((j) => j.id);

describe("job store", () => {
  it("stores validated copies and stamps updatedAt", async () => {
    const store = createJobStore(new MemoryKv(), { now: () => 5000 });
    const stored = await store.put(record("a"));
    expect(stored.updatedAt).toBe(5000);
    expect(await store.get("a")).toEqual(stored);
    expect(await store.get("missing")).toBeUndefined();
    await expect(store.put({ ...record("b"), chars: -1 })).rejects.toThrow();
    expect(await store.get("b")).toBeUndefined();
  });

  it("keeps the active index in step with every state change", async () => {
    const kv = new MemoryKv();
    const store = createJobStore(kv);
    await store.put(record("a", { createdAt: 1 }));
    await store.put(record("b", { createdAt: 2 }));
    await store.put(record("c", { createdAt: 3, state: "processing" }));
    expect(ids(await store.listActive())).toEqual(["a", "b", "c"]);

    for (const state of ["done", "failed", "cancelled", "expired"] as JobState[]) {
      await store.put(record("b", { createdAt: 2, state }));
      expect(ids(await store.listActive())).toEqual(["a", "c"]);
    }
    await store.put(record("b", { createdAt: 2, state: "queued" }));
    expect(ids(await store.listActive())).toEqual(["a", "b", "c"]);
    await store.update("c", (cur) => cur && { ...cur, state: "done" });
    expect(ids(await store.listActive())).toEqual(["a", "b"]);
    expect(await kv.get("index:active")).toEqual(["a", "b"]);
  });

  it("concurrent writes do not lose each other's index entries", async () => {
    const kv = new MemoryKv();
    const store = createJobStore(kv);
    const n = 40;
    await Promise.all(Array.from({ length: n }, (_, i) => store.put(record(`j${i}`, { createdAt: i }))));
    expect(await store.listActive()).toHaveLength(n);
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.put(record(`j${i}`, { createdAt: i, state: i % 2 ? "done" : "posting" })),
      ),
    );
    expect(ids(await store.listActive())).toEqual(Array.from({ length: n / 2 }, (_, i) => `j${i * 2}`));
  });

  it("skips (and logs) a record that fails validation, and prunes it from the index", async () => {
    const kv = new MemoryKv();
    const logger = memoryLogger();
    const store = createJobStore(kv, { logger });
    await store.put(record("good"));
    await store.put(record("bad"));
    await kv.set("job:bad", { id: "bad", state: "weird" });
    expect(await store.get("bad")).toBeUndefined();
    expect(ids(await store.listActive())).toEqual(["good"]);
    expect(await kv.get("index:active")).toEqual(["good"]);
    expect(
      logger.lines.some((l) => l.level === "warn" && (l.obj as { jobId?: string }).jobId === "bad"),
    ).toBe(true);
  });

  it("recovers an index left stale by a crash between writes", async () => {
    const kv = new MemoryKv();
    const store = createJobStore(kv);
    await store.put(record("a"));
    // As if the process died after storing the final record but before updating the index.
    await kv.set("job:a", { ...((await kv.get("job:a")) as object), state: "done" });
    await kv.set("index:active", ["a", "ghost"]);
    expect(await store.listActive()).toEqual([]);
    expect(await kv.get("index:active")).toEqual([]);
  });

  it("lists a user's jobs newest first, bounded", async () => {
    const store = createJobStore(new MemoryKv(), { perUserIndex: 3 });
    for (let i = 0; i < 5; i++) await store.put(record(`j${i}`, { createdAt: i }));
    await store.put(record("other", { requesterId: "u2" }));
    await store.put(record("j4", { createdAt: 4, state: "done" }));
    expect(ids(await store.listByUser("u1", 10))).toEqual(["j4", "j3", "j2"]);
    expect(ids(await store.listByUser("u1", 2))).toEqual(["j4", "j3"]);
    expect(ids(await store.listByUser("u2"))).toEqual(["other"]);
    expect(await store.listByUser("nobody")).toEqual([]);
  });

  it("update leaves the record alone when the change returns undefined", async () => {
    const store = createJobStore(new MemoryKv(), { now: () => 7 });
    await store.put(record("a"));
    expect(await store.update("a", () => undefined)).toBeUndefined();
    expect(await store.update("missing", (cur) => cur)).toBeUndefined();
    expect((await store.get("a"))!.state).toBe("queued");
  });

  it("makes short ids safe for custom ids, URLs and nonces", () => {
    const store = createJobStore(new MemoryKv());
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = store.newId();
      expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(1000);
  });

  describe("bounded growth", () => {
    it("drops the input of done and cancelled jobs, and keeps it for failed and expired ones (Retry)", async () => {
      const store = createJobStore(new MemoryKv());
      const file = { kind: "file" as const, fileName: "book.zip", contentBase64: "UEsDBA==" };
      for (const state of ["done", "cancelled"] as JobState[]) {
        const stored = await store.put(record(`t-${state}`, { state }));
        expect(stored.input).toEqual({ kind: "dropped", chars: 5 });
        expect((await store.get(`t-${state}`))?.input).toEqual({ kind: "dropped", chars: 5 });
        await store.put(record(`f-${state}`, { state, input: file, chars: 9 }));
        expect((await store.get(`f-${state}`))?.input).toEqual({
          kind: "dropped",
          chars: 9,
          fileName: "book.zip",
        });
      }
      for (const state of ["failed", "expired", "processing"] as JobState[]) {
        await store.put(record(`t-${state}`, { state }));
        expect((await store.get(`t-${state}`))?.input).toEqual({ kind: "text", text: "hello" });
      }
      // A dropped record stays readable and writable (a status message id set after the end).
      const updated = await store.update("t-done", (cur) => cur && { ...cur, statusMessageId: "m1" });
      expect(updated).toMatchObject({ statusMessageId: "m1", input: { kind: "dropped" } });
    });

    it("stores final jobs with the record TTL, and a retried one without it again", async () => {
      const kv = new TtlKv();
      const store = createJobStore(kv, { recordTtlMs: 30 * DAY });
      await store.put(record("a"));
      expect(kv.ttls.get("job:a")).toBeUndefined();
      expect(kv.ttls.get("index:user:u1")).toBe(30 * DAY);
      for (const state of ["done", "failed", "cancelled", "expired"] as JobState[]) {
        await store.put(record(`j-${state}`, { state }));
        expect(kv.ttls.get(`job:j-${state}`)).toBe(30 * DAY);
      }
      await store.update("j-failed", (cur) => cur && { ...cur, state: "queued" });
      expect(kv.ttls.get("job:j-failed")).toBeUndefined();
      expect((await store.get("j-failed"))?.input).toEqual({ kind: "text", text: "hello" });
      // The active index never expires: a restart must find every unfinished job.
      expect(kv.ttls.get("index:active")).toBeUndefined();
    });

    it("forgets expired jobs and prunes them from the user's index on read", async () => {
      const kv = new TtlKv();
      const store = createJobStore(kv, { recordTtlMs: 30 * DAY });
      await store.put(record("old", { createdAt: 1, state: "done" }));
      kv.clock = 10 * DAY;
      await store.put(record("newer", { createdAt: 2, state: "failed" }));
      await store.put(record("running", { createdAt: 3, state: "processing" }));
      expect(ids(await store.listByUser("u1"))).toEqual(["running", "newer", "old"]);

      kv.clock = 31 * DAY;
      expect(await store.get("old")).toBeUndefined();
      expect(ids(await store.listByUser("u1"))).toEqual(["running", "newer"]);
      expect(await kv.get("index:user:u1")).toEqual(["newer", "running"]);
      // Unfinished jobs never expire.
      expect((await store.get("running"))?.state).toBe("processing");

      await store.update("running", (cur) => cur && { ...cur, state: "done" });
      kv.clock = 41 * DAY;
      expect(ids(await store.listByUser("u1"))).toEqual(["running"]);
      // Every record gone, and the index with them (its TTL restarted with its last write).
      kv.clock = 72 * DAY;
      expect(await kv.get("index:user:u1")).toBeUndefined();
      expect(ids(await store.listByUser("u1"))).toEqual([]);
    });

    it("keeps the user's index capped while pruning", async () => {
      const kv = new MemoryKv();
      const store = createJobStore(kv, { perUserIndex: 3 });
      for (let i = 0; i < 5; i++) await store.put(record(`j${i}`, { createdAt: i }));
      expect(await kv.get("index:user:u1")).toEqual(["j2", "j3", "j4"]);
      kv.data.delete("job:j3");
      expect(ids(await store.listByUser("u1"))).toEqual(["j4", "j2"]);
      expect(await kv.get("index:user:u1")).toEqual(["j2", "j4"]);
    });

    it("lets Keyv expire a final job in the real store", async () => {
      const storage = await createStorage("sqlite://:memory:");
      try {
        const kv = storage.keyv("jobs");
        const brief = createJobStore(kv, { recordTtlMs: 80 });
        await brief.put(record("gone", { state: "done" }));
        expect((await brief.get("gone"))?.input).toEqual({ kind: "dropped", chars: 5 });
        const store = createJobStore(kv, { recordTtlMs: 60_000 });
        await store.put(record("kept", { state: "failed" }));
        expect(await kv.get("index:user:u1")).toEqual(["gone", "kept"]);
        await new Promise((r) => setTimeout(r, 150));
        expect(await store.get("gone")).toBeUndefined();
        expect(ids(await store.listByUser("u1"))).toEqual(["kept"]);
        expect(await kv.get("index:user:u1")).toEqual(["kept"]);
      } finally {
        await storage.close();
      }
    });
  });
});
