import { setTimeout as delay } from "node:timers/promises";
import { TtsError } from "../../speech/errors.ts";

export interface RetryInfo {
  /** The attempt that just failed, starting at 1. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface RetryOptions {
  /** Extra attempts after the first one (so at most `retries + 1` calls). */
  retries: number;
  /** Backoff scale: attempt n waits up to `baseMs * 2^(n-1)`. */
  baseMs: number;
  /** No single wait is longer than this. */
  maxMs: number;
  /** Default: a `TtsError` whose kind is `retryable`. */
  isRetryable?: (err: unknown) => boolean;
  /** Default: a `TtsError` flagged `rateLimited`. Such errors back off harder (see `backoffDelay`). */
  isRateLimited?: (err: unknown) => boolean;
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  /** [0, 1). Default `Math.random`. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function isRetryableError(err: unknown): boolean {
  return err instanceof TtsError && err.retryable;
}

export function isRateLimitedError(err: unknown): boolean {
  return err instanceof TtsError && err.rateLimited;
}

/** Like `timers/promises` setTimeout, but an abort rejects with the signal's own reason. */
export async function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    signal?.throwIfAborted();
    throw err;
  }
}

/** How much harder a rate-limited failure backs off than other transient ones. */
const RATE_LIMIT_FACTOR = 4;

/**
 * Exponential backoff with full jitter (a uniform wait in [0, cap)), which spreads the retries of many
 * callers. A rate-limited failure uses a larger cap and waits at least half of it: retrying a full
 * rate window at once only earns another rate-limit error.
 */
export function backoffDelay(
  attempt: number,
  opts: { baseMs: number; maxMs: number; rateLimited: boolean; random: () => number },
): number {
  const factor = opts.rateLimited ? RATE_LIMIT_FACTOR : 1;
  const cap = Math.min(opts.maxMs, opts.baseMs * factor * 2 ** (attempt - 1));
  const r = opts.random();
  return Math.round(opts.rateLimited ? cap / 2 + (r * cap) / 2 : r * cap);
}

/** Calls `fn` until it succeeds, fails with a non-retryable error, or the attempts run out. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const isRetryable = opts.isRetryable ?? isRetryableError;
  const isRateLimited = opts.isRateLimited ?? isRateLimitedError;
  const random = opts.random ?? Math.random;
  const sleep = opts.sleep ?? abortableSleep;
  const maxAttempts = Math.max(0, Math.floor(opts.retries)) + 1;

  for (let attempt = 1; ; attempt++) {
    opts.signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted || attempt >= maxAttempts || !isRetryable(err)) throw err;
      const delayMs = backoffDelay(attempt, {
        baseMs: opts.baseMs,
        maxMs: opts.maxMs,
        rateLimited: isRateLimited(err),
        random,
      });
      opts.onRetry?.({ attempt, delayMs, error: err });
      await sleep(delayMs, opts.signal);
    }
  }
}
