import { createHash } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import {
  type AcquireOptions,
  type Limiter,
  type QueueTicket,
  type Sleep,
  WouldMissDeadlineError,
} from "./rate-limiter.ts";
import { joinLine, type Waiter as LineWaiter, leaveLine, lineTicket, missedBy } from "./waiting-line.ts";

/**
 * A provider budget held by the whole fleet: every process that talks to the provider with the same
 * key consumes from one Redis-backed window (rate-limiter-flexible's RateLimiterRedis), so the
 * account's limits (synthesis per minute, queries per second, downloads) hold however many processes
 * run. Same contract as the in-process `RateLimiter`: first come, first served within the process, a
 * deadline that cannot be met is refused at once (WouldMissDeadlineError), and an aborted waiter
 * leaves the line without using a slot.
 *
 * MiniMax counts in sliding windows, so the counting is a sliding log (a sorted set of start times,
 * trimmed to the window) run by rate-limiter-flexible's `customIncrTtlLuaScript` hook: a fixed window
 * would let twice the limit through across a window boundary. The script runs on the Redis server's
 * clock, so processes on machines with skewed clocks still share one window. A refused start is not
 * recorded. No insurance limiter: when Redis cannot be reached the start is refused
 * (LimiterUnavailableError) rather than guessed at, since guessing per process would overspend the
 * account.
 */

/** Redis could not be asked for a slot: nothing was started. */
export class LimiterUnavailableError extends Error {
  constructor(cause: unknown) {
    super("the shared rate limiter's store (Redis) did not answer", { cause });
    this.name = "LimiterUnavailableError";
  }
}

/**
 * KEYS[1]: the window's sorted set. ARGV (rate-limiter-flexible's order): points to take, the window
 * in whole seconds, the limit, the window in seconds (may be fractional). Returns {count, ms}: the
 * starts in the window counting this one (over the limit: refused, nothing recorded) and, when
 * refused, the milliseconds until enough starts leave the window.
 */
export const SLIDING_LOG_SCRIPT = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = math.floor(tonumber(ARGV[4]) * 1000)
local limit = tonumber(ARGV[3])
local want = tonumber(ARGV[1])
redis.call('zremrangebyscore', KEYS[1], '-inf', now - window)
local count = redis.call('zcard', KEYS[1])
if count + want > limit then
  local freeing = redis.call('zrange', KEYS[1], count + want - limit - 1, count + want - limit - 1, 'WITHSCORES')
  local wait = window
  if freeing[2] then wait = tonumber(freeing[2]) + window - now end
  if wait < 1 then wait = 1 end
  return {count + want, wait}
end
for i = 1, want do
  redis.call('zadd', KEYS[1], now, now .. '.' .. (count + i))
end
redis.call('pexpire', KEYS[1], window)
return {count + want, window}
`;

/**
 * The connection as rate-limiter-flexible's node-redis path sees it (`eval(script, { keys, arguments })`).
 * Its ioredis path would define the script as the connection's `rlflxIncr` command, which every other
 * RateLimiterRedis on the same connection (the members' cooldowns) redefines with its own script:
 * the sliding log would silently become a fixed window. EVAL carries the script with every call.
 */
function evalClient(redis: Redis) {
  return {
    eval: (script: string, args: { keys: string[]; arguments: string[] }) =>
      redis.eval(script, args.keys.length, ...args.keys, ...args.arguments),
  };
}

export interface SharedRateLimiterOptions {
  redis: Redis;
  /** The budget's name: every process using the same name shares the window. */
  key: string;
  /** Most starts in any window of `intervalMs`. */
  limit: number;
  /** The window, at least 1,000 ms. */
  intervalMs: number;
  /** Key prefix in Redis. Default "rl". */
  prefix?: string;
  sleep?: Sleep;
  /** The clock `AcquireOptions.deadline` is on. Default `performance.now()`. */
  now?: () => number;
}

interface Waiter extends LineWaiter {
  /** Told its place once it is known to wait (a line ahead of it, or the fleet's window full). */
  onQueued: ((ticket: QueueTicket) => void) | undefined;
}

interface Line {
  queue: Waiter[];
  pumping: boolean;
  /** When the window was last seen full until (limiter clock); 0 when it had room. */
  fullUntil: number;
}

export class SharedRateLimiter implements Limiter {
  readonly limit: number;
  readonly intervalMs: number;
  readonly #rl: RateLimiterRedis;
  readonly #key: string;
  readonly #sleep: Sleep;
  readonly #now: () => number;
  readonly #opts: SharedRateLimiterOptions;
  #line: Line = { queue: [], pumping: false, fullUntil: 0 };
  #onQueued: ((ticket: QueueTicket) => void) | undefined;

  /** `shared`: the window client and the line of the limiter a `reporting` view is made from. */
  constructor(opts: SharedRateLimiterOptions, shared?: { rl: RateLimiterRedis; line: Line }) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) {
      throw new RangeError(`SharedRateLimiter limit must be a positive integer, got ${opts.limit}`);
    }
    if (!(opts.intervalMs >= 1000)) {
      throw new RangeError(`SharedRateLimiter intervalMs must be at least 1000, got ${opts.intervalMs}`);
    }
    this.limit = opts.limit;
    this.intervalMs = opts.intervalMs;
    this.#key = opts.key;
    this.#sleep = opts.sleep ?? ((ms) => delay(ms));
    this.#now = opts.now ?? (() => performance.now());
    this.#opts = opts;
    this.#rl =
      shared?.rl ??
      new RateLimiterRedis({
        storeClient: evalClient(opts.redis),
        useRedisPackage: true,
        keyPrefix: opts.prefix ?? "rl",
        points: opts.limit,
        duration: opts.intervalMs / 1000,
        customIncrTtlLuaScript: SLIDING_LOG_SCRIPT,
      });
    if (shared) this.#line = shared.line;
  }

  /** This limiter (same line) reporting `onQueued` for acquisitions that pass none. */
  reporting(onQueued: (ticket: QueueTicket) => void): SharedRateLimiter {
    const view = new SharedRateLimiter(this.#opts, { rl: this.#rl, line: this.#line });
    view.#onQueued = onQueued;
    return view;
  }

  get pending(): number {
    return this.#line.queue.length;
  }

  /**
   * A start when the fleet's window has room, in this process's order of arrival. The prediction
   * used for `deadline` assumes the window frees one start per `intervalMs / limit`.
   */
  acquire(signal?: AbortSignal, opts: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { deadline } = opts;
    const late = missedBy(deadline, this.#line.queue.length, this.#now, this.#predictFn);
    if (late !== undefined) return Promise.reject(new WouldMissDeadlineError(late));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        onAbort: undefined,
        deadline,
        onQueued: opts.onQueued ?? this.#onQueued,
      };
      joinLine(this.#line.queue, waiter);
      if (this.#line.queue.length > 1 || this.#line.fullUntil > this.#now()) this.#report(waiter);
      void this.#pump();
    });
  }

  #predict(ahead: number, now: number): number {
    const base = Math.max(now, this.#line.fullUntil);
    if (ahead === 0 && base === now) return now;
    return base + (ahead * this.intervalMs) / this.limit;
  }

  /** `#predict` as a value, for the line's helpers (waiting-line.ts). */
  readonly #predictFn = (ahead: number, now: number) => this.#predict(ahead, now);

  /** Calls the waiter's `onQueued` once. */
  #report(waiter: Waiter): void {
    const onQueued = waiter.onQueued;
    if (!onQueued) return;
    waiter.onQueued = undefined;
    try {
      onQueued(lineTicket(this.#line.queue, waiter, this.#now, this.#predictFn));
    } catch {
      // A listener's failure must not cost the waiter its place.
    }
  }

  /** Takes one start from the fleet's window: 0 when granted, else the ms until one may be free. */
  async #take(): Promise<number> {
    try {
      await this.#rl.consume(this.#key, 1);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
      throw new LimiterUnavailableError(err);
    }
  }

  async #pump(): Promise<void> {
    const line = this.#line;
    if (line.pumping) return;
    line.pumping = true;
    try {
      while (line.queue.length > 0) {
        const head = line.queue[0]!;
        let waitMs: number;
        try {
          waitMs = await this.#take();
        } catch (err) {
          // Redis is away: every waiter is told now (none could be served), nothing was started.
          for (const w of line.queue.splice(0)) {
            leaveLine(w);
            w.reject(err);
          }
          break;
        }
        const now = this.#now();
        if (line.queue[0] !== head) {
          // The head left (aborted) while its slot was being taken: the slot goes to the next one.
          if (waitMs === 0 && line.queue.length > 0) this.#grant(line.queue.shift()!);
          continue;
        }
        if (waitMs === 0) {
          line.fullUntil = 0;
          this.#grant(line.queue.shift()!);
          continue;
        }
        line.fullUntil = now + waitMs;
        // Waiters whose deadline the line cannot meet are refused now rather than at the deadline.
        for (let i = 0; i < line.queue.length; ) {
          const w = line.queue[i]!;
          const start = this.#predict(i, now);
          if (w.deadline !== undefined && start > w.deadline) {
            line.queue.splice(i, 1);
            leaveLine(w);
            w.reject(new WouldMissDeadlineError(start - now));
            continue;
          }
          i++;
        }
        if (line.queue.length === 0) break;
        for (const w of line.queue) this.#report(w);
        // Other processes compete for the same start: a little jitter keeps them from asking in step.
        await this.#sleep(waitMs + Math.floor(Math.random() * 5));
      }
    } finally {
      line.pumping = false;
    }
  }

  #grant(waiter: Waiter): void {
    leaveLine(waiter);
    waiter.resolve();
  }
}

/** The budgets a provider account has, shared by the fleet. */
export interface SharedProviderLimiters {
  synthesis: SharedRateLimiter;
  query: SharedRateLimiter;
  files: SharedRateLimiter;
  /** MiniMax's voice design, 20 per minute of its own. */
  design: SharedRateLimiter;
}

/**
 * The account's budgets on Redis, named by provider and a digest of the API key (never the key): two
 * bots with different keys on one Redis keep separate budgets; the processes of one bot share theirs.
 * The windows carry slack because MiniMax counts requests when they arrive: a minute is 61 s, as in
 * one process, and a second is 1.2 s (one process uses 1.1 s), since a fleet adds the spread between
 * the Redis grant and the arrival (a Redis round trip, busy event loops, machines at different
 * distances from the API).
 */
export const FLEET_SECOND_MS = 1_200;
export function sharedProviderLimiters(
  redis: Redis,
  account: { provider: string; apiKey: string },
  rates: { synthesisRpm: number; queryQps: number; designRpm?: number },
): SharedProviderLimiters {
  const digest = createHash("sha256").update(account.apiKey).digest("hex").slice(0, 16);
  const key = (budget: string) => `${account.provider}:${digest}:${budget}`;
  return {
    synthesis: new SharedRateLimiter({
      redis,
      key: key("synthesis"),
      limit: rates.synthesisRpm,
      intervalMs: 61_000,
    }),
    query: new SharedRateLimiter({
      redis,
      key: key("query"),
      limit: rates.queryQps,
      intervalMs: FLEET_SECOND_MS,
    }),
    design: new SharedRateLimiter({
      redis,
      key: key("design"),
      limit: rates.designRpm ?? 20,
      intervalMs: 61_000,
    }),
    files: new SharedRateLimiter({
      redis,
      key: key("files"),
      limit: rates.queryQps,
      intervalMs: FLEET_SECOND_MS,
    }),
  };
}
