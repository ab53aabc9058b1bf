import { describe, expect, it } from "vitest";
import { createRequestStore } from "../../src/requests/store.ts";
import type { NarrationRequestRecord, RequestState } from "../../src/requests/types.ts";
import type { RecordKeyValue } from "../../src/storage/key-value.ts";

/** A Keyv-like map with TTLs on a clock the test moves; records the TTL of each set. */
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
const GUILD = "100000000000000001";

function request(id: string, over: Partial<NarrationRequestRecord> = {}): NarrationRequestRecord {
  return {
    id,
    guildId: GUILD,
    requesterId: "u1",
    title: `Request ${id}`,
    input: { kind: "text", text: "Once upon a time." },
    chars: 17,
    options: {},
    state: "pending",
    upvoters: [],
    createdAt: 1,
    updatedAt: 1,
    ...over,
  };
}

const ids = (records: NarrationRequestRecord[]) => records.map((r) => r.id);
const FINAL: RequestState[] = ["done", "failed", "rejected", "cancelled"];

describe("request store: bounded growth", () => {
  it("drops the input of every ended request and keeps it while open", async () => {
    const store = createRequestStore(new TtlKv());
    for (const state of FINAL) {
      await store.put(request(`t-${state}`, { state }));
      expect((await store.get(`t-${state}`))?.input).toEqual({ kind: "dropped", chars: 17 });
    }
    await store.put(
      request("file", {
        state: "done",
        input: { kind: "file", fileName: "story.txt", contentBase64: "aGk=" },
        chars: 2,
      }),
    );
    expect((await store.get("file"))?.input).toEqual({ kind: "dropped", chars: 2, fileName: "story.txt" });
    for (const state of ["pending", "approved", "running"] as RequestState[]) {
      await store.put(request(`o-${state}`, { state }));
      expect((await store.get(`o-${state}`))?.input.kind).toBe("text");
    }
  });

  it("stores an ended request and its job mapping with the record TTL", async () => {
    const kv = new TtlKv();
    const store = createRequestStore(kv, { recordTtlMs: 30 * DAY });
    await store.put(request("a", { state: "running", jobId: "job-a" }));
    expect(kv.ttls.get("request:a")).toBeUndefined();
    expect(kv.ttls.get("job:job-a")).toBeUndefined();
    await store.update("a", (cur) => cur && { ...cur, state: "done" });
    expect(kv.ttls.get("request:a")).toBe(30 * DAY);
    expect(kv.ttls.get("job:job-a")).toBe(30 * DAY);
    expect(kv.ttls.get(`index:recent:${GUILD}`)).toBe(30 * DAY);
    expect((await store.byJobId("job-a"))?.state).toBe("done");

    kv.clock = 31 * DAY;
    expect(await store.get("a")).toBeUndefined();
    expect(await store.byJobId("job-a")).toBeUndefined();
  });

  it("prunes expired requests from the guild's lists on read, keeping the recent list capped", async () => {
    const kv = new TtlKv();
    const store = createRequestStore(kv, { recordTtlMs: 30 * DAY, recentPerGuild: 3 });
    await store.put(request("old", { state: "rejected", createdAt: 1 }));
    kv.clock = 10 * DAY;
    await store.put(request("mid", { state: "done", createdAt: 2 }));
    await store.put(request("open", { state: "pending", createdAt: 3 }));
    expect(ids(await store.list(GUILD))).toEqual(["open", "mid", "old"]);

    kv.clock = 31 * DAY;
    expect(ids(await store.list(GUILD))).toEqual(["open", "mid"]);
    expect(await kv.get(`index:recent:${GUILD}`)).toEqual(["mid", "open"]);
    expect(await kv.get(`index:open:${GUILD}`)).toEqual(["open"]);

    for (let i = 0; i < 5; i++) await store.put(request(`n${i}`, { state: "done", createdAt: 10 + i }));
    expect(await kv.get(`index:recent:${GUILD}`)).toEqual(["n2", "n3", "n4"]);
  });

  it("prunes ended and missing requests from the open list, and idle guilds from the guild list", async () => {
    const kv = new TtlKv();
    const store = createRequestStore(kv);
    await store.put(request("a"));
    await store.put(request("b", { state: "approved" }));
    await store.put(request("c", { guildId: "100000000000000002" }));
    expect(await store.guildsWithOpen()).toEqual([GUILD, "100000000000000002"]);
    // As if the process died between storing the final record and updating the open list.
    await kv.set("request:a", { ...((await kv.get("request:a")) as object), state: "cancelled" });
    kv.data.delete("request:b");
    expect(ids(await store.listOpen(GUILD))).toEqual([]);
    expect(await kv.get(`index:open:${GUILD}`)).toEqual([]);
    expect(await store.guildsWithOpen()).toEqual(["100000000000000002"]);
    expect(await kv.get("index:guilds")).toEqual(["100000000000000002"]);
    // A new request in the guild lists it again.
    await store.put(request("d"));
    expect(await store.guildsWithOpen()).toEqual(["100000000000000002", GUILD]);
  });
});
