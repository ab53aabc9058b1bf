import type { DatabaseSync } from "node:sqlite";
import KeyvRedis, { createClient, type RedisClientType } from "@keyv/redis";
import { Keyv } from "keyv";
import type { AtomicUpdate } from "./key-value.ts";
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
  keyv<T>(namespace: string): Keyv<T> & Partial<AtomicUpdate>;
  /** The SQLite handle behind the store, for components that keep their own tables (the audio cache). */
  readonly sqlite?: DatabaseSync;
  /** The Redis client behind the store, for components that run their own scripts (the budget store). */
  readonly redis?: RedisClientType;
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
  /**
   * Redis: a command (including one queued while reconnecting) fails after this long. Default 1.5 s,
   * so that a command handler waiting on a read learns of an outage well inside Discord's 3 s window.
   */
  commandTimeoutMs?: number;
}

export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

/** Default Redis command timeout (see `StorageOptions.commandTimeoutMs`). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_500;

/**
 * What node-redis throws when the server is away: a command timing out (also one queued while
 * reconnecting), the socket dropping, the client closed or offline, or the connection failing.
 */
const REDIS_OUTAGE_ERRORS = new Set([
  "TimeoutError",
  "ConnectionTimeoutError",
  "SocketTimeoutError",
  "SocketClosedUnexpectedlyError",
  "ClientClosedError",
  "ClientOfflineError",
  "DisconnectsClientError",
  "ReconnectStrategyError",
  "CommandTimeoutDuringMaintenanceError",
  "SocketTimeoutDuringMaintenanceError",
]);

/**
 * True when `err` (or an error it wraps, through `cause`) means the storage could not be used: a
 * StorageError, a Redis outage, the Keyv Redis adapter failing to connect, or SQLite refusing
 * (locked, closed, disk full). Handlers that fail this way get "storage is unavailable" rather than
 * a generic apology.
 */
export function isStorageFailure(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof StorageError || e.name === "StorageError") return true;
    if (REDIS_OUTAGE_ERRORS.has(e.constructor.name)) return true;
    if (e.message.startsWith("Redis client is not connected")) return true;
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("ERR_SQLITE")) return true;
  }
  return false;
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

function namespaceCache(
  closed: () => boolean,
  make: (namespace: string) => Keyv<unknown> & Partial<AtomicUpdate>,
) {
  const instances = new Map<string, Keyv<unknown> & Partial<AtomicUpdate>>();
  return <T>(namespace: string): Keyv<T> & Partial<AtomicUpdate> => {
    if (closed()) throw new StorageError("storage is closed");
    checkNamespace(namespace);
    let keyv = instances.get(namespace);
    if (!keyv) {
      keyv = make(namespace);
      instances.set(namespace, keyv);
    }
    // Keyv does not validate what it reads back either way; callers parse values they did not write.
    return keyv as Keyv<T> & Partial<AtomicUpdate>;
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
 * KeyvRedis with three gaps closed: `clear()` only emitted a failed SCAN/UNLINK (now it rejects like
 * every other call), a call after close() would quietly reconnect the shared client, and a failure
 * surfaced as whatever node-redis threw (a TimeoutError has no message at all): every call now
 * rejects with a StorageError naming the operation, with the original error as its `cause`.
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

  override get<U = unknown>(key: string): Promise<U | undefined> {
    return this.#guard("GET", () => super.get<U>(key));
  }

  override getMany<U = unknown>(keys: string[]): Promise<Array<U | undefined>> {
    return this.#guard("MGET", () => super.getMany<U>(keys));
  }

  override has(key: string): Promise<boolean> {
    return this.#guard("EXISTS", () => super.has(key));
  }

  override hasMany(keys: string[]): Promise<boolean[]> {
    return this.#guard("EXISTS", () => super.hasMany(keys));
  }

  override set(key: string, value: string, ttl?: number): Promise<void> {
    return this.#guard("SET", () => super.set(key, value, ttl));
  }

  override setMany(entries: Parameters<KeyvRedis<unknown>["setMany"]>[0]): Promise<void> {
    return this.#guard("SET", () => super.setMany(entries));
  }

  override delete(key: string): Promise<boolean> {
    return this.#guard("DEL", () => super.delete(key));
  }

  override deleteMany(keys: string[]): Promise<boolean> {
    return this.#guard("DEL", () => super.deleteMany(keys));
  }

  async #guard<R>(operation: string, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`Redis ${operation} failed: ${describe(err)}`, { cause: err });
    }
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
    if (failure !== undefined) {
      throw failure instanceof StorageError
        ? failure
        : new StorageError(`Redis clear failed: ${describe(failure)}`, { cause: failure });
    }
  }
}

async function openRedisStorage(url: string, opts: StorageOptions): Promise<Storage> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  const started = Date.now();
  let state: "starting" | "up" | "down" | "closed" = "starting";
  const client: RedisClientType = createClient({
    url,
    commandOptions: { timeout: opts.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS },
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
    redis: client,
    // All namespaces share the one client (and its one connection); only close() ends it.
    keyv: namespaceCache(closed, (namespace) => {
      // Each namespace's adapter (KeyvRedis's initClient) puts one listener per client event (error,
      // connect, disconnect, reconnecting) on the shared client, for the storage's lifetime: Node
      // warned of a leak from the tenth namespace on. The limit grows by one per namespace (each is
      // made once), so that a listener added per call would still be reported.
      const limit = client.getMaxListeners();
      if (limit > 0) client.setMaxListeners(limit + 1);
      const store = new StrictKeyvRedis(client, namespace, closed);
      // The adapter prefixes keys itself (`namespace::key`); Keyv must not add its own prefix.
      const keyv = new Keyv<unknown>({ store, namespace, useKeyPrefix: false, throwOnErrors: true });
      return Object.assign(keyv, { update: compareAndSet(client, keyv, (key) => `${namespace}::${key}`) });
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

/**
 * KEYS[1]: the key. ARGV: the raw value read before (ARGV[2] "1"), or absent (ARGV[2] "0"); the new raw
 * value; its time to live in ms (0: none). Writes only if the key still holds what was read.
 */
const COMPARE_AND_SET = `
local current = redis.call('get', KEYS[1])
if ARGV[2] == '1' then
  if current ~= ARGV[1] then return 0 end
elseif current then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call('set', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('set', KEYS[1], ARGV[3])
end
return 1
`;

/**
 * `AtomicUpdate` on one Keyv namespace of Redis: the raw value is read, changed, and written back by a
 * script only if nobody wrote it meanwhile (optimistic: no lock is held, a loser re-reads and tries
 * again). Values go through Keyv's own serialisation, so Keyv reads what this writes.
 */
function compareAndSet(
  client: RedisClientType,
  keyv: Keyv<unknown>,
  rawKey: (key: string) => string,
): AtomicUpdate["update"] {
  return async (key, change) => {
    try {
      const raw = await client.get(rawKey(key));
      let current: unknown;
      if (raw !== null) {
        const data = (await keyv.deserializeData(raw)) as { value?: unknown; expires?: number } | undefined;
        const expired = typeof data?.expires === "number" && Date.now() > data.expires;
        current = expired ? undefined : data?.value;
      }
      const next = change(current);
      if (next === undefined) return false;
      const ttl = next.ttl !== undefined && next.ttl > 0 ? next.ttl : undefined;
      const encoded = await keyv.serializeData({
        value: next.value,
        expires: ttl === undefined ? undefined : Date.now() + ttl,
      });
      const written = await client.eval(COMPARE_AND_SET, {
        keys: [rawKey(key)],
        arguments: [raw ?? "", raw === null ? "0" : "1", String(encoded), String(ttl ?? 0)],
      });
      return written === 1;
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(`Redis update failed: ${describe(err)}`, { cause: err });
    }
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
    // node-redis's TimeoutError has neither a message nor a name of its own: its class says it all.
    const name = err.name === "Error" ? err.constructor.name : err.name;
    return err.message || (typeof code === "string" ? code : name);
  }
  return String(err);
}
