import { describe, expect, it } from "vitest";
import { closeWorker, settlesWithin } from "../../src/storage/fleet-redis.ts";

describe("settlesWithin", () => {
  it("is true for work that settles in time, rejected or not, and false for work that does not", async () => {
    expect(await settlesWithin(Promise.resolve(1), 50)).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error("x")), 50)).toBe(true);
    expect(await settlesWithin(new Promise(() => undefined), 30)).toBe(false);
  });
});

describe("closeWorker", () => {
  it("closes gracefully when the worker finishes in time", async () => {
    const calls: (boolean | undefined)[] = [];
    const worker = {
      close: async (force?: boolean) => {
        calls.push(force);
      },
    };
    expect(await closeWorker(worker, 100)).toBe(true);
    expect(calls).toEqual([undefined]);
  });

  it("forces a worker whose graceful close never ends, and still returns", async () => {
    const calls: (boolean | undefined)[] = [];
    const worker = {
      close: (force?: boolean) => {
        calls.push(force);
        return force ? Promise.resolve() : new Promise<void>(() => undefined);
      },
    };
    expect(await closeWorker(worker, 30)).toBe(false);
    expect(calls).toEqual([undefined, true]);
  });
});

describe("closeWorker, idle", () => {
  it("closes an idle worker by force at once, without a graceful wait", async () => {
    const calls: (boolean | undefined)[] = [];
    const worker = {
      close: (force?: boolean) => {
        calls.push(force);
        return force ? Promise.resolve() : new Promise<void>(() => undefined);
      },
    };
    expect(await closeWorker(worker, 10_000, { idle: true })).toBe(true);
    expect(calls).toEqual([true]);
  });
});
