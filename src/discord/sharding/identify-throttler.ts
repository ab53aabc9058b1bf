import { setTimeout as sleep } from "node:timers/promises";

/**
 * Discord lets a bot IDENTIFY `max_concurrency` shards per 5 seconds: shard `id` is in rate-limit
 * bucket `id % max_concurrency`, and each bucket may identify once per 5 s. A faster login gets op 9
 * Invalid Session. discord.js's own throttler keeps that rule inside one process only; processes on
 * several machines share it here through Redis.
 *
 * How: the first process to `SET identify:<bot>:<bucket> <token> NX PX <window>` may identify now; the
 * key then stands for the bucket's window and expires by itself on the Redis server, so there is no
 * unlock step (nothing to release, hence no owner token to check on release) and no clock of ours is
 * trusted. The others read the key's remaining time (PTTL) and try again when it has passed. The
 * window is Discord's 5 s plus a margin for the time between taking the slot and the IDENTIFY
 * reaching Discord, so two logins in a bucket never land closer than 5 s apart even when one of them
 * is slower to send. A lock library (Redlock and the like) would add a release and a fencing token
 * to a problem that has neither: what is held here is time, not a resource.
 */

/** The subset of ioredis used (also what tests give a fake of). */
export interface IdentifyRedis {
  set(key: string, value: string, px: "PX", ms: number, nx: "NX"): Promise<"OK" | null>;
  pttl(key: string): Promise<number>;
}

/** @discordjs/ws's IIdentifyThrottler, structurally. */
export interface IdentifyThrottler {
  waitForIdentify(shardId: number, signal: AbortSignal): Promise<void>;
}

export interface RedisIdentifyThrottlerOptions {
  redis: IdentifyRedis;
  /** `session_start_limit.max_concurrency` from GET /gateway/bot. */
  maxConcurrency: number;
  /** Keys are per bot, so several bots can share one Redis. */
  botId: string;
  /** Default 5 s + 500 ms margin. Shortened only by benches against the fake. */
  windowMs?: number;
  /** Told when Redis does not answer; the throttler keeps trying (an IDENTIFY must never skip it). */
  onError?: (err: unknown) => void;
  /** Random part of each wait, so waiting processes do not all ask at the same millisecond. */
  jitterMs?: number;
}

export const DISCORD_IDENTIFY_WINDOW_MS = 5000;
export const IDENTIFY_MARGIN_MS = 500;

export function identifyBucket(shardId: number, maxConcurrency: number): number {
  return shardId % Math.max(1, maxConcurrency);
}

export function createRedisIdentifyThrottler(opts: RedisIdentifyThrottlerOptions): IdentifyThrottler {
  const windowMs = opts.windowMs ?? DISCORD_IDENTIFY_WINDOW_MS + IDENTIFY_MARGIN_MS;
  const jitterMs = opts.jitterMs ?? 50;
  return {
    async waitForIdentify(shardId, signal) {
      const key = `identify:${opts.botId}:${identifyBucket(shardId, opts.maxConcurrency)}`;
      const token = `${process.pid}:${shardId}:${Date.now()}`;
      for (;;) {
        signal.throwIfAborted();
        let waitMs: number;
        try {
          if ((await opts.redis.set(key, token, "PX", windowMs, "NX")) === "OK") return;
          const left = await opts.redis.pttl(key);
          // -2: gone meanwhile (try again at once); -1: no expiry, which this code never writes.
          waitMs = left === -2 ? 0 : left < 0 ? windowMs : left;
        } catch (err) {
          opts.onError?.(err);
          waitMs = 1000;
        }
        try {
          await sleep(waitMs + Math.random() * jitterMs, undefined, { signal });
        } catch (err) {
          // Aborted: the shard's connection was given up; its reason says why.
          signal.throwIfAborted();
          throw err;
        }
      }
    },
  };
}

/** The bot's user id, from the first part of its token (base64 of the id), for per-bot keys. */
export function botIdFromToken(token: string | null | undefined): string {
  const head = (token ?? "").split(".")[0] ?? "";
  const decoded = Buffer.from(head, "base64").toString("utf8");
  return /^\d{5,20}$/.test(decoded) ? decoded : "bot";
}
