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

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
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

  /** Resolves when a start is allowed (the slot is then used); rejects with the signal's reason on abort. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
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

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const now = this.#now();
        while (this.#starts.length > 0 && now - this.#starts[0]! >= this.intervalMs) this.#starts.shift();
        if (this.#starts.length < this.limit) {
          const waiter = this.#queue.shift()!;
          if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
          this.#starts.push(now);
          waiter.resolve();
          continue;
        }
        await this.#sleep(Math.max(1, this.#starts[0]! + this.intervalMs - now));
      }
    } finally {
      this.#pumping = false;
    }
  }
}
