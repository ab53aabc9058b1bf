import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type CachedAudio,
  createAudioCache,
  RedisAudioCache,
  SqliteAudioCache,
} from "../../src/speak/audio-cache.ts";
import { createStorage, type Storage, StorageError } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";

const WRITER = fileURLToPath(new URL("./audio-cache-writer.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "audio-cache-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function entry(bytes: number, extra: Partial<CachedAudio> = {}): CachedAudio {
  return { audio: randomBytes(bytes), format: "mp3", sampleRate: 32000, channels: 1, createdAt: 1, ...extra };
}

const opened: Storage[] = [];
async function storage(url = "sqlite://:memory:"): Promise<Storage> {
  const s = await createStorage(url);
  opened.push(s);
  return s;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

/** A clock the test moves by hand, one millisecond per call so that every use is distinct. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t++,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** Writes at once unless a test asks for the batched writes the bot uses (see "batches writes"). */
async function sqliteCache(opts: ConstructorParameters<typeof SqliteAudioCache>[1] = {}) {
  const s = await storage();
  return { db: s.sqlite!, cache: new SqliteAudioCache(s.sqlite!, { writeDelayMs: 0, ...opts }) };
}

describe("SqliteAudioCache", () => {
  it("returns the stored bytes and metadata, counting hits and misses", async () => {
    const { cache } = await sqliteCache();
    const value = entry(4096, {
      format: "ogg",
      sampleRate: 48000,
      durationMs: 1234.5,
      usageCharacters: 12,
      createdAt: 1_700_000_000_000,
      meta: { waveform: "AAEC", durationSecs: 1.2345 },
    });
    expect(await cache.get("k")).toBeUndefined();
    await cache.set("k", value);
    const got = await cache.get("k");
    expect(got).toEqual(value);
    expect(Buffer.compare(got!.audio, value.audio)).toBe(0);
    expect(await cache.get("other")).toBeUndefined();
    expect(await cache.stats()).toEqual({ entries: 1, bytes: 4096, hits: 1, misses: 2 });
  });

  it("batches writes: set() returns at once, reads see the entry, one transaction writes them later", async () => {
    const { db, cache } = await sqliteCache({ writeDelayMs: 30 });
    const rows = () => Number(db.prepare("SELECT count(*) AS n FROM audio_cache").get()!.n);
    await cache.set("a", entry(100));
    await cache.set("b", entry(200));
    expect(rows()).toBe(0);
    expect((await cache.get("a"))?.audio.length).toBe(100);
    // Flushed by the timer: both rows, counted in the running totals.
    await sleep(80);
    expect(rows()).toBe(2);
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 300 });
    // stats() and close() flush what is pending; a replaced entry is counted once.
    await cache.set("a", entry(150));
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 350 });
    await cache.set("c", entry(10));
    await cache.close();
    expect(rows()).toBe(3);
  });

  it("writes a burst a few entries per turn of the event loop, yielding in between", async () => {
    vi.useFakeTimers();
    try {
      const { db, cache } = await sqliteCache({ writeDelayMs: 10 });
      const rows = () => Number(db.prepare("SELECT count(*) AS n FROM audio_cache").get()!.n);
      for (let i = 0; i < 20; i++) await cache.set(`k${i}`, entry(10));
      vi.advanceTimersByTime(9);
      expect(rows()).toBe(0);
      vi.advanceTimersByTime(1);
      expect(rows()).toBe(8);
      vi.advanceTimersByTime(1);
      expect(rows()).toBe(16);
      vi.advanceTimersByTime(1);
      expect(rows()).toBe(20);
      expect((await cache.get("k19"))?.audio.length).toBe(10);
    } finally {
      vi.useRealTimers();
    }
  });

  it("evicts pending entries by their last use once written", async () => {
    const c = clock();
    const { cache } = await sqliteCache({ writeDelayMs: 1000, maxBytes: 250, now: c.now });
    await cache.set("old", entry(100));
    c.advance(10);
    await cache.set("newer", entry(100));
    c.advance(10);
    expect(await cache.get("old")).toBeDefined(); // used last, so kept
    c.advance(10);
    await cache.set("newest", entry(100));
    cache.flush();
    expect(await cache.get("newer")).toBeUndefined();
    expect(await cache.get("old")).toBeDefined();
    expect(await cache.get("newest")).toBeDefined();
  });

  it("evicts the least recently used entries first when over maxBytes", async () => {
    const c = clock();
    const { cache } = await sqliteCache({ maxBytes: 3000, now: c.now });
    await cache.set("a", entry(1000));
    await cache.set("b", entry(1000));
    await cache.set("c", entry(1000));
    // Reading "a" makes "b" the least recently used.
    expect(await cache.get("a")).toBeDefined();
    await cache.set("d", entry(1000));
    expect(await cache.get("b")).toBeUndefined();
    for (const k of ["a", "c", "d"]) expect(await cache.get(k)).toBeDefined();

    // One large entry pushes out as many old ones as it needs, oldest first: now c, a, d by last use.
    await cache.get("a");
    await cache.get("d");
    await cache.set("big", entry(2000));
    expect(await cache.get("c")).toBeUndefined();
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.get("d")).toBeDefined();
    expect(await cache.get("big")).toBeDefined();
    expect((await cache.stats()).bytes).toBe(3000);
  });

  it("evicts down to maxEntries", async () => {
    const c = clock();
    const { cache } = await sqliteCache({ maxEntries: 2, now: c.now });
    await cache.set("a", entry(10));
    await cache.set("b", entry(10));
    await cache.set("c", entry(10));
    expect(await cache.get("a")).toBeUndefined();
    expect((await cache.stats()).entries).toBe(2);
  });

  it("refuses entries over maxEntryBytes without evicting anything", async () => {
    const { cache } = await sqliteCache({ maxBytes: 10_000, maxEntryBytes: 1000 });
    await cache.set("small", entry(1000));
    await cache.set("huge", entry(1001));
    expect(await cache.get("huge")).toBeUndefined();
    expect(await cache.get("small")).toBeDefined();
  });

  it("refuses an entry larger than the whole cache", async () => {
    const { cache } = await sqliteCache({ maxBytes: 500 });
    await cache.set("kept", entry(400));
    await cache.set("too-big", entry(501));
    expect(await cache.get("too-big")).toBeUndefined();
    expect(await cache.get("kept")).toBeDefined();
  });

  it("expires entries after ttlMs, on the injected clock", async () => {
    const c = clock();
    const { cache } = await sqliteCache({ ttlMs: 60_000, now: c.now });
    await cache.set("a", entry(10));
    c.advance(30_000);
    await cache.set("b", entry(10));
    expect(await cache.get("a")).toBeDefined();
    c.advance(30_000);
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.stats()).toMatchObject({ entries: 1, bytes: 10 });
    c.advance(30_000);
    expect(await cache.get("b")).toBeUndefined();
  });

  it("keeps entries forever with ttlMs 0", async () => {
    const c = clock();
    const { cache } = await sqliteCache({ ttlMs: 0, now: c.now });
    await cache.set("a", entry(10));
    c.advance(10 * 365 * 24 * 3600_000);
    expect(await cache.get("a")).toBeDefined();
  });

  it("drops a corrupt row and reports a miss", async () => {
    const warnings: unknown[] = [];
    const { db, cache } = await sqliteCache({ logger: { warn: (obj) => warnings.push(obj) } });
    await cache.set("bad-meta", entry(10));
    await cache.set("bad-size", entry(10));
    await cache.set("bad-rate", entry(10));
    db.prepare("UPDATE audio_cache SET meta = '{not json' WHERE key = 'bad-meta'").run();
    db.prepare("UPDATE audio_cache SET bytes = 11 WHERE key = 'bad-size'").run();
    db.prepare("UPDATE audio_cache SET sample_rate = 'fast' WHERE key = 'bad-rate'").run();
    for (const k of ["bad-meta", "bad-size", "bad-rate"]) expect(await cache.get(k)).toBeUndefined();
    expect(await cache.stats()).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 3 });
    expect(warnings).toHaveLength(3);
  });

  it("survives a restart: the entries live in the storage's SQLite file", async () => {
    const url = `sqlite://${join(dir, "restart", "bot.sqlite")}`;
    const value = entry(100_000, { durationMs: 5000 });
    const first = await createStorage(url);
    const before = createAudioCache(first);
    await before.set("k", value);
    // As the app stops: the cache writes what is pending, then the storage closes.
    await before.close?.();
    await first.close();

    const second = await storage(url);
    const cache = createAudioCache(second);
    expect(cache).toBeInstanceOf(SqliteAudioCache);
    const got = await cache.get("k");
    expect(got?.audio.equals(value.audio)).toBe(true);
    expect(await cache.stats()).toEqual({ entries: 1, bytes: 100_000, hits: 1, misses: 0 });
  });

  it("stores the audio as a BLOB, not base64 text", async () => {
    const { db, cache } = await sqliteCache();
    await cache.set("k", entry(10));
    expect(db.prepare("SELECT typeof(audio) AS t, length(audio) AS n FROM audio_cache").get()).toEqual({
      t: "blob",
      n: 10,
    });
  });

  it("refuses a value that is not audio", async () => {
    const { cache } = await sqliteCache();
    await expect(cache.set("k", { ...entry(1), audio: "abc" } as unknown as CachedAudio)).rejects.toThrow();
  });
});

describe("RedisAudioCache", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  let namespaces = 0;
  /** A cache in a namespace of its own, and the storage's client to look at what it wrote. */
  async function redisCache(opts: ConstructorParameters<typeof RedisAudioCache>[1] = {}) {
    const s = await storage(server.url);
    const namespace = opts.namespace ?? `ac-${++namespaces}`;
    return { redis: s.redis!, namespace, cache: new RedisAudioCache(s.redis!, { ...opts, namespace }) };
  }

  /** What the index says next to what Redis holds: they must agree whatever happened. */
  async function audit(redis: NonNullable<Storage["redis"]>, namespace: string) {
    const entryKeys = (await redis.keys(`${namespace}::*`)).sort();
    let bytes = 0;
    // node-redis types HSTRLEN's integer reply as an array.
    for (const k of entryKeys) bytes += Number(await redis.hStrLen(k, "audio"));
    const indexed = (await redis.zRange(`${namespace}-index::lru`, 0, -1)).map((k) => `${namespace}::${k}`);
    return {
      entryKeys,
      bytes,
      indexed: indexed.sort(),
      total: Number((await redis.hGet(`${namespace}-index::totals`, "bytes")) ?? 0),
      sized: await redis.hLen(`${namespace}-index::sizes`),
    };
  }

  it("round-trips the raw bytes and metadata, counting hits and misses", async () => {
    const { redis, namespace, cache } = await redisCache();
    const value = entry(70_000, { durationMs: 3000, usageCharacters: 40, meta: { waveform: ":AA" } });
    expect(await cache.get("k")).toBeUndefined();
    await cache.set("k", value);
    const got = await cache.get("k");
    expect(got).toEqual(value);
    expect(got?.audio.equals(value.audio)).toBe(true);
    await cache.set("k2", entry(30_000));
    expect(await cache.stats()).toEqual({ entries: 2, bytes: 100_000, hits: 1, misses: 1 });
    // The bytes as they are, not base64 text.
    expect(Number(await redis.hStrLen(`${namespace}::k`, "audio"))).toBe(70_000);
  });

  it("evicts the least recently used entries when over maxBytes, a get counting as a use", async () => {
    const { redis, namespace, cache } = await redisCache({ maxBytes: 300 });
    for (const k of ["a", "b", "c"]) await cache.set(k, entry(100));
    expect(await cache.get("a")).toBeDefined();
    await cache.set("d", entry(100));
    // b was the least recently used: a was read after it was written.
    expect(await cache.get("b")).toBeUndefined();
    for (const k of ["a", "c", "d"]) expect(await cache.get(k)).toBeDefined();
    // Last uses now go c, a, d: room for 150 bytes evicts c, then a.
    await cache.get("a");
    await cache.get("d");
    await cache.set("e", entry(150));
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 250 });
    expect(await audit(redis, namespace)).toEqual({
      entryKeys: [`${namespace}::d`, `${namespace}::e`],
      bytes: 250,
      indexed: [`${namespace}::d`, `${namespace}::e`],
      total: 250,
      sized: 2,
    });
  });

  it("evicts as many entries as a large one needs, and replacing an entry counts it once", async () => {
    const { cache } = await redisCache({ maxBytes: 1000 });
    for (let i = 0; i < 10; i++) await cache.set(`k${i}`, entry(100));
    await cache.set("k9", entry(50));
    expect(await cache.stats()).toMatchObject({ entries: 10, bytes: 950 });
    await cache.set("big", entry(600));
    expect(await cache.stats()).toMatchObject({ entries: 5, bytes: 950 });
    for (const k of ["k6", "k7", "k8", "k9", "big"]) expect(await cache.get(k)).toBeDefined();
  });

  it("evicts down to maxEntries", async () => {
    const { cache } = await redisCache({ maxEntries: 2 });
    for (const k of ["a", "b", "c"]) await cache.set(k, entry(10));
    expect(await cache.get("a")).toBeUndefined();
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 20 });
  });

  it("refuses entries over maxEntryBytes or larger than the whole cache, evicting nothing", async () => {
    const { redis, namespace, cache } = await redisCache({ maxBytes: 300, maxEntryBytes: 1000 });
    await cache.set("a", entry(200));
    await cache.set("huge", entry(301));
    expect(await cache.get("huge")).toBeUndefined();
    expect(await cache.get("a")).toBeDefined();
    const capped = new RedisAudioCache(redis, { namespace, maxEntryBytes: 100 });
    await capped.set("over", entry(101));
    expect(await cache.stats()).toMatchObject({ entries: 1, bytes: 200 });
  });

  it("keeps one bound for two processes writing at once, the index matching what Redis holds", async () => {
    const { redis, namespace, cache } = await redisCache({ maxBytes: 20_000 });
    const child = spawn(process.execPath, [WRITER, server.url, namespace, "20000", "60", "1000", "child-"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    const exited = once(child, "exit");
    for (let i = 0; i < 60; i++) {
      await cache.set(`parent-${i}`, entry(1000));
      // Whatever the other process does, the total never goes over the bound.
      if (i % 10 === 0) expect((await cache.stats()).bytes).toBeLessThanOrEqual(20_000);
    }
    expect(await exited).toEqual([0, null]);
    expect(out).toBe("done\n");
    const state = await audit(redis, namespace);
    expect(state.bytes).toBe(20_000);
    expect(state.total).toBe(20_000);
    expect(state.indexed).toEqual(state.entryKeys);
    expect(state.sized).toBe(20);
    expect(await cache.stats()).toMatchObject({ entries: 20, bytes: 20_000 });
    // A second instance (another process's view) reads the same totals.
    expect(await new RedisAudioCache(redis, { namespace }).stats()).toMatchObject({ entries: 20 });
  });

  it("a read in one process keeps an entry from eviction by another's writes", async () => {
    const { redis, namespace, cache: first } = await redisCache({ maxBytes: 300 });
    const other = await storage(server.url);
    const second = new RedisAudioCache(other.redis!, { namespace, maxBytes: 300 });
    for (const k of ["a", "b", "c"]) await first.set(k, entry(100));
    expect(await first.get("a")).toBeDefined();
    await second.set("d", entry(100));
    expect(await second.get("a")).toBeDefined();
    expect(await second.get("b")).toBeUndefined();
    expect((await audit(redis, namespace)).total).toBe(300);
  });

  it("expires entries after ttlMs and takes them out of the index", async () => {
    const { redis, namespace, cache } = await redisCache({ ttlMs: 150 });
    await cache.set("k", entry(100));
    await cache.set("j", entry(50));
    expect(await redis.pTTL(`${namespace}::k`)).toBeGreaterThan(0);
    expect(await cache.get("k")).toBeDefined();
    await sleep(300);
    expect(await redis.exists(`${namespace}::k`)).toBe(0);
    // stats() cleans what ended without anyone asking for it.
    expect(await cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(await audit(redis, namespace)).toEqual({
      entryKeys: [],
      bytes: 0,
      indexed: [],
      total: 0,
      sized: 0,
    });
    expect(await redis.zCard(`${namespace}-index::expiry`)).toBe(0);
  });

  it("keeps entries forever with ttlMs 0", async () => {
    const { redis, namespace, cache } = await redisCache({ ttlMs: 0 });
    await cache.set("k", entry(10));
    expect(await redis.pTTL(`${namespace}::k`)).toBe(-1);
    expect(await redis.zCard(`${namespace}-index::expiry`)).toBe(0);
  });

  it("cleans a stale index entry when it meets one: on a read, and when evicting", async () => {
    const { redis, namespace, cache } = await redisCache({ maxBytes: 300 });
    for (const k of ["a", "b", "c"]) await cache.set(k, entry(100));
    // Gone behind the index's back (a flush, Redis's own eviction).
    await redis.del([`${namespace}::a`, `${namespace}::b`]);
    expect(await cache.get("b")).toBeUndefined();
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 200 });
    await cache.set("d", entry(200));
    // The least recently used is a, already gone: taking it out of the index makes the room.
    expect(await audit(redis, namespace)).toEqual({
      entryKeys: [`${namespace}::c`, `${namespace}::d`],
      bytes: 300,
      indexed: [`${namespace}::c`, `${namespace}::d`],
      total: 300,
      sized: 2,
    });
  });

  it("drops a corrupt entry or a value of another layout and reports a miss", async () => {
    const warnings: object[] = [];
    const { redis, namespace, cache } = await redisCache({ logger: { warn: (obj) => warnings.push(obj) } });
    await cache.set("bad-info", entry(10));
    await redis.hSet(`${namespace}::bad-info`, "info", "{not json");
    await cache.set("bad-rate", entry(10));
    await redis.hSet(`${namespace}::bad-rate`, "info", JSON.stringify({ format: "mp3", sampleRate: "fast" }));
    await redis.set(`${namespace}::old`, JSON.stringify({ value: { audio: "AAAA" } }));
    for (const k of ["bad-info", "bad-rate", "old"]) expect(await cache.get(k)).toBeUndefined();
    expect(warnings).toEqual([{ key: "bad-info" }, { key: "bad-rate" }]);
    expect(await redis.keys(`${namespace}*`)).toEqual([`${namespace}-index::totals`]);
    expect(await cache.stats()).toEqual({ entries: 0, bytes: 0, hits: 0, misses: 3 });
  });

  it("keeps every key under its namespace", async () => {
    const { redis, namespace, cache } = await redisCache();
    await cache.set("k", entry(10));
    await cache.get("k");
    const keys = await redis.keys("*");
    const mine = keys.filter((k) => k.startsWith(`${namespace}::`) || k.startsWith(`${namespace}-index::`));
    expect(mine.sort()).toEqual(
      [
        `${namespace}::k`,
        ...["expiry", "lru", "sizes", "totals"].map((n) => `${namespace}-index::${n}`),
      ].sort(),
    );
    expect(() => new RedisAudioCache(redis, { namespace: "a::b" })).toThrow(/namespace/);
  });

  it("fails with a StorageError once the storage is closed", async () => {
    const { cache } = await redisCache();
    await opened.at(-1)!.close();
    await expect(cache.get("k")).rejects.toBeInstanceOf(StorageError);
    await expect(cache.set("k", entry(1))).rejects.toBeInstanceOf(StorageError);
  });

  it("is what createAudioCache picks for Redis storage, with the byte bound it is given", async () => {
    const s = await storage(server.url);
    const cache = createAudioCache(s, { maxBytes: 250, namespace: `ac-${++namespaces}` });
    expect(cache).toBeInstanceOf(RedisAudioCache);
    for (const k of ["a", "b", "c"]) await cache.set(k, entry(100));
    expect(await cache.stats()).toMatchObject({ entries: 2, bytes: 200 });
  });
});
