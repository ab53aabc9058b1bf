import { randomBytes } from "node:crypto";
import { createSerialQueue, dropInput, pruneIdList, readIdList, readRecord } from "../storage/record-kit.ts";
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

export interface RequestKeyValue {
  get(key: string): Promise<unknown>;
  /** `ttl` in milliseconds: the store forgets the key after it (Keyv's third argument). */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
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
  /** How long an ended request is kept (ms). Undefined keeps it for ever (tests, tools). */
  recordTtlMs?: number;
}

const GUILDS_KEY = "index:guilds";
const recordKey = (id: string) => `request:${id}`;
const openKey = (guildId: string) => `index:open:${guildId}`;
const recentKey = (guildId: string) => `index:recent:${guildId}`;
const jobKey = (jobId: string) => `job:${jobId}`;

export function createRequestStore(kv: RequestKeyValue, opts: RequestStoreOptions = {}): RequestStore {
  const now = opts.now ?? Date.now;
  const recentMax = opts.recentPerGuild ?? 50;
  const ttl = opts.recordTtlMs !== undefined && opts.recordTtlMs > 0 ? opts.recordTtlMs : undefined;
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
    const parsed = NarrationRequestRecordSchema.parse({ ...record, updatedAt: now() });
    const final = isFinalRequest(parsed.state);
    const stored = final ? { ...parsed, input: dropInput(parsed.input, parsed.chars) } : parsed;
    const recordTtl = final ? ttl : undefined;
    const open = await readIds(openKey(stored.guildId));
    // Index before the record when opening, after it when closing: a crash leaves a stale entry
    // (pruned on read), never an open request a restart cannot find.
    if (!final) {
      if (!open.includes(stored.id)) await kv.set(openKey(stored.guildId), [...open, stored.id]);
      const guilds = await readIds(GUILDS_KEY);
      if (!guilds.includes(stored.guildId)) await kv.set(GUILDS_KEY, [...guilds, stored.guildId]);
    }
    if (stored.jobId) await kv.set(jobKey(stored.jobId), stored.id, recordTtl);
    await kv.set(recordKey(stored.id), stored, recordTtl);
    if (final && open.includes(stored.id)) {
      await kv.set(
        openKey(stored.guildId),
        open.filter((id) => id !== stored.id),
      );
    }
    const recent = await readIds(recentKey(stored.guildId));
    // Rewritten when the request is new to it, and when one ends: that restarts the list's own TTL,
    // so it outlives the records it lists.
    if (!recent.includes(stored.id) || recordTtl !== undefined) {
      const ids = recent.includes(stored.id) ? recent : [...recent, stored.id];
      await kv.set(recentKey(stored.guildId), ids.slice(-recentMax), ttl);
    }
    return stored;
  }

  /** Drops from the list at `key` the ids `suspects` whose records are gone (or, for `open`, ended). */
  async function prune(
    key: string,
    suspects: readonly string[],
    gone: (r: NarrationRequestRecord | undefined) => boolean,
    opts: { max?: number; ttl?: number } = {},
  ): Promise<void> {
    if (suspects.length === 0) return;
    // Under the queue: re-checked there, so a request added or reopened meanwhile stays listed.
    await serialised(() => pruneIdList(kv, key, suspects, async (id) => gone(await read(id)), opts));
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
      const ids = await readIds(openKey(guildId));
      const records = await readMany(ids);
      const open = records.filter((r) => !isFinalRequest(r.state));
      const keep = new Set(open.map((r) => r.id));
      await prune(
        openKey(guildId),
        ids.filter((id) => !keep.has(id)),
        (r) => !r || isFinalRequest(r.state),
      );
      return open.sort((a, b) => a.createdAt - b.createdAt);
    },
    async list(guildId, limit = 25) {
      const openIds = await readIds(openKey(guildId));
      const recentIds = await readIds(recentKey(guildId));
      const records = await readMany([...new Set([...openIds, ...recentIds])]);
      const present = new Set(records.map((r) => r.id));
      const missing = (ids: string[]) => ids.filter((id) => !present.has(id));
      await prune(openKey(guildId), missing(openIds), (r) => !r);
      await prune(recentKey(guildId), missing(recentIds), (r) => !r, { max: recentMax, ttl });
      return records.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
    },
    async guildsWithOpen() {
      const guilds = await readIds(GUILDS_KEY);
      // A guild stays listed until a reader finds nothing open there any more.
      const idle: string[] = [];
      for (const guildId of guilds) {
        if ((await readIds(openKey(guildId))).length === 0) idle.push(guildId);
      }
      if (idle.length > 0) {
        await serialised(async () => {
          const still: string[] = [];
          for (const g of idle) if ((await readIds(openKey(g))).length === 0) still.push(g);
          const current = await readIds(GUILDS_KEY);
          const kept = current.filter((g) => !still.includes(g));
          if (kept.length !== current.length) await kv.set(GUILDS_KEY, kept);
        });
      }
      return guilds.filter((g) => !idle.includes(g));
    },
    async byJobId(jobId) {
      const id = await kv.get(jobKey(jobId));
      return typeof id === "string" ? read(id) : undefined;
    },
    newId: () => randomBytes(9).toString("base64url"),
  };
}
