import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  botIdFromToken,
  createRedisIdentifyThrottler,
  type IdentifyRedis,
  identifyBucket,
} from "../../../src/discord/sharding/identify-throttler.ts";
import { type RedisServer, startRedisServer } from "../../storage/redis-server.ts";

/**
 * The fleet's IDENTIFY throttler on a real Redis: "processes" are throttlers on their own connections.
 * The window is shortened for the test (the bot uses Discord's 5 s plus a margin).
 */

const WINDOW = 300;
let server: RedisServer;
const connections: Redis[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await server?.stop();
});

function processThrottler(maxConcurrency: number, botId = "1234567890") {
  const redis = new Redis(server.url);
  connections.push(redis);
  return createRedisIdentifyThrottler({ redis, maxConcurrency, botId, windowMs: WINDOW, jitterMs: 5 });
}

describe("the Redis identify throttler", () => {
  it("lets one shard per bucket identify per window, across processes", async () => {
    const a = processThrottler(2, "111111");
    const b = processThrottler(2, "111111");
    const grants: { shard: number; at: number }[] = [];
    const signal = new AbortController().signal;
    const ask = async (throttler: typeof a, shard: number) => {
      await throttler.waitForIdentify(shard, signal);
      grants.push({ shard, at: performance.now() });
    };
    // Shards 0..5 split over two processes, all asking at once: buckets 0 (0, 2, 4) and 1 (1, 3, 5).
    await Promise.all([ask(a, 0), ask(b, 1), ask(a, 2), ask(b, 3), ask(a, 4), ask(b, 5)]);
    expect(grants.map((g) => g.shard).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const bucket of [0, 1]) {
      const times = grants.filter((g) => identifyBucket(g.shard, 2) === bucket).map((g) => g.at);
      expect(times).toHaveLength(3);
      for (let i = 1; i < times.length; i++) {
        // A grant is measured after its SET answered; a few ms of that latency are allowed for.
        expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(WINDOW - 20);
      }
    }
  });

  it("keeps buckets of different bots apart", async () => {
    const one = processThrottler(1, "222222");
    const other = processThrottler(1, "333333");
    const signal = new AbortController().signal;
    await one.waitForIdentify(0, signal);
    const started = performance.now();
    await other.waitForIdentify(0, signal);
    expect(performance.now() - started).toBeLessThan(WINDOW);
  });

  it("stops waiting when the shard's connection is abandoned", async () => {
    const throttler = processThrottler(1, "444444");
    const free = new AbortController();
    await throttler.waitForIdentify(0, free.signal);
    const abandoned = new AbortController();
    const waiting = throttler.waitForIdentify(0, abandoned.signal);
    abandoned.abort(new Error("shard destroyed"));
    await expect(waiting).rejects.toThrow("shard destroyed");
  });

  it("keeps waiting (never identifies unthrottled) while Redis fails, and says so", async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const flaky: IdentifyRedis = {
      async set() {
        calls += 1;
        if (calls === 1) throw new Error("connection refused");
        return "OK";
      },
      pttl: async () => -2,
    };
    const throttler = createRedisIdentifyThrottler({
      redis: flaky,
      maxConcurrency: 1,
      botId: "555555",
      windowMs: WINDOW,
      onError: (err) => errors.push(err),
    });
    await throttler.waitForIdentify(0, new AbortController().signal);
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });
});

describe("botIdFromToken", () => {
  it.each([
    [`${Buffer.from("1246251869798535168").toString("base64url")}.abc.def`, "1246251869798535168"],
    ["not-a-token", "bot"],
    [undefined, "bot"],
  ])("%s → %s", (token, id) => {
    expect(botIdFromToken(token)).toBe(id);
  });
});
