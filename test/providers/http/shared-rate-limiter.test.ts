import { setTimeout as sleep } from "node:timers/promises";
import { Redis, type RedisOptions } from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WouldMissDeadlineError } from "../../../src/providers/http/rate-limiter.ts";
import {
  LimiterUnavailableError,
  SharedRateLimiter,
  sharedProviderLimiters,
} from "../../../src/providers/http/shared-rate-limiter.ts";
import { MiniMaxClient } from "../../../src/providers/minimax/client.ts";
import { ProviderBusyError } from "../../../src/speech/errors.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../../fakes/index.ts";
import { type RedisServer, startRedisServer } from "../../storage/redis-server.ts";

/**
 * The fleet-wide limiter: two instances on two Redis connections stand for two bot processes, and
 * must share one budget (a sliding window, as MiniMax counts).
 */

let redis: RedisServer;
let run = 0;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(() => {
  for (const c of connections.splice(0)) c.disconnect();
});

function connect(url = redis.url, extra: RedisOptions = {}): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, ...extra });
  connections.push(c);
  return c;
}

/** Two "processes" on one budget. */
function pair(limit: number, intervalMs: number): [SharedRateLimiter, SharedRateLimiter] {
  const key = `test:${++run}`;
  return [
    new SharedRateLimiter({ redis: connect(), key, limit, intervalMs }),
    new SharedRateLimiter({ redis: connect(), key, limit, intervalMs }),
  ];
}

/** The most of `times` within any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const at = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < at.length; i++) {
    while (at[i]! - at[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe("SharedRateLimiter (Redis)", () => {
  it("two processes share one sliding window: never more than the limit in any window", async () => {
    const [a, b] = pair(4, 1_000);
    const granted: { by: string; at: number }[] = [];
    const take = (l: SharedRateLimiter, by: string) =>
      l.acquire().then(() => granted.push({ by, at: performance.now() }));
    await Promise.all([
      ...Array.from({ length: 5 }, () => take(a, "a")),
      ...Array.from({ length: 5 }, () => take(b, "b")),
    ]);
    expect(granted).toHaveLength(10);
    // Both processes were served, from the one budget of 4 per second.
    expect(granted.some((g) => g.by === "a") && granted.some((g) => g.by === "b")).toBe(true);
    // Grants are seen a little after Redis recorded them: a window a little short of 1 s still holds.
    expect(
      maxInWindow(
        granted.map((g) => g.at),
        950,
      ),
    ).toBeLessThanOrEqual(4);
    // Ten starts at four per second cannot all fit in the first two windows.
    const span = Math.max(...granted.map((g) => g.at)) - Math.min(...granted.map((g) => g.at));
    expect(span).toBeGreaterThanOrEqual(1_900);
  });

  it("refuses at once a start the shared window cannot give before the deadline", async () => {
    const [a, b] = pair(2, 5_000);
    await a.acquire();
    await a.acquire();
    // The other process's budget is the same, so it is full there too.
    const started = performance.now();
    const refused = await b.acquire(undefined, { deadline: performance.now() + 200 }).catch((e) => e);
    expect(refused).toBeInstanceOf(WouldMissDeadlineError);
    expect((refused as WouldMissDeadlineError).retryAfterMs).toBeGreaterThan(200);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("tells a waiter its place in line while the fleet's window is full", async () => {
    const [a, b] = pair(1, 1_000);
    await a.acquire();
    const tickets: { position: number; waitMs: number }[] = [];
    const view = b.reporting((t) => tickets.push({ position: t.position, waitMs: t.waitMs }));
    await view.acquire();
    await view.acquire();
    expect(tickets.length).toBeGreaterThanOrEqual(1);
    expect(tickets[0]!.position).toBe(1);
  });

  it("stays a sliding window when another rate-limiter-flexible limiter shares its connection", async () => {
    const redisConn = connect();
    const limiter = new SharedRateLimiter({
      redis: redisConn,
      key: `mixed:${++run}`,
      limit: 2,
      intervalMs: 1_000,
    });
    // A fixed-window limiter (as the members' cooldowns use) on the same connection, made afterwards.
    const cooldowns = new RateLimiterRedis({
      storeClient: redisConn,
      keyPrefix: "cd",
      points: 1,
      duration: 1,
    });
    await cooldowns.consume("someone");
    await limiter.acquire();
    await sleep(600);
    await limiter.acquire();
    await sleep(450);
    // A fixed window that opened with the first start has just ended and would grant two at once; the
    // sliding window has room for one until the second start is a second old.
    await limiter.acquire(undefined, { deadline: performance.now() + 200 });
    const refused = await limiter.acquire(undefined, { deadline: performance.now() + 200 }).catch((e) => e);
    expect(refused).toBeInstanceOf(WouldMissDeadlineError);
  });

  it("refuses a start, without guessing, when Redis cannot be reached", async () => {
    const down = connect("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    down.on("error", () => undefined);
    const limiter = new SharedRateLimiter({ redis: down, key: "down", limit: 5, intervalMs: 1_000 });
    await expect(limiter.acquire()).rejects.toBeInstanceOf(LimiterUnavailableError);
  });
});

describe("MiniMax clients of two processes on shared limiters", () => {
  let mm: FakeMiniMax;
  beforeAll(async () => {
    mm = await startFakeMiniMax({ rpm: 4, queryQps: 100 });
  });
  afterAll(() => mm.close());

  it("hold the account's RPM together; one over it is refused before anything is sent", async () => {
    const account = { provider: "minimax", apiKey: `key-${++run}` };
    const clients = [connect(), connect()].map(
      (redisConn) =>
        new MiniMaxClient({
          apiKey: "test-key",
          baseUrl: mm.url,
          retry: { retries: 0 },
          limiters: sharedProviderLimiters(redisConn, account, { synthesisRpm: 4, queryQps: 10 }),
        }),
    );
    const req = {
      text: "Hello there.",
      model: "speech-2.5-turbo-preview",
      voiceId: "Wise_Woman",
      format: "mp3",
    } as const;
    await Promise.all([0, 1, 2, 3].map((i) => clients[i % 2]!.synthesize(req)));
    const refused = await clients[1]!
      .synthesize(req, { deadline: performance.now() + 2_000 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ProviderBusyError);
    const synth = mm.requests.filter((r) => r.path === "/v1/t2a_v2");
    // Four went out (two from each process), the fifth never left: the fake refused nothing.
    expect(synth).toHaveLength(4);
    for (const c of clients) await c.close();
  });
});
