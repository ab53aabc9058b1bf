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
      await Promise.allSettled([queues.quit(), limits.quit()]);
    },
  };
}
