import { Redis } from "ioredis";
import { redactUrl } from "./storage.ts";

/**
 * The Redis connections of the distributed mode (`STORAGE_URL=redis://…`) besides Keyv's: BullMQ's
 * queues and workers, and the fleet-wide limiters. Two connections on purpose: BullMQ's workers
 * need commands that wait out a reconnection (`maxRetriesPerRequest: null`), while a limiter must
 * learn quickly that Redis is away and refuse (it never guesses a budget on its own).
 */
export interface FleetRedis {
  /** For BullMQ (workers duplicate it for their blocking commands). */
  readonly queues: Redis;
  /** For rate-limiter-flexible: short command timeout, one retry. */
  readonly limits: Redis;
  close(): Promise<void>;
}

export interface FleetRedisLogger {
  warn(obj: object, msg?: string): void;
}

export function isRedisUrl(url: string): boolean {
  return url.startsWith("redis://") || url.startsWith("rediss://");
}

export function createFleetRedis(url: string, logger?: FleetRedisLogger): FleetRedis {
  const queues = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  const limits = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
  let reported = false;
  for (const conn of [queues, limits]) {
    // Without a listener an `error` event would end the process; one line per outage is enough.
    conn.on("error", (err: Error) => {
      if (reported) return;
      reported = true;
      logger?.warn({ err: err.message, url: redactUrl(url) }, "fleet Redis connection error; retrying");
    });
    conn.on("ready", () => {
      reported = false;
    });
  }
  let closed = false;
  return {
    queues,
    limits,
    async close() {
      if (closed) return;
      closed = true;
      // QUIT waits for the server; one that is away would hold the stop, so the sockets are dropped.
      if (!(await settlesWithin(Promise.allSettled([queues.quit(), limits.quit()]), 2_000))) {
        queues.disconnect();
        limits.disconnect();
      }
    },
  };
}

/** Resolves true when `work` settles within `ms`, false otherwise (it is left to finish on its own). */
export async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a BullMQ worker gracefully (its running jobs finish) within `graceMs`, then by force. A
 * worker whose blocking connection is caught in a reconnection (Redis went away and came back) can
 * otherwise wait for it indefinitely, and a stop must end. False when it had to be forced (or, idle,
 * did not close in time).
 */
export async function closeWorker(
  worker: { close(force?: boolean): Promise<void> },
  graceMs: number,
  opts: { idle?: boolean } = {},
): Promise<boolean> {
  // With no job running there is nothing to wait for: a graceful close would only wait out the
  // worker's blocking poll for the next job (or a reconnection).
  if (opts.idle) return settlesWithin(worker.close(true), 2_000);
  if (await settlesWithin(worker.close(), graceMs)) return true;
  await settlesWithin(worker.close(true), 2_000);
  return false;
}
