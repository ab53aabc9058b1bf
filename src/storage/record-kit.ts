import { randomBytes } from "node:crypto";
import { AsyncQueue } from "@sapphire/async-queue";
import { z } from "zod";
import type { KeyValue, RecordKeyValue } from "./key-value.ts";

/**
 * The mechanics shared by the stores that keep records plus id indexes in one Keyv namespace (jobs,
 * narration requests): one writer at a time, records validated on the way in and parsed on the way
 * out, a finished record's input dropped and its record expiring, index lists kept in step with the
 * records (and pruned of the gone ones when read). Each store states only its own keys and indexes.
 */

/** A record's states: the zod enum, the final ones (a final record is done with), and their test. */
export function recordStates<const S extends readonly [string, ...string[]], F extends S[number]>(
  states: S,
  final: readonly F[],
) {
  const schema = z.enum(states);
  const finals: readonly S[number][] = final;
  return { schema, final: finals, isFinal: (state: S[number]) => finals.includes(state) };
}

/** Runs each function after every one queued before it; a failed one does not block the rest. */
export function createSerialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  const queue = new AsyncQueue();
  return async <T>(fn: () => Promise<T>) => {
    await queue.wait();
    try {
      return await fn();
    } finally {
      queue.shift();
    }
  };
}

/**
 * One serial queue per key (a guild, a member): `fn` runs after every earlier call with the same key,
 * while other keys go on in parallel. Keys with nothing queued are forgotten, so the map stays small.
 */
export function createKeyedSerialQueue(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>) => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const settled = run.catch(() => undefined);
    tails.set(key, settled);
    void settled.then(() => {
      if (tails.get(key) === settled) tails.delete(key);
    });
    return run;
  };
}

export async function readIdList(kv: Pick<KeyValue, "get">, key: string): Promise<string[]> {
  const value = await kv.get(key);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The ids of `ids` that none of `records` has (gone, or filtered out). */
export function idsMissing(ids: readonly string[], records: readonly { id: string }[]): string[] {
  const present = new Set(records.map((r) => r.id));
  return ids.filter((id) => !present.has(id));
}

/**
 * A stored record, parsed; an invalid one (an older version, a damaged store) is reported and read
 * as missing, so it cannot stop the others from being served.
 */
export async function readRecord<S extends z.ZodType>(
  kv: Pick<KeyValue, "get">,
  key: string,
  schema: S,
  onInvalid: (issues: z.core.$ZodIssue[]) => void,
): Promise<z.output<S> | undefined> {
  const raw = await kv.get(key);
  if (raw === undefined || raw === null) return undefined;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    onInvalid(parsed.error.issues.slice(0, 5));
    return undefined;
  }
  return parsed.data;
}

/** Tries of a compare-and-set before giving up: each loss means another process just wrote the key. */
const MAX_CONFLICTS = 50;

/** Inside `update`: the record changed since it was read; `update` reads it again. */
class StaleRecordError extends Error {
  constructor() {
    super("the record changed since it was read");
    this.name = "StaleRecordError";
  }
}

/** Two processes wrote the same key at once more often than `MAX_CONFLICTS` in a row. */
export class RecordConflictError extends Error {
  constructor(key: string) {
    super(`storage: ${key} kept changing under this write; giving up`);
    this.name = "RecordConflictError";
  }
}

function toIdList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The id list at `key` changed by `change` (undefined: leave it). With a store shared by processes
 * (`AtomicUpdate`) the change is applied by compare-and-set and retried when another process wrote
 * the list meanwhile, so two processes adding ids at once both land; otherwise it is a plain read and
 * write, serialised by the caller's queue. Returns the list as written (or as found).
 */
export async function updateIdList(
  kv: RecordKeyValue,
  key: string,
  change: (ids: string[]) => string[] | undefined,
  ttl?: number,
): Promise<string[]> {
  if (!kv.update) {
    const ids = await readIdList(kv, key);
    const next = change(ids);
    if (next === undefined) return ids;
    await kv.set(key, next, ttl);
    return next;
  }
  for (let i = 0; i < MAX_CONFLICTS; i++) {
    let result: string[] = [];
    let declined = false;
    const written = await kv.update(key, (current) => {
      const ids = toIdList(current);
      const next = change(ids);
      declined = next === undefined;
      result = next ?? ids;
      return next === undefined ? undefined : { value: next, ttl };
    });
    if (written || declined) return result;
  }
  throw new RecordConflictError(key);
}

/**
 * Re-checks `suspects` (ids a reader found without a record) and removes the gone ones from the id
 * list at `key`, keeping at most the last `max`. Call it inside the store's write queue, so an id
 * added meanwhile is not lost. Writes only when something changed; returns the ids kept.
 */
export async function pruneIdList(
  kv: RecordKeyValue,
  key: string,
  suspects: readonly string[],
  isGone: (id: string) => Promise<boolean>,
  opts: { max?: number; ttl?: number } = {},
): Promise<string[]> {
  const gone = new Set<string>();
  for (const id of suspects) if (await isGone(id)) gone.add(id);
  return updateIdList(
    kv,
    key,
    (current) => {
      let kept = current.filter((id) => !gone.has(id));
      if (opts.max !== undefined) kept = kept.slice(-opts.max);
      return kept.length !== current.length ? kept : undefined;
    },
    opts.ttl,
  );
}

/** Adds `id` to the list at `key` (kept for ever) unless it is there. */
export async function addToIdList(kv: RecordKeyValue, key: string, id: string): Promise<void> {
  await updateIdList(kv, key, (ids) => (ids.includes(id) ? undefined : [...ids, id]));
}

/** What a finished record keeps of its input (see `DroppedInputSchema` in src/text/narration-input.ts). */
export interface DroppedInputMarker {
  kind: "dropped";
  chars: number;
  fileName?: string;
}

/** The input of a finished record without its text or bytes: its size, and a file's name. */
export function dropInput(input: { kind: string; fileName?: string }, chars: number): DroppedInputMarker {
  if (input.kind === "dropped") return input as DroppedInputMarker;
  return input.fileName === undefined
    ? { kind: "dropped", chars }
    : { kind: "dropped", chars, fileName: input.fileName };
}

/** The fields the kit reads of a record. Its input's schema must accept the dropped marker. */
export interface KeptRecord {
  id: string;
  createdAt: number;
  chars: number;
  input: { kind: string; fileName?: string };
}

/** What every record store offers; each adds its own lists. */
export interface RecordStore<R> {
  get(id: string): Promise<R | undefined>;
  /** Validates, stamps `updatedAt`, stores and keeps the indexes in step. Returns what was stored. */
  put(record: R): Promise<R>;
  /**
   * Read-modify-write of one record, serialised with every other write of the store. `change` gets
   * the current record (undefined when missing or invalid) and returns the new one, or undefined to
   * leave it alone. Returns the stored record, or undefined when nothing was written.
   */
  update(id: string, change: (current: R | undefined) => R | undefined): Promise<R | undefined>;
  /** 12 URL-safe characters (72 random bits): fits custom ids, URLs and Discord nonces (≤ 25). */
  newId(): string;
}

/** The options every record store takes. */
export interface RecordStoreOptions {
  logger?: { warn(obj: object, msg?: string): void };
  now?: () => number;
  /**
   * How long a record is kept once it ended (ms); the lists that expire with the records live as long
   * after their last change. Undefined (or ≤ 0) keeps them for ever (tests, tools).
   */
  recordTtlMs?: number;
}

/** What a store tells the kit about its records (with its `now` and `recordTtlMs` options). */
export interface RecordKitSpec<R extends KeptRecord> extends Omit<RecordStoreOptions, "logger"> {
  schema: z.ZodType<R>;
  /** The record's own key. */
  key(id: string): string;
  /** Whether the record, as it is about to be stored, no longer needs its text or file. */
  dropsInput(record: R): boolean;
  /** An unreadable record was skipped (log it). */
  onInvalid(id: string, issues: z.core.$ZodIssue[]): void;
}

export interface RecordKit<R> {
  /** The time to live of a finished record (and of the lists that expire with it); undefined: none. */
  readonly ttl: number | undefined;
  read(id: string): Promise<R | undefined>;
  /** The records of `ids` that exist and are valid, in that order. */
  readMany(ids: readonly string[]): Promise<R[]>;
  readIds(key: string): Promise<string[]>;
  /** Runs `fn` after every write queued before it (see `createSerialQueue`). */
  serialised<T>(fn: () => Promise<T>): Promise<T>;
  /** Validated, with `updatedAt` stamped and the input dropped when `dropsInput` says so. */
  prepare(record: R): R;
  /** A store's `get`, `put`, `update` and `newId`, around its `write` (one record with its indexes). */
  store(write: (record: R) => Promise<R>): RecordStore<R>;
  /**
   * Stores a record's own key (a store's `write` calls it for the record). Inside `update`, with a
   * store shared by processes, it writes only if the record is still what `update` read, and
   * otherwise makes `update` start over from the newer record: a change made by another process
   * meanwhile (a cancel during a job's step) is never overwritten by a change computed without it.
   */
  setRecord(key: string, record: R, ttl: number | undefined): Promise<void>;
  /**
   * Drops from the list at `key` those of `suspects` (ids a reader found without a usable record)
   * whose record `isGone` says is gone, re-checked under the write queue, so an id added or reopened
   * meanwhile stays listed. Nothing to do without suspects.
   */
  prune(
    key: string,
    suspects: readonly string[],
    isGone: (record: R | undefined) => boolean,
    opts?: { max?: number; ttl?: number },
  ): Promise<void>;
  /**
   * Stores a record with the index of the open ones (at `key`) in step: an open record is listed
   * before `storeRecord` runs, a closed one unlisted after. So a crash between the writes leaves a
   * stale entry (pruned on read), never an open record missing from the index (which a restart
   * would lose).
   */
  storeIndexedOpen(
    key: string,
    id: string,
    open: boolean,
    storeRecord: () => Promise<unknown>,
  ): Promise<void>;
  /**
   * The records listed at `key` (an index of open records) that are not `isClosed`, oldest first;
   * those gone or closed are pruned from the list.
   */
  listOpen(key: string, isClosed: (record: R) => boolean): Promise<R[]>;
  /**
   * Adds `id` to the capped list of recent records at `key` (the last `max` kept), which expires
   * with the records (`ttl`). With `refresh` the list is rewritten even when `id` is in it already:
   * that restarts the list's own TTL, so it outlives the records it lists.
   */
  remember(key: string, id: string, opts: { max: number; refresh: boolean }): Promise<void>;
}

export function createRecordKit<R extends KeptRecord>(
  kv: RecordKeyValue,
  spec: RecordKitSpec<R>,
): RecordKit<R> {
  const now = spec.now ?? Date.now;
  const ttl = spec.recordTtlMs !== undefined && spec.recordTtlMs > 0 ? spec.recordTtlMs : undefined;
  const serialised = createSerialQueue();
  /** Inside `update`: the record key → what it held (JSON) when read. */
  const expected = new Map<string, string>();
  const read = (id: string): Promise<R | undefined> =>
    readRecord(kv, spec.key(id), spec.schema, (issues) => spec.onInvalid(id, issues));

  async function readMany(ids: readonly string[]): Promise<R[]> {
    const records = (await Promise.all(ids.map(read))) as (R | undefined)[];
    return records.filter((r): r is R => r !== undefined);
  }

  async function prune(
    key: string,
    suspects: readonly string[],
    isGone: (record: R | undefined) => boolean,
    opts: { max?: number; ttl?: number } = {},
  ): Promise<void> {
    if (suspects.length === 0) return;
    await serialised(() => pruneIdList(kv, key, suspects, async (id) => isGone(await read(id)), opts));
  }

  return {
    ttl,
    read,
    readMany,
    readIds: (key) => readIdList(kv, key),
    serialised,
    prepare(record) {
      const parsed = spec.schema.parse({ ...record, updatedAt: now() });
      if (!spec.dropsInput(parsed)) return parsed;
      // The record schemas accept the dropped marker as an input (`DroppedInputSchema`).
      return { ...parsed, input: dropInput(parsed.input, parsed.chars) } as R;
    },
    store: (write) => ({
      get: read,
      put: (record) => serialised(() => write(record)),
      update: (id, change) =>
        serialised(async () => {
          if (!kv.update) {
            const next = change(await read(id));
            return next === undefined ? undefined : write(next);
          }
          const key = spec.key(id);
          for (let i = 0; i < MAX_CONFLICTS; i++) {
            const raw = await kv.get(key);
            const parsed = raw === undefined || raw === null ? undefined : spec.schema.safeParse(raw);
            if (parsed && !parsed.success) spec.onInvalid(id, parsed.error.issues.slice(0, 5));
            const next = change(parsed?.success ? parsed.data : undefined);
            if (next === undefined) return undefined;
            expected.set(key, JSON.stringify(raw ?? null));
            try {
              return await write(next);
            } catch (err) {
              if (!(err instanceof StaleRecordError)) throw err;
            } finally {
              expected.delete(key);
            }
          }
          throw new RecordConflictError(key);
        }),
      newId: () => randomBytes(9).toString("base64url"),
    }),
    async setRecord(key, record, ttl) {
      const before = expected.get(key);
      if (before === undefined || !kv.update) {
        await kv.set(key, record, ttl);
        return;
      }
      const written = await kv.update(key, (current) =>
        JSON.stringify(current ?? null) === before ? { value: record, ttl } : undefined,
      );
      if (!written) throw new StaleRecordError();
    },
    prune,
    async storeIndexedOpen(key, id, open, storeRecord) {
      if (open) await updateIdList(kv, key, (ids) => (ids.includes(id) ? undefined : [...ids, id]));
      await storeRecord();
      if (!open) {
        await updateIdList(kv, key, (ids) => (ids.includes(id) ? ids.filter((x) => x !== id) : undefined));
      }
    },
    async listOpen(key, isClosed) {
      const ids = await readIdList(kv, key);
      const open = (await readMany(ids)).filter((r) => !isClosed(r));
      await prune(key, idsMissing(ids, open), (r) => !r || isClosed(r));
      return open.sort((a, b) => a.createdAt - b.createdAt);
    },
    async remember(key, id, { max, refresh }) {
      await updateIdList(
        kv,
        key,
        (ids) => {
          if (ids.includes(id) && !refresh) return undefined;
          return (ids.includes(id) ? ids : [...ids, id]).slice(-max);
        },
        ttl,
      );
    },
  };
}
