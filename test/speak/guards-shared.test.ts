import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSharedUserGuards } from "../../src/speak/guards.ts";
import { isStorageFailure } from "../../src/storage/storage.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";

/** Per-member cooldowns held in Redis: two guard instances stand for two bot processes. */

let redis: RedisServer;
let run = 0;
const connections: Redis[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => redis.stop());
afterEach(() => {
  for (const c of connections.splice(0)) c.disconnect();
});

function guards(prefix: string, burst: number, cooldownMs = 60_000, maxConcurrent = 5) {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  connections.push(conn);
  return createSharedUserGuards({ redis: conn, prefix, cooldownMs, burst, maxConcurrent });
}

describe("shared per-member guards (Redis)", () => {
  it("one cooldown for a member across processes; other members are not affected", async () => {
    const prefix = `cd${++run}`;
    const a = guards(prefix, 2);
    const b = guards(prefix, 2);
    (await a.acquire("alice"))();
    (await b.acquire("alice"))();
    // The burst of two was spent across both processes: the third waits, wherever it lands.
    const refused = await Promise.resolve(a.acquire("alice")).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UserFacingError);
    expect((refused as Error).message).toMatch(
      /^Slow down a little: you can speak again in \d+ s \(<t:\d+:R>\)\.$/,
    );
    await expect(Promise.resolve(b.acquire("alice"))).rejects.toThrow(/Slow down/);
    (await b.acquire("bob"))();
  });

  it("a server's own cooldown is counted apart from the bot's", async () => {
    const prefix = `cd${++run}`;
    const a = guards(prefix, 1);
    (await a.acquire("carol"))();
    await expect(Promise.resolve(a.acquire("carol"))).rejects.toThrow(/Slow down/);
    // No cooldown in this server: allowed.
    (await a.acquire("carol", 0))();
  });

  it("keeps the cap on requests in progress, and frees the slot of a refused request", async () => {
    const g = guards(`cd${++run}`, 5, 1_000, 1);
    const release = await g.acquire("dave");
    await expect(Promise.resolve(g.acquire("dave"))).rejects.toThrow(/already have 1 request in progress/);
    release();
    (await g.acquire("dave"))();
  });

  it("refuses as a storage failure when Redis cannot be reached", async () => {
    const down = new Redis("redis://127.0.0.1:1", {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    down.on("error", () => undefined);
    connections.push(down);
    const g = createSharedUserGuards({ redis: down, cooldownMs: 1_000, burst: 1, maxConcurrent: 1 });
    const err = await Promise.resolve(g.acquire("erin")).catch((e: unknown) => e);
    expect(isStorageFailure(err)).toBe(true);
    // The in-progress slot was given back.
    await expect(Promise.resolve(g.acquire("erin"))).rejects.toSatisfy((e) => isStorageFailure(e));
  });
});
