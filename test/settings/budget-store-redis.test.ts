import { createClient, type RedisClientType } from "@keyv/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createRedisBudgetStore } from "../../src/settings/budget-store-redis.ts";
import { DAY_TTL_MS, MONTH_TTL_MS } from "../../src/settings/periods.ts";
import { createStorage } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";
import { describeBudgetStoreContract } from "./budget-store-contract.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

async function connect(): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url: server.url });
  await client.connect();
  return client;
}

let prefixes = 0;

// A key prefix per test keeps tests apart on the one server; each open() is another connection.
describeBudgetStoreContract("redis", async () => {
  const prefix = `test-${++prefixes}:`;
  const clients: RedisClientType[] = [];
  return {
    async open() {
      const client = await connect();
      clients.push(client);
      return createRedisBudgetStore(client, { prefix });
    },
    async close() {
      for (const client of clients) await client.close();
    },
  };
});

const G = "111111111111111111";
const A = "222222222222222222";
const T = Date.parse("2026-12-06T12:00:00Z");

describe("redis budget store", () => {
  it("keeps a hash per guild and period, expiring after 40 and 400 days, and a hold hash and index", async () => {
    const client = await connect();
    try {
      const prefix = "layout:";
      const store = createRedisBudgetStore(client, { prefix });
      await store.reserve({ holdId: "h1", guildId: G, userId: A, chars: 12, limits: {}, at: T });
      const day = `${prefix}{${G}}:d:2026-12-06`;
      const month = `${prefix}{${G}}:m:2026-12`;
      expect(await client.hGetAll(day)).toEqual({ [A]: "12", _t: "12" });
      expect(await client.hGetAll(month)).toEqual({ [A]: "12", _t: "12" });
      expect(await client.ttl(day)).toBeGreaterThan(DAY_TTL_MS / 1000 - 60);
      expect(await client.ttl(day)).toBeLessThanOrEqual(DAY_TTL_MS / 1000);
      expect(await client.ttl(month)).toBeGreaterThan(MONTH_TTL_MS / 1000 - 60);
      expect(await client.hGetAll(`${prefix}hold:h1`)).toMatchObject({ guildId: G, userId: A, chars: "12" });
      expect(await client.zScore(`${prefix}holds`, "h1")).toBe(T);

      // A settle after the day's hash expired leaves it gone rather than counting below zero.
      await client.del(day);
      expect(await store.settle("h1", 5)).toBe(true);
      expect(await client.exists(day)).toBe(0);
      expect(await client.hGetAll(month)).toEqual({ [A]: "5", _t: "5" });
      expect(await client.exists(`${prefix}hold:h1`)).toBe(0);
      expect(await client.zCard(`${prefix}holds`)).toBe(0);
      await client.del(month);
    } finally {
      await client.close();
    }
  });

  it("budgetStoreFor runs the store on the storage's Redis client", async () => {
    const storage = await createStorage(server.url);
    try {
      expect(storage.redis).toBeDefined();
      const store = budgetStoreFor(storage, { prefix: "for:" });
      const r = await store.reserve({ holdId: "h", guildId: G, userId: A, chars: 3, limits: {}, at: T });
      expect(r.ok).toBe(true);
      expect(await storage.redis?.hGet(`for:{${G}}:d:2026-12-06`, "_t")).toBe("3");
      expect(await store.release("h")).toBe(true);
      await storage.redis?.del([`for:{${G}}:d:2026-12-06`, `for:{${G}}:m:2026-12`]);
    } finally {
      await storage.close();
    }
  });
});
