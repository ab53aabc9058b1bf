import { randomBytes } from "node:crypto";
import { createSerialQueue, dropInput, pruneIdList, readIdList, readRecord } from "../storage/record-kit.ts";
import { isFinal, type JobRecord, JobRecordSchema, type JobState } from "./types.ts";

/**
 * Job records in one Keyv namespace, with two index keys kept beside them: the ids of all non-final
 * jobs (what a restarted runner resumes) and each user's recent job ids. The bot is one process, so
 * the indexes are plain read-modify-write values; every write goes through one queue so two steps
 * finishing together cannot lose each other's index change.
 *
 * Bounded growth: a job in a final state is stored with a time to live (`recordTtlMs`), so the store
 * forgets it; a user's index is capped (`perUserIndex`), expires with the records, and is pruned of
 * ids whose records are gone when it is read.
 */

/** The part of Keyv the store uses (a Map-backed fake in tests). */
export interface JobKeyValue {
  get(key: string): Promise<unknown>;
  /** `ttl` in milliseconds: the store forgets the key after it (Keyv's third argument). */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
}

export interface JobStoreLogger {
  warn(obj: object, msg?: string): void;
}

export interface JobStore {
  get(id: string): Promise<JobRecord | undefined>;
  /** Validates, stamps `updatedAt`, stores and keeps the indexes in step. Returns what was stored. */
  put(record: JobRecord): Promise<JobRecord>;
  /**
   * Read-modify-write of one record, serialised with every other write of this store. `change` gets
   * the current record (undefined when missing or invalid) and returns the new one, or undefined to
   * leave it alone. Returns the stored record, or undefined when nothing was written.
   */
  update(
    id: string,
    change: (current: JobRecord | undefined) => JobRecord | undefined,
  ): Promise<JobRecord | undefined>;
  /** Every non-final job, oldest first. */
  listActive(): Promise<JobRecord[]>;
  /** The user's jobs, newest first. */
  listByUser(userId: string, limit?: number): Promise<JobRecord[]>;
  /** 12 URL-safe characters (72 random bits): fits custom ids, URLs and Discord nonces (≤ 25). */
  newId(): string;
}

export interface JobStoreOptions {
  logger?: JobStoreLogger;
  now?: () => number;
  /** Job ids remembered per user (older ones drop out of the list, not out of the store). Default 50. */
  perUserIndex?: number;
  /**
   * How long a job is kept once it reached a final state (ms); a user's index lives as long after
   * its last change. Undefined keeps them for ever (tests, tools).
   */
  recordTtlMs?: number;
}

/**
 * Done and cancelled jobs need their input no more, so the text (or file) is dropped as they are
 * stored. Failed and expired jobs keep it until their TTL: "Retry" starts them again from it.
 */
const DROPS_INPUT: ReadonlySet<JobState> = new Set<JobState>(["done", "cancelled"]);

const ACTIVE_KEY = "index:active";
const jobKey = (id: string) => `job:${id}`;
const userKey = (userId: string) => `index:user:${userId}`;

export function createJobStore(kv: JobKeyValue, opts: JobStoreOptions = {}): JobStore {
  const now = opts.now ?? Date.now;
  const perUser = opts.perUserIndex ?? 50;
  const ttl = opts.recordTtlMs !== undefined && opts.recordTtlMs > 0 ? opts.recordTtlMs : undefined;
  const serialised = createSerialQueue();
  const readIds = (key: string) => readIdList(kv, key);
  const read = (id: string): Promise<JobRecord | undefined> =>
    readRecord(kv, jobKey(id), JobRecordSchema, (issues) =>
      opts.logger?.warn({ jobId: id, issues }, "skipping an invalid job record"),
    );

  async function write(record: JobRecord): Promise<JobRecord> {
    const parsed = JobRecordSchema.parse({ ...record, updatedAt: now() });
    const final = isFinal(parsed.state);
    const stored = DROPS_INPUT.has(parsed.state)
      ? { ...parsed, input: dropInput(parsed.input, parsed.chars) }
      : parsed;
    const active = await readIds(ACTIVE_KEY);
    const listed = active.includes(stored.id);
    // Ordered so that a crash between the two writes leaves a stale index entry (pruned on read),
    // never an active job missing from the index (which a restart would lose).
    if (!final && !listed) await kv.set(ACTIVE_KEY, [...active, stored.id]);
    // A final record expires; one going back to work (Retry) is stored without a TTL again.
    await kv.set(jobKey(stored.id), stored, final ? ttl : undefined);
    if (final && listed) {
      await kv.set(
        ACTIVE_KEY,
        active.filter((id) => id !== stored.id),
      );
    }
    const mine = await readIds(userKey(stored.requesterId));
    // With a TTL, rewritten on every write of one of its jobs: the index's own TTL restarts, so it
    // outlives the final records it lists and never expires under a job still at work.
    if (!mine.includes(stored.id) || ttl !== undefined) {
      const ids = mine.includes(stored.id) ? mine : [...mine, stored.id];
      await kv.set(userKey(stored.requesterId), ids.slice(-perUser), ttl);
    }
    return stored;
  }

  async function readMany(ids: readonly string[]): Promise<JobRecord[]> {
    const records = await Promise.all(ids.map(read));
    return records.filter((r): r is JobRecord => r !== undefined);
  }

  return {
    get: read,
    put: (record) => serialised(() => write(record)),
    update: (id, change) =>
      serialised(async () => {
        const next = change(await read(id));
        return next === undefined ? undefined : write(next);
      }),
    async listActive() {
      const ids = await readIds(ACTIVE_KEY);
      const records = await readMany(ids);
      const active = records.filter((r) => !isFinal(r.state));
      if (active.length !== ids.length) {
        const keep = new Set(active.map((r) => r.id));
        const suspects = ids.filter((id) => !keep.has(id));
        // Re-checked under the queue: a job retried or created meanwhile must stay listed.
        await serialised(() =>
          pruneIdList(kv, ACTIVE_KEY, suspects, async (id) => {
            const record = await read(id);
            return !record || isFinal(record.state);
          }),
        );
      }
      return active.sort((a, b) => a.createdAt - b.createdAt);
    },
    async listByUser(userId, limit = 10) {
      const ids = (await readIds(userKey(userId))).reverse();
      const records = await readMany(ids);
      if (records.length !== ids.length) {
        // Some expired (or were unreadable): drop them from the index, under the queue so a job
        // added meanwhile stays.
        const present = new Set(records.map((r) => r.id));
        const gone = ids.filter((id) => !present.has(id));
        await serialised(() =>
          pruneIdList(kv, userKey(userId), gone, async (id) => (await read(id)) === undefined, {
            max: perUser,
            ttl,
          }),
        );
      }
      return records.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    newId: () => randomBytes(9).toString("base64url"),
  };
}
