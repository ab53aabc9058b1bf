import { describe, expect, it } from "vitest";
import { createUserGuards } from "../../src/tts/guards.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

describe("createUserGuards", () => {
  it("enforces the cooldown per user and says when to try again", () => {
    let t = 1_000_000;
    const guards = createUserGuards({ cooldownMs: 5000, maxConcurrent: 5, now: () => t });
    guards.acquire("a")();
    guards.acquire("b")(); // another user is not affected
    t += 2000;
    expect(() => guards.acquire("a")).toThrow(UserFacingError);
    expect(() => guards.acquire("a")).toThrow(/again in 3 s \(<t:1005:R>\)/);
    t += 3000;
    expect(() => guards.acquire("a")).not.toThrow();
  });

  it("caps concurrent requests per user until they are released", () => {
    const guards = createUserGuards({ cooldownMs: 0, maxConcurrent: 2 });
    const r1 = guards.acquire("a");
    const r2 = guards.acquire("a");
    expect(() => guards.acquire("a")).toThrow(/already have 2 requests in progress/);
    r1();
    r1(); // releasing twice frees one slot only
    const r3 = guards.acquire("a");
    expect(() => guards.acquire("a")).toThrow(/in progress/);
    r2();
    r3();
    expect(() => guards.acquire("a")).not.toThrow();
  });

  it("does not start a cooldown for a refused request", () => {
    let t = 0;
    const guards = createUserGuards({ cooldownMs: 1000, maxConcurrent: 1, now: () => t });
    const release = guards.acquire("a");
    t = 2000;
    expect(() => guards.acquire("a")).toThrow(/in progress/);
    release();
    expect(() => guards.acquire("a")).not.toThrow();
  });
});
