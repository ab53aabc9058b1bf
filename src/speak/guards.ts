import type { Redis } from "ioredis";
import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { StorageError } from "../storage/storage.ts";
import { relativeTime } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * Per-user abuse and cost guards for synthesis. The cooldown is a token bucket: a member may make a
 * few requests in quick succession (`burst`), then one more every `cooldownMs`. A cap on requests in
 * progress stops one member from occupying the provider. In memory on purpose: both are about the
 * next few seconds, and a restart resets them harmlessly.
 */

export interface GuardOptions {
  /** Time to earn back one request. 0 disables the cooldown. */
  cooldownMs: number;
  /** Requests allowed back to back before the cooldown applies. */
  burst: number;
  /** Requests one user may have running at once. */
  maxConcurrent: number;
  now?: () => number;
}

export interface UserGuards {
  /**
   * Claims a slot for the user or throws a UserFacingError saying when to try again. A server may set
   * its own cooldown (`cooldownMs`), which replaces the bot's for that request.
   */
  acquire(userId: string, cooldownMs?: number): (() => void) | Promise<() => void>;
}

/** The in-process guards answer at once. */
export interface LocalUserGuards extends UserGuards {
  acquire(userId: string, cooldownMs?: number): () => void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createUserGuards(opts: GuardOptions): LocalUserGuards {
  const now = opts.now ?? Date.now;
  const burst = Math.max(1, opts.burst);
  const buckets = new Map<string, Bucket>();
  const running = new Map<string, number>();

  /** Tokens the user has right now, refilled for the time passed. */
  function refill(userId: string, t: number, cooldownMs = opts.cooldownMs): Bucket {
    const b = buckets.get(userId) ?? { tokens: burst, at: t };
    if (cooldownMs > 0) {
      b.tokens = Math.min(burst, b.tokens + (t - b.at) / cooldownMs);
    } else {
      b.tokens = burst;
    }
    b.at = t;
    return b;
  }

  return {
    acquire(userId, cooldownMs = opts.cooldownMs) {
      const t = now();
      const active = running.get(userId) ?? 0;
      if (active >= opts.maxConcurrent) {
        throw new UserFacingError(
          `You already have ${active} request${active === 1 ? "" : "s"} in progress. ` +
            "Please wait for it to finish, then try again.",
        );
      }
      const bucket = refill(userId, t, cooldownMs);
      if (bucket.tokens < 1) {
        throw slowDown(t, (1 - bucket.tokens) * cooldownMs);
      }
      bucket.tokens -= 1;
      buckets.set(userId, bucket);
      running.set(userId, active + 1);
      // A full bucket is the same as no bucket; drop those so the map stays small.
      if (buckets.size > 10_000) {
        for (const id of buckets.keys()) if (refill(id, t).tokens >= burst) buckets.delete(id);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (running.get(userId) ?? 1) - 1;
        if (left <= 0) running.delete(userId);
        else running.set(userId, left);
      };
    },
  };
}

/** The member-facing refusal: when they may speak again, as a live relative time in their client. */
function slowDown(now: number, waitMs: number): UserFacingError {
  const readyAt = now + waitMs;
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  // Never earlier than the real one.
  return new UserFacingError(
    `Slow down a little: you can speak again in ${seconds} s (${relativeTime(readyAt, "ceil")}).`,
  );
}

export interface SharedGuardOptions extends GuardOptions {
  redis: Redis;
  /** Key prefix in Redis. Default "cooldown". */
  prefix?: string;
}

/**
 * The same guards for a fleet: the cooldown is counted in Redis (rate-limiter-flexible), so a member
 * whose servers live on different processes has one cooldown. rate-limiter-flexible's bursty pair
 * stands for the token bucket: one request per `cooldownMs`, plus `burst - 1` more per
 * `(burst - 1) × cooldownMs`. The cap on requests in progress stays per process: it protects the
 * process's own slots for the seconds a request runs. When Redis cannot be reached the request is
 * refused as a storage failure (its budget lives there too).
 */
export function createSharedUserGuards(opts: SharedGuardOptions): UserGuards {
  const now = opts.now ?? Date.now;
  const burst = Math.max(1, opts.burst);
  const running = createUserGuards({ ...opts, cooldownMs: 0 });
  const limiters = new Map<number, Pick<RateLimiterRedis, "consume">>();

  function limiterFor(cooldownMs: number): Pick<RateLimiterRedis, "consume"> {
    let limiter = limiters.get(cooldownMs);
    if (limiter) return limiter;
    const seconds = Math.max(1, Math.ceil(cooldownMs / 1000));
    const keyPrefix = `${opts.prefix ?? "cooldown"}:${seconds}:${burst}`;
    const steady = new RateLimiterRedis({ storeClient: opts.redis, keyPrefix, points: 1, duration: seconds });
    limiter =
      burst === 1
        ? steady
        : new BurstyRateLimiter(
            steady,
            new RateLimiterRedis({
              storeClient: opts.redis,
              keyPrefix: `${keyPrefix}:burst`,
              points: burst - 1,
              duration: seconds * (burst - 1),
            }),
          );
    limiters.set(cooldownMs, limiter);
    return limiter;
  }

  return {
    async acquire(userId, cooldownMs = opts.cooldownMs) {
      const release = running.acquire(userId, 0);
      if (cooldownMs <= 0) return release;
      try {
        await limiterFor(cooldownMs).consume(userId, 1);
        return release;
      } catch (err) {
        release();
        if (err instanceof RateLimiterRes) throw slowDown(now(), err.msBeforeNext);
        throw new StorageError("the shared cooldown store (Redis) did not answer", { cause: err });
      }
    },
  };
}
