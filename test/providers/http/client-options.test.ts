import { describe, expect, it } from "vitest";
import {
  limiterFor,
  type ResolvedRetry,
  retryWithinDeadline,
  withDefaults,
} from "../../../src/providers/http/client-options.ts";
import { startDeadline } from "../../../src/providers/http/deadline.ts";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import { AuthError, ProviderBusyError, RetryableError } from "../../../src/speech/errors.ts";

const CTX = { provider: "minimax", label: "Test", op: "call" } as const;
const retryable = () => new RetryableError("flaky", { provider: "minimax" });

describe("withDefaults", () => {
  it("takes what is set and keeps the default for what is not, undefined included", () => {
    const defaults = { retries: 3, baseMs: 500, maxMs: 20_000 };
    expect(withDefaults(defaults, { retries: 0, baseMs: undefined })).toEqual({
      retries: 0,
      baseMs: 500,
      maxMs: 20_000,
    });
    expect(withDefaults(defaults, undefined)).toEqual(defaults);
    expect(defaults.retries).toBe(3);
  });
});

describe("limiterFor", () => {
  it("prefers a ready-made limiter, so clients can share one budget", () => {
    const shared = new RateLimiter({ limit: 1, intervalMs: 1000 });
    expect(limiterFor({ synthesis: shared }, "synthesis", 60, 60_000)).toBe(shared);
    expect(limiterFor<"synthesis" | "query">({ synthesis: shared }, "query", 10, 1000)).not.toBe(shared);
  });
});

describe("retryWithinDeadline", () => {
  const retry = (over: Partial<ResolvedRetry> = {}): ResolvedRetry => ({
    retries: 3,
    baseMs: 1,
    maxMs: 1,
    random: () => 0.5,
    ...over,
  });

  it("retries retryable failures, reporting each", async () => {
    const dl = startDeadline(5000, {}, CTX);
    let calls = 0;
    const attempts: number[] = [];
    const value = await retryWithinDeadline(
      async () => {
        calls++;
        if (calls < 3) throw retryable();
        return "ok";
      },
      { retry: retry(), deadline: dl, onRetry: (info) => attempts.push(info.attempt) },
    );
    dl.dispose();
    expect(value).toBe("ok");
    expect(attempts).toEqual([1, 2]);
  });

  it.each([
    ["a limiter's refusal", () => new ProviderBusyError("busy", { provider: "minimax", retryAfterMs: 10 })],
    ["a permanent failure", () => new AuthError("no", { provider: "minimax" })],
  ])("does not retry %s", async (_name, error) => {
    const dl = startDeadline(5000, {}, CTX);
    let calls = 0;
    const failure = error();
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          throw failure;
        },
        { retry: retry(), deadline: dl },
      ),
    ).rejects.toBe(failure);
    dl.dispose();
    expect(calls).toBe(1);
  });

  it("does not retry what the caller's rule refuses", async () => {
    const dl = startDeadline(5000, {}, CTX);
    let calls = 0;
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          throw retryable();
        },
        { retry: retry(), deadline: dl, isRetryable: () => false },
      ),
    ).rejects.toBeInstanceOf(RetryableError);
    dl.dispose();
    expect(calls).toBe(1);
  });

  it("gives the last failure instead of waiting out a backoff that ends past the deadline", async () => {
    const dl = startDeadline(200, {}, CTX);
    const slept: number[] = [];
    let calls = 0;
    const last = retryable();
    const started = performance.now();
    await expect(
      retryWithinDeadline(
        async () => {
          calls++;
          throw last;
        },
        {
          retry: retry({ baseMs: 10_000, maxMs: 10_000, sleep: async (ms) => void slept.push(ms) }),
          deadline: dl,
        },
      ),
    ).rejects.toBe(last);
    dl.dispose();
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
    expect(performance.now() - started).toBeLessThan(100);
  });
});
