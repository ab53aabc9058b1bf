import { EventEmitter } from "node:events";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import type { KeyvStoreAdapter, StoredData } from "keyv";

/**
 * A Keyv storage adapter over Node's built-in `node:sqlite`: no native module to build, one file on
 * disk. Several adapters (one per Keyv namespace) share one `DatabaseSync` handle and one `keyv` table.
 */

export const SQLITE_MEMORY = ":memory:";
export const KEYV_TABLE = "keyv";

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_SWEEP_INTERVAL_MS = 5 * 60_000;
const ITERATOR_PAGE = 100;

/**
 * `sqlite://data/bot.sqlite` → `data/bot.sqlite` (relative to the working directory),
 * `sqlite:///srv/bot.sqlite` → `/srv/bot.sqlite`, `sqlite://:memory:` → an in-memory database.
 * The rest is taken literally (no percent-decoding) so that any file name the shell accepts works.
 */
export function sqliteLocation(url: string): string {
  const prefix = "sqlite://";
  if (!url.startsWith(prefix)) throw new Error(`not a sqlite:// URL: "${url}"`);
  const location = url.slice(prefix.length);
  if (location === "" || location.endsWith("/")) {
    throw new Error(`"${url}" names no database file (expected e.g. sqlite://data/bot.sqlite)`);
  }
  return location;
}

export interface OpenSqliteOptions {
  /** How long a writer waits for another process's lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/** Opens (creating the file and its folder when needed) a database tuned for one bot process plus tools. */
export function openSqlite(location: string, opts: OpenSqliteOptions = {}): DatabaseSync {
  if (location !== SQLITE_MEMORY) mkdirSync(dirname(location), { recursive: true });
  const db = new DatabaseSync(location);
  try {
    const busy = Math.max(0, Math.trunc(opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS));
    db.exec(`PRAGMA busy_timeout = ${busy}`);
    // WAL lets the CLI read while the bot writes; NORMAL sync is durable across crashes in WAL mode
    // (only a power loss can drop the last commits), and avoids an fsync on every cache write.
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Runs `fn` in one write transaction (or inside the caller's, when one is already open). */
export function inTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  // IMMEDIATE takes the write lock up front, so a second process waits (busy_timeout) instead of
  // failing half-way through with SQLITE_BUSY on lock upgrade.
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

export interface SqliteStoreOptions {
  db: DatabaseSync;
  /** Keyv overwrites this with its own namespace; it decides what `clear()` and `iterator()` cover. */
  namespace?: string;
  /** Close the database on `disconnect()`. Only for a store that is the handle's sole user. */
  ownsDatabase?: boolean;
  /** `set()` deletes every expired row of the table at most this often. Default 5 minutes; 0 = on every set. */
  sweepIntervalMs?: number;
  now?: () => number;
}

interface Statements {
  select: StatementSync;
  upsert: StatementSync;
  remove: StatementSync;
  clearRange: StatementSync;
  clearAll: StatementSync;
  page: StatementSync;
  purge: StatementSync;
}

export class SqliteStore extends EventEmitter implements KeyvStoreAdapter {
  /** Keyv reads `dialect` to decide that this adapter can iterate. */
  readonly opts: { dialect: "sqlite"; url: string };
  namespace: string | undefined;
  readonly db: DatabaseSync;
  readonly #owns: boolean;
  readonly #sweepIntervalMs: number;
  readonly #now: () => number;
  readonly #sql: Statements;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: SqliteStoreOptions) {
    super();
    this.db = options.db;
    this.namespace = options.namespace;
    this.#owns = options.ownsDatabase ?? false;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    this.#now = options.now ?? Date.now;
    this.opts = { dialect: "sqlite", url: "sqlite://" };
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${KEYV_TABLE} (key TEXT PRIMARY KEY, value TEXT, expires INTEGER NULL);
       CREATE INDEX IF NOT EXISTS ${KEYV_TABLE}_expires ON ${KEYV_TABLE}(expires) WHERE expires IS NOT NULL;`,
    );
    this.#sql = {
      select: this.db.prepare(`SELECT value, expires FROM ${KEYV_TABLE} WHERE key = ?`),
      upsert: this.db.prepare(
        `INSERT INTO ${KEYV_TABLE} (key, value, expires) VALUES (?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires`,
      ),
      remove: this.db.prepare(`DELETE FROM ${KEYV_TABLE} WHERE key = ?`),
      // Keyv prefixes keys with `namespace:`; since `;` follows `:`, [ns + ":", ns + ";") is exactly
      // that prefix, and a range uses the primary-key index where LIKE (with its escaping) would not.
      clearRange: this.db.prepare(`DELETE FROM ${KEYV_TABLE} WHERE key >= ? AND key < ?`),
      clearAll: this.db.prepare(`DELETE FROM ${KEYV_TABLE}`),
      page: this.db.prepare(
        `SELECT key, value, expires FROM ${KEYV_TABLE} WHERE key >= ? AND key < ? ORDER BY key LIMIT ${ITERATOR_PAGE}`,
      ),
      purge: this.db.prepare(`DELETE FROM ${KEYV_TABLE} WHERE expires IS NOT NULL AND expires <= ?`),
    };
  }

  /** Opens the database named by a `sqlite://` URL; `disconnect()` closes it. */
  static open(
    url: string,
    options: Omit<SqliteStoreOptions, "db" | "ownsDatabase"> & OpenSqliteOptions = {},
  ) {
    const db = openSqlite(sqliteLocation(url), options);
    return new SqliteStore({ ...options, db, ownsDatabase: true });
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.#read(key) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return keys.map((key) => this.#read(key) as StoredData<Value | undefined>);
  }

  async has(key: string): Promise<boolean> {
    return this.#read(key) !== undefined;
  }

  async set(key: string, value: unknown, ttl?: number): Promise<void> {
    // Keyv hands adapters its serialized string (with the expiry inside it); storing anything else
    // would need a second serializer here.
    if (typeof value !== "string") {
      throw new TypeError(`SqliteStore stores Keyv's serialized strings, got ${typeof value}`);
    }
    const now = this.#now();
    const expires = typeof ttl === "number" && ttl > 0 ? now + ttl : null;
    this.#sql.upsert.run(key, value, expires);
    this.#maybeSweep(now);
  }

  async delete(key: string): Promise<boolean> {
    return Number(this.#sql.remove.run(key).changes) > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let deleted = 0;
    inTransaction(this.db, () => {
      for (const key of keys) deleted += Number(this.#sql.remove.run(key).changes);
    });
    return deleted > 0;
  }

  /** Clears this namespace only; without a namespace, the whole table (as Keyv's own adapters do). */
  async clear(): Promise<void> {
    if (this.namespace === undefined) this.#sql.clearAll.run();
    else this.#sql.clearRange.run(`${this.namespace}:`, `${this.namespace};`);
  }

  /**
   * Yields `[key, serialized]` for the namespace's live rows. Pages by key rather than holding one
   * statement open, because Keyv deletes expired entries while it iterates.
   */
  async *iterator<Value>(
    namespace?: string,
  ): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const ns = namespace ?? this.namespace;
    let from = ns === undefined ? "" : `${ns}:`;
    // U+10FFFF sorts after every key SQLite can hold as valid UTF-8 text.
    const end = ns === undefined ? "\u{10FFFF}" : `${ns};`;
    for (;;) {
      const rows = this.#sql.page.all(from, end);
      for (const row of rows) {
        const key = String(row.key);
        // The smallest string after `key`: the next page starts strictly past it.
        from = `${key}\0`;
        if (typeof row.value === "string" && !this.#expired(row.expires, this.#now())) yield [key, row.value];
      }
      if (rows.length < ITERATOR_PAGE) return;
    }
  }

  /** Deletes every expired row of the table, whatever its namespace. Returns how many went. */
  purgeExpired(): number {
    const now = this.#now();
    this.#lastSweep = now;
    return Number(this.#sql.purge.run(now).changes);
  }

  async disconnect(): Promise<void> {
    if (this.#owns && this.db.isOpen) this.db.close();
  }

  #read(key: string): string | undefined {
    const row = this.#sql.select.get(key);
    if (row === undefined) return undefined;
    if (this.#expired(row.expires, this.#now())) {
      this.#sql.remove.run(key);
      return undefined;
    }
    if (typeof row.value !== "string") {
      throw new Error(`${KEYV_TABLE} row "${key}" holds no serialized value (${typeof row.value})`);
    }
    return row.value;
  }

  #expired(expires: SQLOutputValue | undefined, now: number): boolean {
    return (typeof expires === "number" || typeof expires === "bigint") && Number(expires) <= now;
  }

  /** Opportunistic, so no timer keeps the process alive or outlives the database handle. */
  #maybeSweep(now: number): void {
    if (now - this.#lastSweep < this.#sweepIntervalMs) return;
    this.purgeExpired();
  }
}
