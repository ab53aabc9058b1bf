import { randomBytes } from "node:crypto";
import { createSerialQueue, readIdList, readRecord } from "../storage/record-kit.ts";
import { isFinalRequest, type NarrationRequestRecord, NarrationRequestRecordSchema } from "./types.ts";

/**
 * Narration requests in one Keyv namespace. Beside the records: per guild, the ids of open requests
 * (pending, approved, running) and of the most recent ones; the guilds having open requests (what
 * a restart resumes); and job id → request id (to map a job's end onto its request). Writes are
 * serialised through one queue, as in the job store, so indexes never lose a concurrent change.
 */

export interface RequestKeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<unknown>;
}

export interface RequestStore {
  get(id: string): Promise<NarrationRequestRecord | undefined>;
  /** Validates, stamps `updatedAt`, stores and keeps the indexes in step. */
  put(record: NarrationRequestRecord): Promise<NarrationRequestRecord>;
  /** Serialised read-modify-write; `change` returns undefined to leave the record alone. */
  update(
    id: string,
    change: (current: NarrationRequestRecord | undefined) => NarrationRequestRecord | undefined,
  ): Promise<NarrationRequestRecord | undefined>;
  /** Open requests of the guild (pending, approved, running), oldest first. */
  listOpen(guildId: string): Promise<NarrationRequestRecord[]>;
  /** Open and recent requests of the guild, newest first. */
  list(guildId: string, limit?: number): Promise<NarrationRequestRecord[]>;
  /** Guilds with open requests. */
  guildsWithOpen(): Promise<string[]>;
  byJobId(jobId: string): Promise<NarrationRequestRecord | undefined>;
  newId(): string;
}

export interface RequestStoreOptions {
  now?: () => number;
  logger?: { warn(obj: object, msg?: string): void };
  /** Finished requests remembered per guild for `/request list`. Default 50. */
  recentPerGuild?: number;
}

const GUILDS_KEY = "index:guilds";
const recordKey = (id: string) => `request:${id}`;
const openKey = (guildId: string) => `index:open:${guildId}`;
const recentKey = (guildId: string) => `index:recent:${guildId}`;
const jobKey = (jobId: string) => `job:${jobId}`;

export function createRequestStore(kv: RequestKeyValue, opts: RequestStoreOptions = {}): RequestStore {
  const now = opts.now ?? Date.now;
  const recentMax = opts.recentPerGuild ?? 50;
  const serialised = createSerialQueue();
  const readIds = (key: string) => readIdList(kv, key);
  const read = (id: string): Promise<NarrationRequestRecord | undefined> =>
    readRecord(kv, recordKey(id), NarrationRequestRecordSchema, (issues) =>
      opts.logger?.warn({ requestId: id, issues }, "skipping an invalid request"),
    );

  async function readMany(ids: readonly string[]): Promise<NarrationRequestRecord[]> {
    const records = await Promise.all(ids.map(read));
    return records.filter((r): r is NarrationRequestRecord => r !== undefined);
  }

  async function write(record: NarrationRequestRecord): Promise<NarrationRequestRecord> {
    const stored = NarrationRequestRecordSchema.parse({ ...record, updatedAt: now() });
    const final = isFinalRequest(stored.state);
    const open = await readIds(openKey(stored.guildId));
    // Index before the record when opening, after it when closing: a crash leaves a stale entry
    // (pruned on read), never an open request a restart cannot find.
    if (!final) {
      if (!open.includes(stored.id)) await kv.set(openKey(stored.guildId), [...open, stored.id]);
      const guilds = await readIds(GUILDS_KEY);
      if (!guilds.includes(stored.guildId)) await kv.set(GUILDS_KEY, [...guilds, stored.guildId]);
    }
    if (stored.jobId) await kv.set(jobKey(stored.jobId), stored.id);
    await kv.set(recordKey(stored.id), stored);
    if (final && open.includes(stored.id)) {
      await kv.set(
        openKey(stored.guildId),
        open.filter((id) => id !== stored.id),
      );
    }
    const recent = await readIds(recentKey(stored.guildId));
    if (!recent.includes(stored.id)) {
      await kv.set(recentKey(stored.guildId), [...recent, stored.id].slice(-recentMax));
    }
    return stored;
  }

  return {
    get: read,
    put: (record) => serialised(() => write(record)),
    update: (id, change) =>
      serialised(async () => {
        const next = change(await read(id));
        return next === undefined ? undefined : write(next);
      }),
    async listOpen(guildId) {
      const records = await readMany(await readIds(openKey(guildId)));
      return records.filter((r) => !isFinalRequest(r.state)).sort((a, b) => a.createdAt - b.createdAt);
    },
    async list(guildId, limit = 25) {
      const ids = new Set([...(await readIds(openKey(guildId))), ...(await readIds(recentKey(guildId)))]);
      const records = await readMany([...ids]);
      return records.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    async guildsWithOpen() {
      return readIds(GUILDS_KEY);
    },
    async byJobId(jobId) {
      const id = await kv.get(jobKey(jobId));
      return typeof id === "string" ? read(id) : undefined;
    },
    newId: () => randomBytes(9).toString("base64url"),
  };
}
