import { setTimeout as delay } from "node:timers/promises";

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

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  deadline: number | undefined;
}

/**
 * A sliding-window limiter: it remembers the start time of the last `limit` grants, so no window of
 * `intervalMs` ever holds more than `limit` starts — unlike a token bucket, which would allow a burst
 * of `limit` right after a full window and so break a server-side sliding window. Waiters are served
 * strictly first come, first served; an aborted waiter leaves the queue without using a slot.
 */
export class RateLimiter {
  readonly limit: number;
  readonly intervalMs: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  /** Start times of recent grants, oldest first; never longer than `limit`. */
  readonly #starts: number[] = [];
  readonly #queue: Waiter[] = [];
  #pumping = false;

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

  /** Waiters not yet granted a slot. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * When a waiter enqueued now would be granted, assuming everyone ahead of it stays: the window's
   * recent grants and the queue ahead, served in order, `limit` per `intervalMs`.
   */
  predictStart(): number {
    return this.#predict(this.#queue.length, this.#now());
  }

  /**
   * Resolves when a start is allowed (the slot is then used); rejects with the signal's reason on
   * abort, and with WouldMissDeadlineError when `opts.deadline` cannot be met (see AcquireOptions).
   */
  acquire(signal?: AbortSignal, opts: AcquireOptions = {}): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { deadline } = opts;
    if (deadline !== undefined) {
      const now = this.#now();
      const start = this.#predict(this.#queue.length, now);
      if (start > deadline) return Promise.reject(new WouldMissDeadlineError(start - now));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, deadline };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.#queue.indexOf(waiter);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      void this.#pump();
    });
  }

  /** The grant time of the waiter `ahead` places back in the queue (0 = the head), from `now`. */
  #predict(ahead: number, now: number): number {
    const grants = this.#starts.filter((t) => now - t < this.intervalMs);
    let at = now;
    for (let i = 0; i <= ahead; i++) {
      const n = grants.length;
      at = n >= this.limit ? Math.max(now, grants[n - this.limit]! + this.intervalMs) : now;
      grants.push(at);
    }
    return at;
  }

  #leave(waiter: Waiter): void {
    if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
  }

  /** Rejects (and removes) every waiter whose deadline has passed. */
  #expire(now: number): void {
    for (let i = 0; i < this.#queue.length; ) {
      const waiter = this.#queue[i]!;
      if (waiter.deadline !== undefined && now > waiter.deadline) {
        this.#queue.splice(i, 1);
        this.#leave(waiter);
        waiter.reject(new WouldMissDeadlineError(this.#predict(i, now) - now));
        continue;
      }
      i++;
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const now = this.#now();
        while (this.#starts.length > 0 && now - this.#starts[0]! >= this.intervalMs) this.#starts.shift();
        this.#expire(now);
        if (this.#queue.length === 0) break;
        if (this.#starts.length < this.limit) {
          const waiter = this.#queue.shift()!;
          this.#leave(waiter);
          this.#starts.push(now);
          waiter.resolve();
          continue;
        }
        // Wake for the next free slot, or sooner when a waiter's deadline passes before it.
        let wake = this.#starts[0]! + this.intervalMs;
        for (const w of this.#queue) if (w.deadline !== undefined && w.deadline < wake) wake = w.deadline;
        await this.#sleep(Math.max(1, wake - now));
      }
    } finally {
      this.#pumping = false;
    }
  }
}
