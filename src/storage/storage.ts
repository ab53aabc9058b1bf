import type { DatabaseSync } from "node:sqlite";
import KeyvRedis, { createClient, type RedisClientType } from "@keyv/redis";
import { Keyv } from "keyv";
import { openSqlite, SqliteStore, sqliteLocation } from "./sqlite-store.ts";

/**
 * The key-value storage the bot's components share: the embedded SQLite file by default, Redis when
 * several processes must see the same data. Each component asks for its own namespace.
 */

export interface Storage {
  readonly kind: "sqlite" | "redis";
  /**
   * A Keyv view of one namespace; the same namespace gives the same instance. Store failures reject
   * the call (Keyv's `throwOnErrors`) rather than reading as "not found".
   */
  keyv<T>(namespace: string): Keyv<T>;
  /** The SQLite handle behind the store, for components that keep their own tables (the audio cache). */
  readonly sqlite?: DatabaseSync;
  /** Idempotent. Keyv instances handed out before stop working. */
  close(): Promise<void>;
}

export interface StorageLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface StorageOptions {
  logger?: StorageLogger;
  /** SQLite: how long a write waits for another process's lock. Default 5 s. */
  busyTimeoutMs?: number;
  /** Redis: how long start-up keeps trying to reach the server. Default 5 s. */
  connectTimeoutMs?: number;
  /** Redis: a command (including one queued while reconnecting) fails after this long. Default 5 s. */
  commandTimeoutMs?: number;
}

export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

export async function createStorage(url: string, opts: StorageOptions = {}): Promise<Storage> {
  if (url.startsWith("sqlite://")) return openSqliteStorage(url, opts);
  if (url.startsWith("redis://") || url.startsWith("rediss://")) return openRedisStorage(url, opts);
  throw new StorageError(
    `STORAGE_URL must start with sqlite://, redis:// or rediss:// (got "${redactUrl(url)}")`,
  );
}

/**
 * Keyv and the stores put `namespace:` (SQLite) or `namespace::` (Redis) before keys and clear by that
 * prefix, so a namespace containing `:` could reach into another one's keys.
 */
function checkNamespace(namespace: string): void {
  if (!/^[A-Za-z0-9_.-]+$/.test(namespace)) {
    throw new StorageError(`storage namespace "${namespace}" must be letters, digits, "_", "-" or "."`);
  }
}

function namespaceCache(closed: () => boolean, make: (namespace: string) => Keyv<unknown>) {
  const instances = new Map<string, Keyv<unknown>>();
  return <T>(namespace: string): Keyv<T> => {
    if (closed()) throw new StorageError("storage is closed");
    checkNamespace(namespace);
    let keyv = instances.get(namespace);
    if (!keyv) {
      keyv = make(namespace);
      instances.set(namespace, keyv);
    }
    // Keyv does not validate what it reads back either way; callers parse values they did not write.
    return keyv as Keyv<T>;
  };
}

function openSqliteStorage(url: string, opts: StorageOptions): Storage {
  let db: DatabaseSync;
  try {
    db = openSqlite(sqliteLocation(url), { busyTimeoutMs: opts.busyTimeoutMs });
  } catch (err) {
    throw new StorageError(`Cannot open the SQLite database of STORAGE_URL=${url}: ${describe(err)}`, {
      cause: err,
    });
  }
  let closed = false;
  return {
    kind: "sqlite",
    sqlite: db,
    // One adapter per namespace (Keyv writes its namespace onto the adapter), all on the one handle.
    keyv: namespaceCache(
      () => closed,
      (namespace) =>
        new Keyv<unknown>({ store: new SqliteStore({ db, namespace }), namespace, throwOnErrors: true }),
    ),
    async close() {
      if (closed) return;
      closed = true;
      if (db.isOpen) db.close();
    },
  };
}

/**
 * KeyvRedis with two gaps closed: `clear()` only emitted a failed SCAN/UNLINK (now it rejects like
 * every other call), and a call after close() would quietly reconnect the shared client.
 */
class StrictKeyvRedis extends KeyvRedis<unknown> {
  readonly #closed: () => boolean;

  constructor(client: RedisClientType, namespace: string, closed: () => boolean) {
    super(client, { namespace, throwOnErrors: true });
    this.#closed = closed;
  }

  override async getClient(): ReturnType<KeyvRedis<unknown>["getClient"]> {
    if (this.#closed()) throw new StorageError("storage is closed");
    return super.getClient();
  }

  override async clear(): Promise<void> {
    let failure: unknown;
    const capture = (err: unknown) => {
      failure ??= err;
    };
    this.on("error", capture);
    try {
      await super.clear();
    } finally {
      this.off("error", capture);
    }
    if (failure !== undefined) throw failure;
  }
}

async function openRedisStorage(url: string, opts: StorageOptions): Promise<Storage> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  const started = Date.now();
  let state: "starting" | "up" | "down" | "closed" = "starting";
  const client: RedisClientType = createClient({
    url,
    commandOptions: { timeout: opts.commandTimeoutMs ?? 5_000 },
    socket: {
      connectTimeout: connectTimeoutMs,
      // At start-up, retry briefly (a container may still be starting) and then give up so the bot
      // fails with a clear message; once connected, keep reconnecting with a capped backoff.
      reconnectStrategy: (retries) => {
        if (state === "closed") return false;
        if (state !== "starting") return Math.min(2 ** retries * 100, 2_000);
        return Date.now() - started < connectTimeoutMs ? 250 : false;
      },
    },
  });
  // Without a listener an `error` event would crash the process. Before start-up succeeds the failure
  // is reported by the rejected connect() below; after, one line per outage rather than per retry.
  client.on("error", (err: unknown) => {
    if (state !== "up") return;
    state = "down";
    opts.logger?.warn({ err: describe(err) }, "lost the Redis connection; reconnecting");
  });
  client.on("ready", () => {
    if (state !== "down") return;
    state = "up";
    opts.logger?.info({ url: redactUrl(url) }, "reconnected to Redis");
  });
  try {
    await client.connect();
  } catch (err) {
    // A strategy that gave up has closed the client already.
    if (client.isOpen) client.destroy();
    throw new StorageError(
      `Cannot connect to Redis at STORAGE_URL=${redactUrl(url)} within ${connectTimeoutMs} ms: ${describe(err)}. ` +
        "Check that the server is running and reachable, or use sqlite://data/bot.sqlite for the embedded store.",
      { cause: err },
    );
  }
  state = "up";
  opts.logger?.info({ url: redactUrl(url) }, "connected to Redis");

  const closed = () => state === "closed";
  return {
    kind: "redis",
    // All namespaces share the one client (and its one connection); only close() ends it.
    keyv: namespaceCache(closed, (namespace) => {
      const store = new StrictKeyvRedis(client, namespace, closed);
      // The adapter prefixes keys itself (`namespace::key`); Keyv must not add its own prefix.
      return new Keyv<unknown>({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
    }),
    async close() {
      if (state === "closed") return;
      state = "closed";
      // close() lets queued commands finish, which while disconnected would wait for their timeouts.
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}

/** Hides a password in a redis://user:password@host URL. */
export function redactUrl(url: string): string {
  return url.replace(/^(\w+:\/\/[^:/@]*:)[^@/]*@/, "$1***@");
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(describe).join("; ");
  }
  if (err instanceof Error) {
    const code = (err as Error & { code?: unknown }).code;
    return err.message || (typeof code === "string" ? code : err.name);
  }
  return String(err);
}
