import { describe, expect, it } from "vitest";
import { RateLimiter, WouldMissDeadlineError } from "../../../src/providers/http/rate-limiter.ts";

/** A hand-driven clock: sleeps resolve only when `advance` passes their deadline. */
class FakeClock {
  t = 0;
  #timers: { at: number; resolve: () => void }[] = [];
  now = (): number => this.t;
  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.#timers.push({ at: this.t + ms, resolve });
    });

  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (!next || next.at > end) break;
      this.#timers.shift();
      this.t = next.at;
      next.resolve();
    }
    this.t = end;
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function limiter(limit: number, intervalMs: number, clock: FakeClock): RateLimiter {
  return new RateLimiter({ limit, intervalMs, now: clock.now, sleep: clock.sleep });
}

/** Acquires and records when (on the fake clock) and in which order each grant happened. */
function track(l: RateLimiter, clock: FakeClock, ids: number[], signal?: AbortSignal) {
  const grants: { id: number; at: number }[] = [];
  const results = ids.map((id) =>
    l.acquire(signal).then(
      () => {
        grants.push({ id, at: clock.t });
      },
      (err: unknown) => err,
    ),
  );
  return { grants, results };
}

describe("RateLimiter", () => {
  it("grants `limit` starts at once, then the next when the oldest leaves the window", async () => {
    const clock = new FakeClock();
    const l = limiter(3, 1000, clock);
    const { grants } = track(l, clock, [1, 2, 3, 4, 5]);
    await clock.advance(0);
    expect(grants.map((g) => g.at)).toEqual([0, 0, 0]);
    await clock.advance(999);
    expect(grants).toHaveLength(3);
    await clock.advance(1);
    expect(grants.map((g) => [g.id, g.at])).toEqual([
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 1000],
      [5, 1000],
    ]);
  });

  it("never lets more than `limit` starts into any window, and serves waiters in order", async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const clock = new FakeClock();
      const limit = 1 + Math.floor(random() * 5);
      const interval = 100 + Math.floor(random() * 900);
      const l = limiter(limit, interval, clock);
      const grants: { id: number; at: number }[] = [];
      let id = 0;
      for (let step = 0; step < 40; step++) {
        const burst = Math.floor(random() * 4);
        for (let k = 0; k < burst; k++) {
          const mine = id++;
          void l.acquire().then(() => grants.push({ id: mine, at: clock.t }));
        }
        await clock.advance(Math.floor(random() * interval));
      }
      await clock.advance(interval * (id + 1));
      expect(grants).toHaveLength(id);
      expect(grants.map((g) => g.id)).toEqual([...Array(id).keys()]);
      for (let i = 0; i + limit < grants.length; i++) {
        expect(grants[i + limit]!.at - grants[i]!.at).toBeGreaterThanOrEqual(interval);
      }
    }
  });

  it("drops an aborted waiter without spending a slot, keeping the others in order", async () => {
    const clock = new FakeClock();
    const l = limiter(1, 1000, clock);
    const controller = new AbortController();
    const first = track(l, clock, [1]);
    const aborted = track(l, clock, [2], controller.signal);
    const third = track(l, clock, [3]);
    await clock.advance(0);
    expect(first.grants).toHaveLength(1);
    expect(l.pending).toBe(2);

    controller.abort(new Error("user gave up"));
    expect(await aborted.results[0]).toEqual(new Error("user gave up"));
    expect(l.pending).toBe(1);

    await clock.advance(1000);
    expect(third.grants).toEqual([{ id: 3, at: 1000 }]);
    expect(aborted.grants).toEqual([]);
  });

  it("rejects at once when the signal is already aborted", async () => {
    const clock = new FakeClock();
    const l = limiter(5, 1000, clock);
    const reason = new Error("already");
    await expect(l.acquire(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(l.pending).toBe(0);
  });

  it("refuses nonsense limits", () => {
    expect(() => new RateLimiter({ limit: 0, intervalMs: 1000 })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1.5, intervalMs: 1000 })).toThrow(RangeError);
    expect(() => new RateLimiter({ limit: 1, intervalMs: 0 })).toThrow(RangeError);
  });

  it("works on the real clock", async () => {
    const l = new RateLimiter({ limit: 2, intervalMs: 60 });
    const started = performance.now();
    await Promise.all([l.acquire(), l.acquire(), l.acquire()]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });
});

describe("RateLimiter deadlines", () => {
  const missed = (err: unknown): WouldMissDeadlineError => {
    expect(err).toBeInstanceOf(WouldMissDeadlineError);
    return err as WouldMissDeadlineError;
  };

  it("predicts a start from the window's grants and the queue ahead", async () => {
    const clock = new FakeClock();
    const l = limiter(2, 1000, clock);
    expect(l.predictStart()).toBe(0);
    void l.acquire();
    void l.acquire();
    await clock.advance(0);
    expect(l.predictStart()).toBe(1000);
    void l.acquire();
    void l.acquire();
    void l.acquire();
    // Two more at 1000, then the fifth one waits for the third's window: 2000.
    expect(l.predictStart()).toBe(2000);
    await clock.advance(300);
    expect(l.predictStart()).toBe(2000);
  });

  it("refuses at once what could not start before its deadline, with when it could", async () => {
    const clock = new FakeClock();
    const l = limiter(2, 1000, clock);
    const { grants } = track(l, clock, [1, 2, 3]);
    await clock.advance(100);
    // Queue: #3 waits for 1000. A newcomer would start at 1000 too; then at 2000.
    const err = missed(await l.acquire(undefined, { deadline: 999 }).catch((e: unknown) => e));
    expect(err.retryAfterMs).toBe(900);
    expect(l.pending).toBe(1);
    let onTime: number | undefined;
    void l.acquire(undefined, { deadline: 1000 }).then(() => {
      onTime = clock.t;
    });
    expect(l.pending).toBe(2);
    await clock.advance(900);
    expect(grants.map((g) => [g.id, g.at])).toEqual([
      [1, 0],
      [2, 0],
      [3, 1000],
    ]);
    expect(onTime).toBe(1000);
  });

  it("grants what can start in time, and a refusal uses no slot", async () => {
    const clock = new FakeClock();
    const l = limiter(1, 1000, clock);
    const order: string[] = [];
    const take = (name: string, deadline?: number) =>
      l.acquire(undefined, { deadline }).then(
        () => order.push(`${name}@${clock.t}`),
        (err: unknown) => order.push(`${name}:${(err as Error).name}`),
      );
    void take("a");
    await clock.advance(0);
    void take("late", 500); // predicted 1000 > 500: refused at once
    void take("b", 1000); // predicted 1000: fine
    void take("c", 1999); // behind b: 2000 > 1999: refused
    void take("d"); // no deadline: 2000
    await clock.advance(0);
    expect(order).toEqual(["a@0", "late:WouldMissDeadlineError", "c:WouldMissDeadlineError"]);
    await clock.advance(2000);
    expect(order.slice(3)).toEqual(["b@1000", "d@2000"]);
  });

  it("rejects a waiter whose deadline passes while it waits (a late timer), without using its slot", async () => {
    // A clock that lags: the limiter's sleep ends, but later than asked (a busy event loop).
    let t = 0;
    const wakeups: (() => void)[] = [];
    const l = new RateLimiter({
      limit: 1,
      intervalMs: 1000,
      now: () => t,
      sleep: () => new Promise<void>((resolve) => wakeups.push(resolve)),
    });
    await l.acquire();
    const b = l.acquire(undefined, { deadline: 1000 }).catch((e: unknown) => e);
    const c = l.acquire();
    await settle();
    t = 1500;
    wakeups.shift()!();
    const err = missed(await b);
    expect(err.retryAfterMs).toBe(0);
    await c;
    expect(l.pending).toBe(0);
  });

  it("still honours an abort while waiting with a deadline", async () => {
    const clock = new FakeClock();
    const l = limiter(1, 1000, clock);
    await l.acquire();
    const controller = new AbortController();
    const waiting = l.acquire(controller.signal, { deadline: 5000 }).catch((e: unknown) => e);
    controller.abort(new Error("left"));
    expect(((await waiting) as Error).message).toBe("left");
    expect(l.pending).toBe(0);
  });

  it("refuses on the real clock when the event loop was blocked past the deadline", async () => {
    const l = new RateLimiter({ limit: 1, intervalMs: 100 });
    await l.acquire();
    const late = l.acquire(undefined, { deadline: performance.now() + 150 }).catch((e: unknown) => e);
    const busyUntil = performance.now() + 250;
    while (performance.now() < busyUntil) {
      // Blocks the loop: the limiter's timer fires after the deadline.
    }
    missed(await late);
  });
});
