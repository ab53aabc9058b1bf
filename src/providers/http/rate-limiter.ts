import { setTimeout as delay } from "node:timers/promises";
import { joinLine, leaveLine, lineTicket, missedBy, type Waiter } from "./waiting-line.ts";

/** Sleeps `ms`; injectable so tests can drive time by hand. */
export type Sleep = (ms: number) => Promise<void>;

export interface RateLimiterOptions {
  /** Most starts allowed inside any window of `intervalMs`. */
  limit: number;
  intervalMs: number;
  /** Monotonic milliseconds. Default: `performance.now()`. */
  now?: () => number;
  sleep?: Sleep;
}

export interface AcquireOptions {
  /**
   * Latest start that is still useful, on the limiter's clock (`performance.now()` ms by default).
   * When the predicted start is later, `acquire` rejects at once with WouldMissDeadlineError; a
   * waiter whose deadline passes while it waits is rejected the same way, without using a slot.
   */
  deadline?: number;
  /**
   * Called once, synchronously, when the start cannot be granted at once and the caller joins the
   * line: the ticket tells its place and predicted wait for as long as it waits (read it whenever
   * needed; nothing is pushed). Not called for a start granted at once, nor for one refused at once.
   */
  onQueued?: (ticket: QueueTicket) => void;
}

/** A waiter's place in line, read live. */
export interface QueueTicket {
  /** 1 for the next to start; 0 once it has left the line (started, refused or aborted). */
  readonly position: number;
  /**
   * Predicted milliseconds until it starts, assuming everyone ahead stays: the window's recent
   * grants and the queue ahead, served in order, `limit` per `intervalMs`. 0 once it left the line.
   */
  readonly waitMs: number;
}

/**
 * The limiter could not grant a start before the caller's deadline: the window is full and the queue
 * ahead would not drain in time. Nothing was started; `retryAfterMs` is how long until a start
 * (behind the current queue) is predicted to be possible.
 */
export class WouldMissDeadlineError extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    const ms = Math.max(0, Math.ceil(retryAfterMs));
    super(`rate limit: the next start is ${ms} ms away, after the request's deadline`);
    this.name = "WouldMissDeadlineError";
    this.retryAfterMs = ms;
  }
}

/**
 * What a provider client needs of a limiter: a start (or a refusal) under its deadline, and a view
 * that reports the caller's place in line. `RateLimiter` holds it in this process;
 * `SharedRateLimiter` (shared-rate-limiter.ts) holds it for a fleet on Redis.
 */
export interface Limiter {
  acquire(signal?: AbortSignal, opts?: AcquireOptions): Promise<void>;
  reporting(onQueued: (ticket: QueueTicket) => void): Limiter;
}

interface Line {
  /** Start times of recent grants, oldest first; never longer than `limit`. */
  starts: number[];
  queue: Waiter[];
  pumping: boolean;
}

/**
 * A sliding-window limiter: it remembers the start time of the last `limit` grants, so no window of
 * `intervalMs` ever holds more than `limit` starts — unlike a token bucket, which would allow a burst
 * of `limit` right after a full window and so break a server-side sliding window. Waiters are served
 * strictly first come, first served; an aborted waiter leaves the queue without using a slot.
 * `onQueued` lets a waiter see its place in line and predicted start (for telling a user).
 */
export class RateLimiter implements Limiter {
  readonly limit: number;
  readonly intervalMs: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  /** The window and the line, shared with the views made by `reporting`. */
  #line: Line = { starts: [], queue: [], pumping: false };
  /** `onQueued` for acquisitions that do not pass their own (set on views). */
  #onQueued: ((ticket: QueueTicket) => void) | undefined;

  constructor(opts: RateLimiterOptions) {
    if (!Number.isInteger(opts.limit) || opts.limit < 1) {
      throw new RangeError(`RateLimiter limit must be a positive integer, got ${opts.limit}`);
    }
    if (!(opts.intervalMs > 0)) {
      throw new RangeError(`RateLimiter intervalMs must be positive, got ${opts.intervalMs}`);
    }
    this.limit = opts.limit;
    this.intervalMs = opts.intervalMs;
    this.#now = opts.now ?? (() => performance.now());
    this.#sleep = opts.sleep ?? ((ms) => delay(ms));
  }

  /**
   * This same limiter (same window, same line) for a caller that wants to know its place in line:
   * every `acquire` through the returned view reports `onQueued` (see AcquireOptions) unless it passes
   * its own. Lets a caller hand the listener through code that only calls `acquire`.
   */
  reporting(onQueued: (ticket: QueueTicket) => void): RateLimiter {
    const view = new RateLimiter({
      limit: this.limit,
      intervalMs: this.intervalMs,
      now: this.#now,
      sleep: this.#sleep,
    });
    view.#line = this.#line;
    view.#onQueued = onQueued;
    return view;
  }

  /** Waiters not yet granted a slot. */
  get pending(): number {
    return this.#line.queue.length;
  }

  /**
   * When a waiter enqueued now would be granted, assuming everyone ahead of it stays: the window's
   * recent grants and the queue ahead, served in order, `limit` per `intervalMs`.
   */
  predictStart(): number {
    return this.#predict(this.#line.queue.length, this.#now());
  }

  /**
   * Resolves when a start is allowed (the slot is then used); rejects with the signal's reason on
   * abort, and with WouldMissDeadlineError when `opts.deadline` cannot be met (see AcquireOptions).
   */
  acquire(signal?: AbortSignal, opts: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { deadline } = opts;
    const late = missedBy(deadline, this.#line.queue.length, this.#now, this.#predictFn);
    if (late !== undefined) return Promise.reject(new WouldMissDeadlineError(late));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, deadline };
      joinLine(this.#line.queue, waiter);
      void this.#pump();
      // The pump grants a free slot synchronously; a waiter still queued has to wait its turn.
      const onQueued = opts.onQueued ?? this.#onQueued;
      if (onQueued && this.#line.queue.includes(waiter)) {
        try {
          onQueued(lineTicket(this.#line.queue, waiter, this.#now, this.#predictFn));
        } catch {
          // A listener's failure must not cost the waiter its place.
        }
      }
    });
  }

  /** The grant time of the waiter `ahead` places back in the queue (0 = the head), from `now`. */
  #predict(ahead: number, now: number): number {
    const grants = this.#line.starts.filter((t) => now - t < this.intervalMs);
    let at = now;
    for (let i = 0; i <= ahead; i++) {
      const n = grants.length;
      at = n >= this.limit ? Math.max(now, grants[n - this.limit]! + this.intervalMs) : now;
      grants.push(at);
    }
    return at;
  }

  /** `#predict` as a value, for the line's helpers (waiting-line.ts). */
  readonly #predictFn = (ahead: number, now: number) => this.#predict(ahead, now);

  /** Rejects (and removes) every waiter whose deadline has passed. */
  #expire(now: number): void {
    for (let i = 0; i < this.#line.queue.length; ) {
      const waiter = this.#line.queue[i]!;
      if (waiter.deadline !== undefined && now > waiter.deadline) {
        this.#line.queue.splice(i, 1);
        leaveLine(waiter);
        waiter.reject(new WouldMissDeadlineError(this.#predict(i, now) - now));
        continue;
      }
      i++;
    }
  }

  async #pump(): Promise<void> {
    if (this.#line.pumping) return;
    this.#line.pumping = true;
    try {
      while (this.#line.queue.length > 0) {
        const now = this.#now();
        while (this.#line.starts.length > 0 && now - this.#line.starts[0]! >= this.intervalMs)
          this.#line.starts.shift();
        this.#expire(now);
        if (this.#line.queue.length === 0) break;
        if (this.#line.starts.length < this.limit) {
          const waiter = this.#line.queue.shift()!;
          leaveLine(waiter);
          this.#line.starts.push(now);
          waiter.resolve();
          continue;
        }
        // Wake for the next free slot, or sooner when a waiter's deadline passes before it.
        let wake = this.#line.starts[0]! + this.intervalMs;
        for (const w of this.#line.queue)
          if (w.deadline !== undefined && w.deadline < wake) wake = w.deadline;
        await this.#sleep(Math.max(1, wake - now));
      }
    } finally {
      this.#line.pumping = false;
    }
  }
}
