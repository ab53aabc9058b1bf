import { describe, expect, it } from "vitest";
import { createUserGuards } from "../../src/speak/guards.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

describe("createUserGuards", () => {
  it("allows a burst, then one request per cooldown, and says when to try again", () => {
    let t = 1_000_000;
    const guards = createUserGuards({ cooldownMs: 5000, burst: 3, maxConcurrent: 10, now: () => t });
    for (let i = 0; i < 3; i++) guards.acquire("a")();
    guards.acquire("b")(); // another user is not affected
    expect(() => guards.acquire("a")).toThrow(UserFacingError);
    expect(() => guards.acquire("a")).toThrow(/again in 5 s \(<t:1005:R>\)/);
    t += 2000;
    expect(() => guards.acquire("a")).toThrow(/again in 3 s/);
    t += 3000;
    expect(() => guards.acquire("a")).not.toThrow();
    expect(() => guards.acquire("a")).toThrow(/Slow down/);
    t += 15_000; // refills up to the burst, not beyond
    for (let i = 0; i < 3; i++) guards.acquire("a")();
    expect(() => guards.acquire("a")).toThrow(/Slow down/);
  });

  it("lets a server's own cooldown replace the bot's for a request", () => {
    let t = 0;
    const guards = createUserGuards({ cooldownMs: 1000, burst: 1, maxConcurrent: 10, now: () => t });
    guards.acquire("a", 60_000)();
    t = 5000; // the bot's cooldown has passed, the server's has not
    expect(() => guards.acquire("a", 60_000)).toThrow(/again in 55 s/);
    t = 60_000;
    expect(() => guards.acquire("a", 60_000)).not.toThrow();
  });

  it("caps concurrent requests per user until they are released", () => {
    const guards = createUserGuards({ cooldownMs: 0, burst: 1, maxConcurrent: 2 });
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

  it("does not spend a token on a request refused for concurrency", () => {
    let t = 0;
    const guards = createUserGuards({ cooldownMs: 1000, burst: 1, maxConcurrent: 1, now: () => t });
    const release = guards.acquire("a");
    t = 2000;
    expect(() => guards.acquire("a")).toThrow(/in progress/);
    release();
    expect(() => guards.acquire("a")).not.toThrow();
  });
});
