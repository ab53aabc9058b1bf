import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { RecordKeyValue } from "../../src/storage/key-value.ts";
import {
  createKeyedSerialQueue,
  createRecordKit,
  idsMissing,
  recordStates,
} from "../../src/storage/record-kit.ts";

/** A Keyv-like map that logs every write with its TTL. */
class LogKv implements RecordKeyValue {
  readonly data = new Map<string, string>();
  readonly writes: { key: string; value: unknown; ttl: number | undefined }[] = [];
  async get(key: string): Promise<unknown> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    this.data.set(key, JSON.stringify(value));
    this.writes.push({ key, value, ttl });
    return true;
  }
}

const states = recordStates(["open", "closed"] as const, ["closed"]);
const ThingSchema = z.object({
  id: z.string(),
  state: states.schema,
  createdAt: z.number(),
  updatedAt: z.number(),
  chars: z.number(),
  input: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("text"), text: z.string() }),
    z.object({ kind: z.literal("dropped"), chars: z.number(), fileName: z.string().optional() }),
  ]),
});
type Thing = z.infer<typeof ThingSchema>;

function thing(id: string, over: Partial<Thing> = {}): Thing {
  return {
    id,
    state: "open",
    createdAt: 1,
    updatedAt: 1,
    chars: 5,
    input: { kind: "text", text: "hello" },
    ...over,
  };
}

function kit(kv: LogKv, invalid: string[] = []) {
  return createRecordKit(kv, {
    schema: ThingSchema,
    key: (id) => `thing:${id}`,
    dropsInput: (t) => states.isFinal(t.state),
    onInvalid: (id) => invalid.push(id),
    now: () => 42,
    recordTtlMs: 1000,
  });
}

describe("record kit", () => {
  it("tells final states", () => {
    expect(states.final).toEqual(["closed"]);
    expect(states.isFinal("closed")).toBe(true);
    expect(states.isFinal("open")).toBe(false);
  });

  it("stamps updatedAt and drops a final record's input", () => {
    const k = kit(new LogKv());
    expect(k.prepare(thing("a")).updatedAt).toBe(42);
    expect(k.prepare(thing("a")).input).toEqual({ kind: "text", text: "hello" });
    expect(k.prepare(thing("a", { state: "closed" })).input).toEqual({ kind: "dropped", chars: 5 });
  });

  it("lists an open record before storing it and unlists a closed one after", async () => {
    const kv = new LogKv();
    const k = kit(kv);
    await k.storeIndexedOpen("open", "a", true, () => kv.set("thing:a", thing("a")));
    await k.storeIndexedOpen("open", "a", false, () => kv.set("thing:a", thing("a", { state: "closed" })));
    expect(kv.writes.map((w) => [w.key, w.value])).toEqual([
      ["open", ["a"]],
      ["thing:a", thing("a")],
      ["thing:a", thing("a", { state: "closed" })],
      ["open", []],
    ]);
  });

  it("remembers ids capped, with the TTL, rewriting only when asked to refresh", async () => {
    const kv = new LogKv();
    const k = kit(kv);
    for (const id of ["a", "b", "c"]) await k.remember("recent", id, { max: 2, refresh: false });
    await k.remember("recent", "c", { max: 2, refresh: false });
    expect(kv.writes).toHaveLength(3);
    await k.remember("recent", "c", { max: 2, refresh: true });
    expect(kv.writes.at(-1)).toEqual({ key: "recent", value: ["b", "c"], ttl: 1000 });
  });

  it("lists open records oldest first and prunes the gone, closed and invalid ones", async () => {
    const kv = new LogKv();
    const invalid: string[] = [];
    const k = kit(kv, invalid);
    const store = k.store(async (t) => {
      const stored = k.prepare(t);
      await kv.set(`thing:${t.id}`, stored);
      return stored;
    });
    await store.put(thing("new", { createdAt: 5 }));
    await store.put(thing("old", { createdAt: 2 }));
    await store.put(thing("done", { state: "closed" }));
    await kv.set("thing:bad", { id: "bad" });
    await kv.set("open", ["new", "gone", "old", "done", "bad"]);
    const open = await k.listOpen("open", (t) => states.isFinal(t.state));
    expect(open.map((t) => t.id)).toEqual(["old", "new"]);
    expect(await kv.get("open")).toEqual(["new", "old"]);
    expect(invalid).toEqual(["bad", "bad"]);
    expect(idsMissing(["a", "b"], [{ id: "b" }])).toEqual(["a"]);
  });

  it("update changes one record under the queue, or leaves it alone", async () => {
    const kv = new LogKv();
    const k = kit(kv);
    const store = k.store(async (t) => {
      await kv.set(`thing:${t.id}`, t);
      return t;
    });
    await store.put(thing("a"));
    expect(await store.update("a", () => undefined)).toBeUndefined();
    expect((await store.update("a", (cur) => cur && { ...cur, chars: 9 }))?.chars).toBe(9);
    expect((await store.get("a"))?.chars).toBe(9);
    expect(store.newId()).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
});

describe("createKeyedSerialQueue", () => {
  it("runs one key's calls in order, other keys alongside, and a failure does not block the next", async () => {
    const serially = createKeyedSerialQueue();
    const order: string[] = [];
    const gate = Promise.withResolvers<void>();
    const a1 = serially("a", async () => {
      await gate.promise;
      order.push("a1");
    });
    const a2 = serially("a", async () => {
      order.push("a2");
      throw new Error("boom");
    });
    const a3 = serially("a", async () => void order.push("a3"));
    const b1 = serially("b", async () => void order.push("b1"));
    await b1;
    // Key b did not wait for key a.
    expect(order).toEqual(["b1"]);
    gate.resolve();
    await a1;
    await expect(a2).rejects.toThrow("boom");
    await a3;
    expect(order).toEqual(["b1", "a1", "a2", "a3"]);
  });
});
