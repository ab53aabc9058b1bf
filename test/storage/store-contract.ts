import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import type { Storage } from "../../src/storage/storage.ts";

/**
 * What every storage backend must do, run against SQLite and a real Redis alike. `open` must give a
 * storage over the same data each time it is called (same file, same server), so reopening can be tested.
 */
export function describeStorageContract(name: string, open: () => Promise<Storage>): void {
  describe(`${name}: storage contract`, () => {
    const opened: Storage[] = [];
    async function fresh(): Promise<Storage> {
      const storage = await open();
      opened.push(storage);
      return storage;
    }
    afterEach(async () => {
      for (const s of opened.splice(0)) {
        // Leave nothing for the next test: the Redis server and SQLite file outlive one test.
        for (const ns of ["contract-a", "contract-b", "contract-ttl"]) {
          await s
            .keyv(ns)
            .clear()
            .catch(() => {});
        }
        await s.close();
      }
    });

    it("round-trips strings, numbers, objects, arrays and Buffers", async () => {
      const s = await fresh();
      const kv = s.keyv<unknown>("contract-a");
      const value = {
        name: "Ada",
        n: 42.5,
        nested: { list: [1, "two", null, true], empty: {} },
        leadingColon: ":not-a-marker",
        unicode: "héllo 🐈 日本語",
        bytes: Buffer.from([0, 1, 2, 254, 255]),
      };
      await kv.set("obj", value);
      await kv.set("str", "plain");
      await kv.set("num", 7);
      await kv.set("key:with:colons", "ok");
      expect(await kv.get("obj")).toEqual(value);
      expect(await kv.get("str")).toBe("plain");
      expect(await kv.get("num")).toBe(7);
      expect(await kv.get("key:with:colons")).toBe("ok");
      expect(await kv.get("absent")).toBeUndefined();
      expect(await kv.has("str")).toBe(true);
      expect(await kv.has("absent")).toBe(false);
      expect(await kv.get(["str", "absent", "num"])).toEqual(["plain", undefined, 7]);

      await kv.set("str", "replaced");
      expect(await kv.get("str")).toBe("replaced");
      expect(await kv.delete("str")).toBe(true);
      expect(await kv.get("str")).toBeUndefined();
    });

    it("expires entries after their ttl", async () => {
      const s = await fresh();
      const kv = s.keyv<string>("contract-ttl");
      await kv.set("short", "soon gone", 150);
      await kv.set("long", "stays", 60_000);
      await kv.set("forever", "stays");
      expect(await kv.get("short")).toBe("soon gone");
      await sleep(300);
      expect(await kv.get("short")).toBeUndefined();
      expect(await kv.has("short")).toBe(false);
      expect(await kv.get("long")).toBe("stays");
      expect(await kv.get("forever")).toBe("stays");
    });

    it("keeps namespaces apart, and clear() empties only its own", async () => {
      const s = await fresh();
      const a = s.keyv<string>("contract-a");
      const b = s.keyv<string>("contract-b");
      await a.set("same-key", "from a");
      await b.set("same-key", "from b");
      await a.set("only-a", "x");
      expect(await a.get("same-key")).toBe("from a");
      expect(await b.get("same-key")).toBe("from b");
      expect(await b.get("only-a")).toBeUndefined();

      await a.clear();
      expect(await a.get("same-key")).toBeUndefined();
      expect(await a.get("only-a")).toBeUndefined();
      expect(await b.get("same-key")).toBe("from b");
    });

    it("iterates over one namespace's live entries", async () => {
      const s = await fresh();
      const a = s.keyv<number>("contract-a");
      await s.keyv<number>("contract-b").set("other", 99);
      const want = new Map<string, number>();
      // More than one page of the SQLite iterator.
      for (let i = 0; i < 130; i++) {
        want.set(`k${i}`, i);
        await a.set(`k${i}`, i);
      }
      const got = new Map<string, number>();
      const iterate = a.iterator;
      expect(iterate).toBeTypeOf("function");
      for await (const [key, value] of iterate!(undefined)) got.set(key, value);
      expect(got).toEqual(want);
    });

    it("keeps data across close and reopen", async () => {
      const first = await open();
      await first.keyv<object>("contract-b").set("persisted", { v: 1 });
      await first.close();
      const second = await fresh();
      expect(await second.keyv<object>("contract-b").get("persisted")).toEqual({ v: 1 });
    });

    it("rejects namespaces that could overlap another's keys, and use after close", async () => {
      const s = await open();
      expect(() => s.keyv("users:1")).toThrow(/namespace/);
      expect(() => s.keyv("")).toThrow(/namespace/);
      const kv = s.keyv<string>("contract-a");
      await s.close();
      await s.close();
      expect(() => s.keyv("contract-a")).toThrow(/closed/);
      // A store failure rejects instead of reading as "not found".
      await expect(kv.set("after-close", "x")).rejects.toThrow();
    });
  });
}
