import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import type { Keyv } from "keyv";
import { z } from "zod";
import { inTransaction } from "../storage/sqlite-store.ts";
import type { Storage } from "../storage/storage.ts";

/**
 * Synthesized audio kept by request key (see cache-key.ts), so that repeating a request costs neither
 * time nor provider characters. Two homes: a table in the bot's SQLite file (bounded by size, LRU), or
 * Redis through Keyv (bounded by TTL; Redis's own maxmemory policy bounds its size).
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

export interface KeyvAudioCacheOptions extends AudioCacheOptions {
  /** Prefix of the two Keyv namespaces the cache uses. Default `audio-cache`. */
  namespace?: string;
}

export function createAudioCache(
  storage: Storage,
  opts: SqliteAudioCacheOptions & KeyvAudioCacheOptions = {},
): AudioCache {
  if (storage.kind === "sqlite") {
    if (!storage.sqlite) throw new Error("SQLite storage without a database handle");
    return new SqliteAudioCache(storage.sqlite, opts);
  }
  return new KeyvAudioCache(storage, opts);
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

/**
 * Through Keyv, for Redis (or any store): the audio travels base64-encoded by Keyv's serializer. A
 * second namespace holds each entry's size, so stats() can count without downloading the audio.
 */
export class KeyvAudioCache implements AudioCache {
  readonly #entries: Keyv<unknown>;
  readonly #sizes: Keyv<unknown>;
  readonly #maxEntryBytes: number;
  readonly #ttlMs: number;
  readonly #logger: AudioCacheLogger | undefined;
  #hits = 0;
  #misses = 0;

  constructor(storage: Pick<Storage, "keyv">, opts: KeyvAudioCacheOptions = {}) {
    const namespace = opts.namespace ?? "audio-cache";
    this.#entries = storage.keyv(namespace);
    this.#sizes = storage.keyv(`${namespace}-sizes`);
    this.#maxEntryBytes = opts.maxEntryBytes ?? AUDIO_CACHE_DEFAULTS.maxEntryBytes;
    this.#ttlMs = opts.ttlMs ?? AUDIO_CACHE_DEFAULTS.ttlMs;
    this.#logger = opts.logger;
  }

  async get(key: string): Promise<CachedAudio | undefined> {
    let raw: unknown;
    try {
      raw = await this.#entries.get(key);
    } catch (err) {
      // Keyv's JSON.parse failing means a mangled value; anything else is the store's failure.
      if (!(err instanceof SyntaxError)) throw err;
      raw = null;
    }
    if (raw === undefined) {
      this.#misses++;
      return undefined;
    }
    const parsed = CachedAudioSchema.safeParse(raw);
    if (!parsed.success) {
      this.#logger?.warn({ key }, "dropping a corrupt audio cache entry");
      await Promise.all([this.#entries.delete(key), this.#sizes.delete(key)]);
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    return parsed.data;
  }

  async set(key: string, value: CachedAudio): Promise<void> {
    const entry = CachedAudioSchema.parse(value);
    if (entry.audio.length > this.#maxEntryBytes) return;
    // Keyv reads a ttl of 0 as "no expiry".
    await this.#entries.set(key, entry, this.#ttlMs);
    await this.#sizes.set(key, entry.audio.length, this.#ttlMs);
  }

  /** Entries and bytes are approximate: an entry Redis evicted under memory pressure still counts until its TTL. */
  async stats(): Promise<AudioCacheStats> {
    const iterate = this.#sizes.iterator;
    if (!iterate) throw new Error("the storage behind the audio cache cannot list its keys");
    let entries = 0;
    let bytes = 0;
    for await (const [, size] of iterate(undefined)) {
      if (typeof size !== "number") continue;
      entries++;
      bytes += size;
    }
    return { entries, bytes, hits: this.#hits, misses: this.#misses };
  }
}
