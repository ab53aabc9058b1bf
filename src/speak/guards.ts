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
  acquire(userId: string, cooldownMs?: number): () => void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createUserGuards(opts: GuardOptions): UserGuards {
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
        const readyAt = t + (1 - bucket.tokens) * cooldownMs;
        const seconds = Math.max(1, Math.ceil((readyAt - t) / 1000));
        // A live relative time in the member's own client, never earlier than the real one.
        throw new UserFacingError(
          `Slow down a little: you can speak again in ${seconds} s (${relativeTime(readyAt, "ceil")}).`,
        );
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
