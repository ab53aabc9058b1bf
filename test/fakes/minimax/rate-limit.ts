/**
 * Sliding-window limiters: MiniMax counts synthesis requests per minute (1002 `rate limit` beyond
 * the RPM) and async queries per second. Refused requests do not use up the window.
 */
export class SlidingWindow {
  #hits: number[] = [];
  readonly limit: number;
  readonly windowMs: number;
  #now: () => number;

  constructor(limit: number, windowMs: number, now: () => number) {
    this.limit = limit;
    this.windowMs = windowMs;
    this.#now = now;
  }

  /** Records a hit and returns true when it fits in the window; returns false (and records nothing) otherwise. */
  tryAcquire(): boolean {
    const now = this.#now();
    this.#hits = this.#hits.filter((t) => now - t < this.windowMs);
    if (this.#hits.length >= this.limit) return false;
    this.#hits.push(now);
    return true;
  }

  reset(): void {
    this.#hits = [];
  }
}
