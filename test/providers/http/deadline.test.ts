import { describe, expect, it } from "vitest";
import { acquireBefore, startDeadline } from "../../../src/providers/http/deadline.ts";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import { DeadlineExceededError, ProviderBusyError } from "../../../src/speech/errors.ts";

const ctx = { provider: "minimax", label: "MiniMax", op: "t2a" } as const;

describe("startDeadline", () => {
  it("aborts its signal with a DeadlineExceededError at the budget", async () => {
    const dl = startDeadline(50, {}, ctx);
    expect(dl.expired).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(dl.expired).toBe(true);
    expect(dl.signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect(dl.outcome(new Error("socket closed"))).toBe(dl.signal.reason);
    expect((dl.signal.reason as DeadlineExceededError).message).toMatch(/MiniMax t2a did not finish/);
  });

  it("takes the caller's deadline when it is earlier, and fails at once when it has passed", () => {
    const now = performance.now();
    expect(startDeadline(60_000, { deadline: now + 100 }, ctx).at).toBeLessThanOrEqual(now + 100);
    const past = startDeadline(60_000, { deadline: now - 1 }, ctx);
    expect(past.expired).toBe(true);
    expect(() => past.signal.throwIfAborted()).toThrow(DeadlineExceededError);
  });

  it("keeps the caller's abort reason, and passes other errors through", () => {
    const controller = new AbortController();
    const dl = startDeadline(60_000, { signal: controller.signal }, ctx);
    const other = new Error("other");
    expect(dl.outcome(other)).toBe(other);
    const reason = new Error("user left");
    controller.abort(reason);
    expect(dl.signal.reason).toBe(reason);
    expect(dl.expired).toBe(false);
    expect(dl.outcome(reason)).toBe(reason);
    dl.dispose();
  });
});

describe("acquireBefore", () => {
  it("turns the limiter's refusal into a ProviderBusyError carrying retryAfterMs", async () => {
    const limiter = new RateLimiter({ limit: 1, intervalMs: 10_000 });
    const dl = startDeadline(1000, {}, ctx);
    await acquireBefore(limiter, dl, ctx);
    const err = await acquireBefore(limiter, dl, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderBusyError);
    expect((err as ProviderBusyError).retryAfterMs).toBeGreaterThan(9000);
    expect((err as ProviderBusyError).rateLimited).toBe(true);
    dl.dispose();
  });
});
