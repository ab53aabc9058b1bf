import type { RecordKeyValue } from "../storage/key-value.ts";
import {
  addToIdList,
  createRecordKit,
  idsMissing,
  type RecordStore,
  type RecordStoreOptions,
  updateIdList,
} from "../storage/record-kit.ts";
import { isFinalRequest, type NarrationRequestRecord, NarrationRequestRecordSchema } from "./types.ts";

/**
 * Narration requests in one Keyv namespace. Beside the records: per guild, the ids of open requests
 * (pending, approved, running) and of the most recent ones; the guilds having open requests (what
 * a restart resumes); and job id → request id (to map a job's end onto its request). Writes are
 * serialised through one queue, as in the job store, so indexes never lose a concurrent change.
 *
 * Bounded growth: a request that ended (done, failed, rejected, cancelled) no longer needs its text
 * or file — nothing retries a request; a failed narration is retried as a job, which has its own
 * copy — so the input is dropped, and the record and its job mapping are stored with a time to live
 * (`recordTtlMs`). The recent list is capped and expires with its records; the open list, the recent
 * list and the guild list are pruned of ids whose records are gone (or ended) when they are read.
 */

export interface RequestStore extends RecordStore<NarrationRequestRecord> {
  /** Open requests of the guild (pending, approved, running), oldest first. */
  listOpen(guildId: string): Promise<NarrationRequestRecord[]>;
  /** Open and recent requests of the guild, newest first. */
  list(guildId: string, limit?: number): Promise<NarrationRequestRecord[]>;
  /** Guilds with open requests. */
  guildsWithOpen(): Promise<string[]>;
  byJobId(jobId: string): Promise<NarrationRequestRecord | undefined>;
}

export interface RequestStoreOptions extends RecordStoreOptions {
  /** Finished requests remembered per guild for `/request list`. Default 50. */
  recentPerGuild?: number;
}

const GUILDS_KEY = "index:guilds";
const recordKey = (id: string) => `request:${id}`;
const openKey = (guildId: string) => `index:open:${guildId}`;
const recentKey = (guildId: string) => `index:recent:${guildId}`;
const jobKey = (jobId: string) => `job:${jobId}`;

export function createRequestStore(kv: RecordKeyValue, opts: RequestStoreOptions = {}): RequestStore {
  const recentMax = opts.recentPerGuild ?? 50;
  const kit = createRecordKit(kv, {
    ...opts,
    schema: NarrationRequestRecordSchema,
    key: recordKey,
    dropsInput: (request) => isFinalRequest(request.state),
    onInvalid: (requestId, issues) => opts.logger?.warn({ requestId, issues }, "skipping an invalid request"),
  });
  const { ttl } = kit;

  async function write(record: NarrationRequestRecord): Promise<NarrationRequestRecord> {
    const request = kit.prepare(record);
    const final = isFinalRequest(request.state);
    const recordTtl = final ? ttl : undefined;
    await kit.storeIndexedOpen(openKey(request.guildId), request.id, !final, async () => {
      if (!final) await addToIdList(kv, GUILDS_KEY, request.guildId);
      if (request.jobId) await kv.set(jobKey(request.jobId), request.id, recordTtl);
      await kit.setRecord(recordKey(request.id), request, recordTtl);
    });
    // Rewritten when the request is new to it, and when one ends.
    await kit.remember(recentKey(request.guildId), request.id, {
      max: recentMax,
      refresh: recordTtl !== undefined,
    });
    return request;
  }

  return {
    ...kit.store(write),
    listOpen: (guildId) => kit.listOpen(openKey(guildId), (request) => isFinalRequest(request.state)),
    async list(guildId, limit = 25) {
      const openIds = await kit.readIds(openKey(guildId));
      const recentIds = await kit.readIds(recentKey(guildId));
      const records = await kit.readMany([...new Set([...openIds, ...recentIds])]);
      await kit.prune(openKey(guildId), idsMissing(openIds, records), (r) => !r);
      await kit.prune(recentKey(guildId), idsMissing(recentIds, records), (r) => !r, { max: recentMax, ttl });
      return records.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    async guildsWithOpen() {
      const hasNoneOpen = async (guildId: string) => (await kit.readIds(openKey(guildId))).length === 0;
      const guilds = await kit.readIds(GUILDS_KEY);
      // A guild stays listed until a reader finds nothing open there any more.
      const idle: string[] = [];
      for (const guildId of guilds) if (await hasNoneOpen(guildId)) idle.push(guildId);
      if (idle.length > 0) {
        await kit.serialised(async () => {
          const still: string[] = [];
          for (const g of idle) if (await hasNoneOpen(g)) still.push(g);
          await updateIdList(kv, GUILDS_KEY, (current) => {
            const kept = current.filter((g) => !still.includes(g));
            return kept.length !== current.length ? kept : undefined;
          });
        });
      }
      return guilds.filter((g) => !idle.includes(g));
    },
    async byJobId(jobId) {
      const id = await kv.get(jobKey(jobId));
      return typeof id === "string" ? kit.read(id) : undefined;
    },
  };
}
