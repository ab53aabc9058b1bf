import { describe, expect, it } from "vitest";
import { createGuildSettingsStore } from "../../src/settings/settings.ts";

/**
 * The guild settings cache (src/guilds/settings.ts) is an in-memory map in front of the store: it
 * must stay bounded however many guilds the bot serves. (Here with the other bounded-growth tests.)
 */

function countingKv() {
  const data = new Map<string, unknown>();
  const reads: string[] = [];
  return {
    data,
    reads,
    async get(key: string) {
      reads.push(key);
      return data.get(key);
    },
    async set(key: string, value: unknown) {
      data.set(key, value);
      return true;
    },
    async delete(key: string) {
      return data.delete(key);
    },
  };
}

describe("guild settings cache", () => {
  it("keeps at most cacheMaxGuilds guilds, evicting the least recently used", async () => {
    const kv = countingKv();
    const store = createGuildSettingsStore(kv, { cacheMaxGuilds: 2, now: () => 0 });
    await store.get("a");
    await store.get("b");
    await store.get("a"); // hit: "a" is now the most recently used
    expect(kv.reads).toEqual(["a", "b"]);
    await store.get("c"); // evicts "b"
    await store.get("a");
    expect(kv.reads).toEqual(["a", "b", "c"]);
    await store.get("b");
    expect(kv.reads).toEqual(["a", "b", "c", "b"]);
    // "c" was the least recently used when "b" came back.
    await store.get("a");
    await store.get("c");
    expect(kv.reads).toEqual(["a", "b", "c", "b", "c"]);
  });

  it("still expires entries after the TTL and stays bounded by default", async () => {
    let clock = 0;
    const kv = countingKv();
    const store = createGuildSettingsStore(kv, { now: () => clock });
    await store.get("g");
    clock = 4_999;
    await store.get("g");
    expect(kv.reads).toEqual(["g"]);
    clock = 5_000;
    await store.get("g");
    expect(kv.reads).toEqual(["g", "g"]);
    // The default bound: 5,000 guilds; the first of 5,001 is read again.
    for (let i = 0; i < 5_001; i++) await store.get(`guild-${i}`);
    kv.reads.length = 0;
    await store.get("guild-5000");
    await store.get("guild-0");
    expect(kv.reads).toEqual(["guild-0"]);
  });
});
