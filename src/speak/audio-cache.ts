import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import type { RedisClientType } from "@keyv/redis";
import { z } from "zod";
import { inTransaction } from "../storage/sqlite-store.ts";
import { type Storage, StorageError } from "../storage/storage.ts";
import { DROP_SCRIPT, GET_SCRIPT, SET_SCRIPT, STATS_SCRIPT } from "./audio-cache-scripts.ts";

/**
 * Synthesized audio kept by request key (see cache-key.ts), so that repeating a request costs neither
 * time nor provider characters. Two homes, with the same bounds (total bytes, least recently used
 * evicted first, a TTL): a table in the bot's SQLite file, or Redis shared by a fleet.
 */

export const CachedAudioSchema = z.object({
  audio: z.instanceof(Buffer),
  format: z.string().min(1),
  sampleRate: z.number().int().positive(),
  channels: z.number().int().positive(),
  durationMs: z.number().nonnegative().optional(),
  usageCharacters: z.number().int().nonnegative().optional(),
  /** When the audio was synthesized (ms since the epoch). */
  createdAt: z.number(),
  /** Whatever a derived output needs to be reused as is (e.g. a voice message's waveform). JSON only. */
  meta: z.record(z.string(), z.unknown()).optional(),
});
export type CachedAudio = z.infer<typeof CachedAudioSchema>;

export interface AudioCacheStats {
  entries: number;
  bytes: number;
  /** Since this instance was made. */
  hits: number;
  misses: number;
}

export interface AudioCache {
  get(key: string): Promise<CachedAudio | undefined>;
  /** Silently skips audio over the entry size limit. */
  set(key: string, value: CachedAudio): Promise<void>;
  stats(): Promise<AudioCacheStats>;
  close?(): Promise<void>;
}

export interface AudioCacheLogger {
  warn(obj: object, msg?: string): void;
}

export const AUDIO_CACHE_DEFAULTS = {
  maxBytes: 256 * 1024 * 1024,
  maxEntryBytes: 25 * 1024 * 1024,
  ttlMs: 30 * 24 * 60 * 60 * 1000,
} as const;

export interface AudioCacheOptions {
  /** Audio larger than this is not cached. Default 25 MiB (Discord's largest upload). */
  maxEntryBytes?: number;
  /** Entries older than this (since they were stored) are gone. Default 30 days; 0 = no expiry. */
  ttlMs?: number;
  logger?: AudioCacheLogger;
}

export interface SqliteAudioCacheOptions extends AudioCacheOptions {
  /** Least recently used entries are evicted down to this total. Default 256 MiB. */
  maxBytes?: number;
  /** Optional bound on the number of entries, also enforced by LRU eviction. */
  maxEntries?: number;
  /**
   * New entries are written this long after set(), together in one transaction (default 25 ms); 0
   * writes at once. Reads see them meanwhile.
   */
  writeDelayMs?: number;
  now?: () => number;
}

export interface RedisAudioCacheOptions extends AudioCacheOptions {
  /** Least recently used entries are evicted down to this total, for every process. Default 256 MiB. */
  maxBytes?: number;
  /** Optional bound on the number of entries, also enforced by LRU eviction. */
  maxEntries?: number;
  /** Prefix of the cache's keys (`<namespace>::…` and `<namespace>-index::…`). Default `audio-cache`. */
  namespace?: string;
}

export function createAudioCache(
  storage: Storage,
  opts: SqliteAudioCacheOptions & RedisAudioCacheOptions = {},
): AudioCache {
  if (storage.kind === "sqlite") {
    if (!storage.sqlite) throw new Error("SQLite storage without a database handle");
    return new SqliteAudioCache(storage.sqlite, opts);
  }
  if (!storage.redis) throw new Error("Redis storage without a client");
  return new RedisAudioCache(storage.redis, opts);
}

const TABLE = "audio_cache";
/** Entries written per event-loop turn by the background writer (a few ms of work at most). */
const WRITES_PER_TURN = 8;

/**
 * Audio as a BLOB in its own table of the bot's SQLite file, so it survives restarts without the
 * one-third base64 overhead. The blob is the last column: size accounting and eviction read only the
 * small columns and never load a blob's overflow pages.
 */
export class SqliteAudioCache implements AudioCache {
  readonly #db: DatabaseSync;
  readonly #sql: Record<
    "select" | "touch" | "insert" | "remove" | "purge" | "oldest" | "totals",
    StatementSync
  >;
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #maxEntryBytes: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #logger: AudioCacheLogger | undefined;
  readonly #writeDelayMs: number;
  /**
   * Entries not yet written. A write (a blob and a commit, now and then a WAL checkpoint) is the
   * costliest step of a cache miss; batching them keeps it off the path of the reply that produced
   * the audio and of the replies next in line. A crash loses at most these: it is a cache.
   */
  readonly #pending = new Map<string, { entry: CachedAudio; storedAt: number; usedAt: number }>();
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #hits = 0;
  #misses = 0;

  constructor(db: DatabaseSync, opts: SqliteAudioCacheOptions = {}) {
    this.#db = db;
    this.#maxBytes = opts.maxBytes ?? AUDIO_CACHE_DEFAULTS.maxBytes;
    this.#maxEntries = opts.maxEntries ?? Number.MAX_SAFE_INTEGER;
    // An entry larger than the whole cache would evict everything and then itself.
    this.#maxEntryBytes = Math.min(opts.maxEntryBytes ?? AUDIO_CACHE_DEFAULTS.maxEntryBytes, this.#maxBytes);
    this.#ttlMs = opts.ttlMs ?? AUDIO_CACHE_DEFAULTS.ttlMs;
    this.#now = opts.now ?? Date.now;
    this.#logger = opts.logger;
    this.#writeDelayMs = opts.writeDelayMs ?? 25;
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${TABLE} (
        key TEXT PRIMARY KEY,
        format TEXT NOT NULL,
        sample_rate INTEGER NOT NULL,
        channels INTEGER NOT NULL,
        duration_ms REAL,
        usage_characters INTEGER,
        meta TEXT,
        created_at INTEGER NOT NULL,
        last_used INTEGER NOT NULL,
        expires INTEGER,
        bytes INTEGER NOT NULL,
        audio BLOB NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ${TABLE}_last_used ON ${TABLE}(last_used);
      CREATE INDEX IF NOT EXISTS ${TABLE}_expires ON ${TABLE}(expires) WHERE expires IS NOT NULL;
    `);
    // Running totals, kept by triggers in the same transaction as every insert and delete (also by
    // another process sharing the file), so that a write costs the few rows it evicts, not a scan of
    // the whole cache. A cache made before the totals table existed is counted once, here.
    inTransaction(db, () => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS ${TABLE}_totals (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          entries INTEGER NOT NULL,
          bytes INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO ${TABLE}_totals (id, entries, bytes)
          SELECT 1, count(*), coalesce(sum(bytes), 0) FROM ${TABLE};
        CREATE TRIGGER IF NOT EXISTS ${TABLE}_counted_in AFTER INSERT ON ${TABLE} BEGIN
          UPDATE ${TABLE}_totals SET entries = entries + 1, bytes = bytes + NEW.bytes WHERE id = 1;
        END;
        CREATE TRIGGER IF NOT EXISTS ${TABLE}_counted_out AFTER DELETE ON ${TABLE} BEGIN
          UPDATE ${TABLE}_totals SET entries = entries - 1, bytes = bytes - OLD.bytes WHERE id = 1;
        END;
        CREATE TRIGGER IF NOT EXISTS ${TABLE}_recounted AFTER UPDATE OF bytes ON ${TABLE} BEGIN
          UPDATE ${TABLE}_totals SET bytes = bytes - OLD.bytes + NEW.bytes WHERE id = 1;
        END;
      `);
    });
    this.#sql = {
      select: db.prepare(`SELECT * FROM ${TABLE} WHERE key = ?`),
      touch: db.prepare(`UPDATE ${TABLE} SET last_used = ? WHERE key = ?`),
      // A plain INSERT after a DELETE: REPLACE would delete the old row without firing its trigger.
      insert: db.prepare(
        `INSERT INTO ${TABLE} (key, format, sample_rate, channels, duration_ms, usage_characters,
           meta, created_at, last_used, expires, bytes, audio) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      remove: db.prepare(`DELETE FROM ${TABLE} WHERE key = ?`),
      purge: db.prepare(`DELETE FROM ${TABLE} WHERE expires IS NOT NULL AND expires <= ?`),
      // The least recently used entry, through the last_used index; ties go by rowid (insertion order).
      oldest: db.prepare(`SELECT key FROM ${TABLE} ORDER BY last_used ASC, rowid ASC LIMIT 1`),
      totals: db.prepare(`SELECT entries, bytes FROM ${TABLE}_totals WHERE id = 1`),
    };
  }

  async get(key: string): Promise<CachedAudio | undefined> {
    const now = this.#now();
    const pending = this.#pending.get(key);
    if (pending) {
      pending.usedAt = now;
      this.#hits++;
      return pending.entry;
    }
    const row = this.#sql.select.get(key);
    if (row === undefined || (typeof row.expires === "number" && row.expires <= now)) {
      if (row) this.#delete(key);
      this.#misses++;
      return undefined;
    }
    const entry = rowToEntry(row);
    if (!entry) {
      this.#logger?.warn({ key }, "dropping a corrupt audio cache row");
      this.#delete(key);
      this.#misses++;
      return undefined;
    }
    this.#sql.touch.run(now, key);
    this.#hits++;
    return entry;
  }

  async set(key: string, value: CachedAudio): Promise<void> {
    const entry = CachedAudioSchema.parse(value);
    if (entry.audio.length > this.#maxEntryBytes) return;
    const now = this.#now();
    this.#pending.delete(key);
    this.#pending.set(key, { entry, storedAt: now, usedAt: now });
    if (this.#writeDelayMs <= 0) this.flush();
    else this.#flushTimer ??= setTimeout(() => this.#writeSome(), this.#writeDelayMs).unref();
  }

  /** Writes every pending entry now, then evicts down to the bounds. */
  flush(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#write(this.#pending.size);
  }

  /**
   * Writes up to `limit` pending entries (oldest first) in one transaction. The timer writes a few at
   * a time and yields in between, so a burst of new audio never holds the event loop for long.
   */
  #write(limit: number): void {
    if (this.#pending.size === 0 || limit <= 0) return;
    const batch = [...this.#pending].slice(0, limit);
    for (const [key] of batch) this.#pending.delete(key);
    try {
      inTransaction(this.#db, () => {
        for (const [key, { entry, storedAt, usedAt }] of batch) {
          this.#sql.remove.run(key);
          this.#sql.insert.run(
            key,
            entry.format,
            entry.sampleRate,
            entry.channels,
            entry.durationMs ?? null,
            entry.usageCharacters ?? null,
            entry.meta === undefined ? null : JSON.stringify(entry.meta),
            entry.createdAt,
            usedAt,
            this.#ttlMs > 0 ? storedAt + this.#ttlMs : null,
            entry.audio.length,
            entry.audio,
          );
        }
        this.#purgeExpired(this.#now());
        this.#evictOverBounds();
      });
    } catch (err) {
      this.#logger?.warn({ err, entries: batch.length }, "audio cache write failed");
    }
  }

  #writeSome(): void {
    this.#flushTimer = undefined;
    this.#write(WRITES_PER_TURN);
    if (this.#pending.size > 0) {
      this.#flushTimer = setTimeout(() => this.#writeSome(), 0).unref();
    }
  }

  async close(): Promise<void> {
    this.flush();
  }

  async stats(): Promise<AudioCacheStats> {
    this.flush();
    this.#purgeExpired(this.#now());
    const row = this.#sql.totals.get();
    return {
      entries: Number(row?.entries ?? 0),
      bytes: Number(row?.bytes ?? 0),
      hits: this.#hits,
      misses: this.#misses,
    };
  }

  #delete(key: string): void {
    this.#sql.remove.run(key);
  }

  /** Drops least recently used entries until the totals fit (the newest entry always fits). */
  #evictOverBounds(): void {
    for (;;) {
      const { entries, bytes } = this.#totals();
      if (bytes <= this.#maxBytes && entries <= this.#maxEntries) return;
      const oldest = this.#sql.oldest.get();
      if (oldest === undefined) return;
      this.#sql.remove.run(oldest.key as string);
    }
  }

  #totals(): { entries: number; bytes: number } {
    const row = this.#sql.totals.get();
    return { entries: Number(row?.entries ?? 0), bytes: Number(row?.bytes ?? 0) };
  }

  #purgeExpired(now: number): void {
    this.#sql.purge.run(now);
  }
}

/** A row back into an entry, or undefined when any part of it is not what set() writes. */
function rowToEntry(row: Record<string, SQLOutputValue>): CachedAudio | undefined {
  const audio = row.audio;
  if (!(audio instanceof Uint8Array) || audio.length !== row.bytes) return undefined;
  let meta: unknown;
  try {
    meta = typeof row.meta === "string" ? JSON.parse(row.meta) : undefined;
  } catch {
    return undefined;
  }
  const parsed = CachedAudioSchema.safeParse({
    // A view on the bytes SQLite returned, not a copy.
    audio: Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength),
    format: row.format,
    sampleRate: row.sample_rate,
    channels: row.channels,
    durationMs: row.duration_ms ?? undefined,
    usageCharacters: row.usage_characters ?? undefined,
    createdAt: row.created_at,
    meta,
  });
  return parsed.success ? parsed.data : undefined;
}

/** node-redis's code for RESP's bulk string ("$"): mapped to Buffer, replies keep the audio's bytes. */
const RESP_BLOB_STRING = 0x24;

/** What an entry's `info` field holds: everything but the audio. */
const EntryInfoSchema = CachedAudioSchema.omit({ audio: true });
const GetReply = z.union([z.null(), z.tuple([z.instanceof(Buffer), z.instanceof(Buffer)])]);
const StatsReply = z.tuple([z.number().int().nonnegative(), z.number().int()]);

/** The part of the node-redis client the cache uses. */
export type AudioCacheRedis = Pick<RedisClientType, "eval" | "withTypeMapping">;

/**
 * In Redis, for a fleet: the same bounds as the SQLite cache (total audio bytes, least recently used
 * evicted first) held for every process at once, since each call is one Lua script that Redis runs
 * atomically (see audio-cache-scripts.ts), one round trip per call. The audio is stored as raw bytes;
 * Redis expires entries by TTL and the index forgets them when it meets them. Writes are not deferred
 * as in SQLite (whose commit is the costly part): a Redis write is one round trip, and the other
 * processes see the entry at once.
 */
export class RedisAudioCache implements AudioCache {
  readonly #client: AudioCacheRedis;
  readonly #binary: ReturnType<AudioCacheRedis["withTypeMapping"]>;
  readonly #prefix: string;
  readonly #index: [string, string, string, string];
  readonly #maxBytes: number;
  readonly #maxEntries: number;
  readonly #maxEntryBytes: number;
  readonly #ttlMs: number;
  readonly #logger: AudioCacheLogger | undefined;
  #hits = 0;
  #misses = 0;

  constructor(client: AudioCacheRedis, opts: RedisAudioCacheOptions = {}) {
    const namespace = opts.namespace ?? "audio-cache";
    // As storage namespaces: `:` in one could reach into another's keys.
    if (!/^[A-Za-z0-9_.-]+$/.test(namespace)) {
      throw new Error(`audio cache namespace "${namespace}" must be letters, digits, "_", "-" or "."`);
    }
    this.#client = client;
    this.#binary = client.withTypeMapping({ [RESP_BLOB_STRING]: Buffer });
    this.#prefix = `${namespace}::`;
    const index = `${namespace}-index::`;
    this.#index = [`${index}lru`, `${index}expiry`, `${index}sizes`, `${index}totals`];
    this.#maxBytes = opts.maxBytes ?? AUDIO_CACHE_DEFAULTS.maxBytes;
    this.#maxEntries = opts.maxEntries ?? Number.MAX_SAFE_INTEGER;
    // An entry larger than the whole cache would evict everything and then itself.
    this.#maxEntryBytes = Math.min(opts.maxEntryBytes ?? AUDIO_CACHE_DEFAULTS.maxEntryBytes, this.#maxBytes);
    this.#ttlMs = opts.ttlMs ?? AUDIO_CACHE_DEFAULTS.ttlMs;
    this.#logger = opts.logger;
  }

  async get(key: string): Promise<CachedAudio | undefined> {
    const reply = GetReply.safeParse(
      await this.#run("read", this.#binary, GET_SCRIPT, key, [this.#prefix, key]),
    );
    const entry = reply.success && reply.data ? parseEntry(reply.data[0], reply.data[1]) : undefined;
    if (entry) {
      this.#hits++;
      return entry;
    }
    if (!reply.success || reply.data) {
      this.#logger?.warn({ key }, "dropping a corrupt audio cache entry");
      await this.#run("drop", this.#client, DROP_SCRIPT, key, [this.#prefix, key]);
    }
    this.#misses++;
    return undefined;
  }

  async set(key: string, value: CachedAudio): Promise<void> {
    const { audio, ...info } = CachedAudioSchema.parse(value);
    if (audio.length > this.#maxEntryBytes) return;
    await this.#run("write", this.#client, SET_SCRIPT, key, [
      this.#prefix,
      key,
      audio,
      JSON.stringify(info),
      String(audio.length),
      String(this.#ttlMs),
      String(this.#maxBytes),
      String(this.#maxEntries),
    ]);
  }

  async stats(): Promise<AudioCacheStats> {
    const reply = await this.#run("stats", this.#client, STATS_SCRIPT, "", [this.#prefix]);
    const [entries, bytes] = StatsReply.parse(reply);
    return { entries, bytes, hits: this.#hits, misses: this.#misses };
  }

  async #run(
    operation: string,
    client: Pick<AudioCacheRedis, "eval">,
    script: string,
    key: string,
    args: Array<string | Buffer>,
  ): Promise<unknown> {
    try {
      return await client.eval(script, { keys: [...this.#index, this.#prefix + key], arguments: args });
    } catch (err) {
      // node-redis's TimeoutError has no message: its class names it.
      const why = err instanceof Error ? err.message || err.constructor.name : String(err);
      throw new StorageError(`Redis audio cache ${operation} failed: ${why}`, { cause: err });
    }
  }
}

/** An entry's two fields back into an entry, or undefined when either is not what set() writes. */
function parseEntry(audio: Buffer, info: Buffer): CachedAudio | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(info.toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = EntryInfoSchema.safeParse(fields);
  return parsed.success ? { audio, ...parsed.data } : undefined;
}
