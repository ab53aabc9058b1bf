import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from "rate-limiter-flexible";
import type { Storage } from "../storage/storage.ts";
import { relativeTime } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * How often voice previews may be played: per member and per server, in a rolling window. Previews
 * cost no member any budget, so this is what keeps a busy server (or one member with a mouse) from
 * pressing through the whole catalog. In Redis mode the counters live in Redis, so the limits hold for
 * the whole fleet; if Redis is unreachable, an in-memory limiter of the same size stands in.
 */

export interface PreviewRate {
  /** Previews allowed per window. */
  points: number;
  durationSeconds: number;
}

export const PREVIEW_RATE_DEFAULTS = {
  member: { points: 6, durationSeconds: 60 },
  guild: { points: 30, durationSeconds: 60 },
} as const satisfies Record<string, PreviewRate>;

export interface PreviewLimiter {
  /** Takes one preview from the member's and the server's allowance, or throws PreviewRateLimitedError. */
  consume(userId: string, guildId: string | null): Promise<void>;
}

/** A refused preview: the message says whose limit it was and when to try again. */
export class PreviewRateLimitedError extends UserFacingError {
  readonly scope: "member" | "guild";
  readonly retryAt: number;
  constructor(scope: "member" | "guild", retryAt: number) {
    const who = scope === "member" ? "You have played" : "This server has played";
    super(`${who} a lot of voice previews just now. Try again ${relativeTime(retryAt, "ceil")}.`);
    this.name = "PreviewRateLimitedError";
    this.scope = scope;
    this.retryAt = retryAt;
  }
}

export interface PreviewLimiterOptions {
  storage: Pick<Storage, "kind" | "redis">;
  member?: PreviewRate;
  guild?: PreviewRate;
  now?: () => number;
}

function limiter(storage: PreviewLimiterOptions["storage"], rate: PreviewRate, keyPrefix: string) {
  const base = { points: rate.points, duration: rate.durationSeconds, keyPrefix };
  if (storage.kind !== "redis" || !storage.redis) return new RateLimiterMemory(base);
  return new RateLimiterRedis({
    ...base,
    storeClient: storage.redis,
    useRedisPackage: true,
    // A Redis outage must not turn previews off (nor let them through unbounded).
    insuranceLimiter: new RateLimiterMemory(base),
  });
}

export function createPreviewLimiter(opts: PreviewLimiterOptions): PreviewLimiter {
  const now = opts.now ?? Date.now;
  const member = limiter(opts.storage, opts.member ?? PREVIEW_RATE_DEFAULTS.member, "preview-member");
  const guild = limiter(opts.storage, opts.guild ?? PREVIEW_RATE_DEFAULTS.guild, "preview-guild");

  async function take(rl: RateLimiterAbstract, key: string, scope: "member" | "guild"): Promise<void> {
    try {
      await rl.consume(key, 1);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new PreviewRateLimitedError(scope, now() + err.msBeforeNext);
      throw err;
    }
  }

  return {
    async consume(userId, guildId) {
      await take(member, userId, "member");
      // Direct messages share one allowance, as one "server".
      await take(guild, guildId ?? "dm", "guild");
    },
  };
}
