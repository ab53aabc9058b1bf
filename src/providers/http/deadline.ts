import { DeadlineExceededError, ProviderBusyError, type ProviderErrorDetails } from "../../speech/errors.ts";
import type { AcquireOptions, Limiter } from "./rate-limiter.ts";
import { WouldMissDeadlineError } from "./rate-limiter.ts";
import { LimiterUnavailableError } from "./shared-rate-limiter.ts";

/**
 * One provider call's overall deadline: its budget from now, or the caller's `deadline` when that is
 * earlier, combined with the caller's signal. Everything the call does (rate-limit waits, attempts,
 * backoff, body reads) runs under `signal`; when the deadline fires, that signal aborts with a
 * DeadlineExceededError as its reason, so whatever was waiting rejects with it.
 */
export interface CallDeadline {
  /** Aborts on the caller's abort (its reason) or at the deadline (a DeadlineExceededError). */
  readonly signal: AbortSignal;
  /** The deadline, in `performance.now()` milliseconds. */
  readonly at: number;
  /** True once the deadline (not the caller) ended the call. */
  readonly expired: boolean;
  /** Milliseconds left (negative once past). */
  remaining(): number;
  /**
   * What to throw for `err`, which ended the call: the DeadlineExceededError when the deadline fired
   * (whatever error the abort surfaced as), the error itself otherwise.
   */
  outcome(err: unknown): unknown;
  /** Clears the timer. Idempotent. */
  dispose(): void;
}

export interface DeadlineContext {
  provider: ProviderErrorDetails["provider"];
  /** How messages name the provider. */
  label: string;
  /** The operation, for the message: "t2a", "async query"… */
  op: string;
}

export function startDeadline(
  budgetMs: number,
  call: { signal?: AbortSignal; deadline?: number },
  ctx: DeadlineContext,
): CallDeadline {
  const started = performance.now();
  const at = Math.min(started + budgetMs, call.deadline ?? Number.POSITIVE_INFINITY);
  const controller = new AbortController();
  const expire = () => {
    const seconds = Math.round((performance.now() - started) / 100) / 10;
    controller.abort(
      new DeadlineExceededError(`${ctx.label} ${ctx.op} did not finish within its deadline (${seconds} s)`, {
        provider: ctx.provider,
      }),
    );
  };
  let timer: NodeJS.Timeout | undefined;
  if (call.signal?.aborted) {
    // The caller's reason wins; no timer needed.
  } else if (at <= started) {
    expire();
  } else {
    timer = setTimeout(expire, at - started);
    // A generator abandoned without return() must not keep the process alive for its deadline.
    timer.unref();
  }
  const signal = call.signal ? AbortSignal.any([call.signal, controller.signal]) : controller.signal;
  const expired = () => controller.signal.aborted && !call.signal?.aborted;
  return {
    signal,
    at,
    get expired() {
      return expired();
    },
    remaining: () => at - performance.now(),
    outcome: (err) => (expired() ? controller.signal.reason : err),
    dispose: () => clearTimeout(timer),
  };
}

/**
 * `limiter.acquire` under a call deadline: a start the limiter predicts after the deadline is refused
 * at once as a ProviderBusyError (nothing sent, nothing billed) instead of queueing.
 */
export async function acquireBefore(
  limiter: Limiter,
  deadline: CallDeadline,
  ctx: Omit<DeadlineContext, "op">,
): Promise<void> {
  const opts: AcquireOptions = { deadline: deadline.at };
  try {
    await limiter.acquire(deadline.signal, opts);
  } catch (err) {
    if (err instanceof LimiterUnavailableError) {
      throw new ProviderBusyError(`${ctx.label} rate limit: the fleet's shared limiter is unreachable`, {
        provider: ctx.provider,
        retryAfterMs: 1_000,
      });
    }
    if (err instanceof WouldMissDeadlineError) {
      throw new ProviderBusyError(
        `${ctx.label} rate limit: no request slot before the deadline (next in ${err.retryAfterMs} ms)`,
        { provider: ctx.provider, retryAfterMs: err.retryAfterMs },
      );
    }
    throw err;
  }
}
