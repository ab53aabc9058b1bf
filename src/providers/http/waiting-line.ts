import type { QueueTicket } from "./rate-limiter.ts";

/**
 * The line of callers waiting for a start, as both limiters keep it (`RateLimiter` in this process,
 * `SharedRateLimiter` on Redis): first come, first served, an aborted waiter leaves without using a
 * slot, and a ticket reads a waiter's place live. Each limiter predicts start times its own way.
 */

export interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  deadline: number | undefined;
}

/** When the waiter `ahead` places back in the line (0 = the head) would start, seen from `now`. */
export type PredictStart = (ahead: number, now: number) => number;

/**
 * For a caller about to join a line `ahead` long: the milliseconds until its predicted start when
 * that falls after its deadline (it is refused at once), else undefined.
 */
export function missedBy(
  deadline: number | undefined,
  ahead: number,
  now: () => number,
  predict: PredictStart,
): number | undefined {
  if (deadline === undefined) return undefined;
  const t = now();
  const start = predict(ahead, t);
  return start > deadline ? start - t : undefined;
}

/** Puts the waiter at the back of the line; an abort takes it out and rejects it with the signal's reason. */
export function joinLine<W extends Waiter>(queue: W[], waiter: W): void {
  const { signal } = waiter;
  if (signal) {
    waiter.onAbort = () => {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      waiter.reject(signal.reason);
    };
    signal.addEventListener("abort", waiter.onAbort, { once: true });
  }
  queue.push(waiter);
}

/** Drops the waiter's abort listener (it was granted, refused or is being rejected). */
export function leaveLine(waiter: Waiter): void {
  if (waiter.onAbort) waiter.signal?.removeEventListener("abort", waiter.onAbort);
}

/** The live view of one waiter's place, for `onQueued`. */
export function lineTicket(
  queue: readonly Waiter[],
  waiter: Waiter,
  now: () => number,
  predict: PredictStart,
): QueueTicket {
  const index = () => queue.indexOf(waiter);
  const waitMs = () => {
    const i = index();
    if (i < 0) return 0;
    const t = now();
    return Math.max(0, predict(i, t) - t);
  };
  return {
    get position() {
      return index() + 1;
    },
    get waitMs() {
      return waitMs();
    },
  };
}
