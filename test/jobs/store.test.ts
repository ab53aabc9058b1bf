import { describe, expect, it } from "vitest";
import { createJobStore } from "../../src/jobs/store.ts";
import type { JobRecord, JobState } from "../../src/jobs/types.ts";
import { MemoryKv, memoryLogger, SETTINGS } from "./helpers.ts";

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
});
