import { describe, expect, it, vi } from "vitest";
import { backoffDelay, type RetryOptions, withRetry } from "../../../src/providers/http/retry.ts";
import { InvalidInputError, RetryableError } from "../../../src/speech/errors.ts";

const transient = () => new RetryableError("boom", { provider: "minimax", code: 1000 });
const rateLimited = () =>
  new RetryableError("slow down", { provider: "minimax", code: 1002, rateLimited: true });
const invalid = () => new InvalidInputError("bad", { provider: "minimax", code: 2013 });

function harness(failures: Error[], extra: Partial<RetryOptions> = {}) {
  const delays: number[] = [];
  let calls = 0;
  const fn = vi.fn(async (attempt: number) => {
    calls++;
    expect(attempt).toBe(calls);
    const failure = failures[calls - 1];
    if (failure) throw failure;
    return "ok";
  });
  const opts: RetryOptions = {
    retries: 3,
    baseMs: 100,
    maxMs: 1000,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...extra,
  };
  return { fn, opts, delays };
}

describe("withRetry", () => {
  it("retries retryable errors with growing jittered delays, then succeeds", async () => {
    const { fn, opts, delays } = harness([transient(), transient(), transient()]);
    await expect(withRetry(fn, opts)).resolves.toBe("ok");
    expect(fn).toHaveBeenCalledTimes(4);
    expect(delays).toEqual([50, 100, 200]);
  });

  it("gives up after `retries` extra attempts with the last error", async () => {
    const errors = [transient(), transient(), transient()];
    const { fn, opts } = harness(errors, { retries: 2 });
    await expect(withRetry(fn, opts)).rejects.toBe(errors[2]);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it("does not retry a non-retryable error", async () => {
    const err = invalid();
    const { fn, opts, delays } = harness([err]);
    await expect(withRetry(fn, opts)).rejects.toBe(err);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(delays).toEqual([]);
  });

  it("uses a custom predicate", async () => {
    const { fn, opts } = harness([invalid()], { isRetryable: () => true });
    await expect(withRetry(fn, opts)).resolves.toBe("ok");
  });

  it("backs off harder for rate limits", async () => {
    const { fn, opts, delays } = harness([rateLimited(), rateLimited()], { random: () => 0 });
    await withRetry(fn, opts);
    // cap = base * 4 * 2^(n-1); at least half of it even with random() = 0
    expect(delays).toEqual([200, 400]);
  });

  it("caps every delay at maxMs", async () => {
    const { fn, opts, delays } = harness([transient(), transient(), transient()], {
      random: () => 0.999,
      baseMs: 800,
      maxMs: 1000,
    });
    await withRetry(fn, opts);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
  });

  it("reports each retry", async () => {
    const onRetry = vi.fn();
    const err = transient();
    const { fn, opts } = harness([err], { onRetry });
    await withRetry(fn, opts);
    expect(onRetry).toHaveBeenCalledWith({ attempt: 1, delayMs: 50, error: err });
  });

  it("stops when aborted during the backoff, with the signal's reason", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const fn = vi.fn(async () => {
      throw transient();
    });
    const run = withRetry(fn, {
      retries: 5,
      baseMs: 10_000,
      maxMs: 10_000,
      random: () => 0.5,
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 10));
    controller.abort(reason);
    await expect(run).rejects.toBe(reason);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it("does not start when already aborted", async () => {
    const fn = vi.fn(async () => "never");
    const reason = new Error("early");
    await expect(
      withRetry(fn, { retries: 1, baseMs: 1, maxMs: 1, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe("backoffDelay", () => {
  it.each([
    // attempt, random, rateLimited, expected (base 100, max 5000)
    [1, 0, false, 0],
    [1, 0.5, false, 50],
    [3, 0.5, false, 200],
    [10, 0.5, false, 2500],
    [1, 0, true, 200],
    [1, 0.5, true, 300],
    [10, 0, true, 2500],
  ])("attempt %i, random %f, rateLimited %s → %i ms", (attempt, r, limited, expected) => {
    expect(backoffDelay(attempt, { baseMs: 100, maxMs: 5000, rateLimited: limited, random: () => r })).toBe(
      expected,
    );
  });
});
