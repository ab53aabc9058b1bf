import type { z } from "zod";

/**
 * Plumbing shared by the stores that keep records plus id indexes in one Keyv namespace (jobs,
 * narration requests): one writer at a time, id lists, and records parsed on the way out.
 */

export interface KeyValueReader {
  get(key: string): Promise<unknown>;
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
