import type { RecordKeyValue } from "../storage/key-value.ts";
import {
  createRecordKit,
  idsMissing,
  type RecordStore,
  type RecordStoreOptions,
} from "../storage/record-kit.ts";
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

/** @deprecated The one definition is `RecordKeyValue` in src/storage/key-value.ts (kept for test helpers). */

export interface JobStore extends RecordStore<JobRecord> {
  /** Every non-final job, oldest first. */
  listActive(): Promise<JobRecord[]>;
  /** The user's jobs, newest first. */
  listByUser(userId: string, limit?: number): Promise<JobRecord[]>;
}

export interface JobStoreOptions extends RecordStoreOptions {
  /** Job ids remembered per user (older ones drop out of the list, not out of the store). Default 50. */
  perUserIndex?: number;
}

/**
 * Done and cancelled jobs need their input no more, so the text (or file) is dropped as they are
 * stored. Failed and expired jobs keep it until their TTL: "Retry" starts them again from it.
 */
const DROPS_INPUT: ReadonlySet<JobState> = new Set<JobState>(["done", "cancelled"]);

const ACTIVE_KEY = "index:active";
const jobKey = (id: string) => `job:${id}`;
const userKey = (userId: string) => `index:user:${userId}`;

export function createJobStore(kv: RecordKeyValue, opts: JobStoreOptions = {}): JobStore {
  const perUser = opts.perUserIndex ?? 50;
  const kit = createRecordKit(kv, {
    ...opts,
    schema: JobRecordSchema,
    key: jobKey,
    dropsInput: (job) => DROPS_INPUT.has(job.state),
    onInvalid: (jobId, issues) => opts.logger?.warn({ jobId, issues }, "skipping an invalid job record"),
  });
  const { ttl } = kit;

  async function write(record: JobRecord): Promise<JobRecord> {
    const job = kit.prepare(record);
    const final = isFinal(job.state);
    // A final record expires; one going back to work (Retry) is stored without a TTL again.
    await kit.storeIndexedOpen(ACTIVE_KEY, job.id, !final, () =>
      kit.setRecord(jobKey(job.id), job, final ? ttl : undefined),
    );
    // With a TTL, rewritten on every write of one of its jobs, so it never expires under a job still
    // at work.
    await kit.remember(userKey(job.requesterId), job.id, { max: perUser, refresh: ttl !== undefined });
    return job;
  }

  return {
    ...kit.store(write),
    listActive: () => kit.listOpen(ACTIVE_KEY, (job) => isFinal(job.state)),
    async listByUser(userId, limit = 10) {
      const ids = (await kit.readIds(userKey(userId))).reverse();
      const records = await kit.readMany(ids);
      // Some expired (or were unreadable): dropped from the index; a job added meanwhile stays.
      await kit.prune(userKey(userId), idsMissing(ids, records), (r) => r === undefined, {
        max: perUser,
        ttl,
      });
      return records.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
  };
}
