import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type AudioCache,
  type CachedAudio,
  createAudioCache,
  KeyvAudioCache,
  SqliteAudioCache,
} from "../../src/speak/audio-cache.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";

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

/** The Keyv variant against any Storage: SQLite here, a real Redis below. */
function keyvCacheTests(open: () => Promise<Storage>) {
  it("round-trips bytes and metadata, counting hits and misses", async () => {
    const cache: AudioCache = new KeyvAudioCache(await open(), { namespace: "ac-roundtrip" });
    const value = entry(70_000, { durationMs: 3000, usageCharacters: 40, meta: { waveform: ":AA" } });
    expect(await cache.get("k")).toBeUndefined();
    await cache.set("k", value);
    const got = await cache.get("k");
    expect(got).toEqual(value);
    expect(got?.audio.equals(value.audio)).toBe(true);
    await cache.set("k2", entry(30_000));
    expect(await cache.stats()).toEqual({ entries: 2, bytes: 100_000, hits: 1, misses: 1 });
  });

  it("expires entries after ttlMs and refuses oversize ones", async () => {
    const cache = new KeyvAudioCache(await open(), { namespace: "ac-ttl", ttlMs: 150, maxEntryBytes: 100 });
    await cache.set("k", entry(100));
    await cache.set("huge", entry(101));
    expect(await cache.get("huge")).toBeUndefined();
    expect(await cache.get("k")).toBeDefined();
    await sleep(300);
    expect(await cache.get("k")).toBeUndefined();
    expect((await cache.stats()).entries).toBe(0);
  });

  it("drops a corrupt entry and reports a miss", async () => {
    const s = await open();
    const cache = new KeyvAudioCache(s, { namespace: "ac-corrupt" });
    await s.keyv<unknown>("ac-corrupt").set("k", { audio: "not a buffer", format: "mp3" });
    expect(await cache.get("k")).toBeUndefined();
    expect(await s.keyv("ac-corrupt").get("k")).toBeUndefined();
  });
}

describe("KeyvAudioCache over SQLite", () => {
  keyvCacheTests(() => storage());
});

describe("KeyvAudioCache over Redis", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  keyvCacheTests(() => storage(server.url));

  it("is what createAudioCache picks for Redis storage", async () => {
    expect(createAudioCache(await storage(server.url))).toBeInstanceOf(KeyvAudioCache);
  });
});
