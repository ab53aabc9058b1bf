import type { z } from "zod";

/**
 * Plumbing shared by the stores that keep records plus id indexes in one Keyv namespace (jobs,
 * narration requests): one writer at a time, id lists, and records parsed on the way out.
 */

export interface KeyValueReader {
  get(key: string): Promise<unknown>;
}

export interface KeyValueStore extends KeyValueReader {
  /** `ttl` in milliseconds (Keyv's third argument); undefined keeps the value for ever. */
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
}

/** Runs each function after every one queued before it; a failed one does not block the rest. */
export function createSerialQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>) => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
}

export async function readIdList(kv: KeyValueReader, key: string): Promise<string[]> {
  const value = await kv.get(key);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * A stored record, parsed; an invalid one (an older version, a damaged store) is reported and read
 * as missing, so it cannot stop the others from being served.
 */
export async function readRecord<S extends z.ZodType>(
  kv: KeyValueReader,
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

/**
 * Re-checks `suspects` (ids a reader found without a record) and removes the gone ones from the id
 * list at `key`, keeping at most the last `max`. Call it inside the store's write queue, so an id
 * added meanwhile is not lost. Writes only when something changed; returns the ids kept.
 */
export async function pruneIdList(
  kv: KeyValueStore,
  key: string,
  suspects: readonly string[],
  isGone: (id: string) => Promise<boolean>,
  opts: { max?: number; ttl?: number } = {},
): Promise<string[]> {
  const gone = new Set<string>();
  for (const id of suspects) if (await isGone(id)) gone.add(id);
  const current = await readIdList(kv, key);
  let kept = current.filter((id) => !gone.has(id));
  if (opts.max !== undefined) kept = kept.slice(-opts.max);
  if (kept.length !== current.length) await kv.set(key, kept, opts.ttl);
  return kept;
}

/** What a finished record keeps of its input (see `DroppedInputSchema` in src/jobs/types.ts). */
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
