import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createStorage, StorageError } from "../../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "./redis-server.ts";
import { describeStorageContract } from "./store-contract.ts";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

describeStorageContract("redis", () => createStorage(server.url));

describe("createStorage (redis)", () => {
  it("uses one connection for every namespace", async () => {
    const s = await createStorage(server.url);
    try {
      expect(s.kind).toBe("redis");
      expect(s.sqlite).toBeUndefined();
      await s.keyv<number>("contract-a").set("x", 1);
      await s.keyv<number>("contract-b").set("x", 2);
      await s.keyv<number>("contract-c").set("x", 3);
      // Three namespaces in use: one connection for them, one for the probe asking.
      expect(await countClients(server.url)).toBe(2);
      await s.keyv("contract-a").clear();
      await s.keyv("contract-b").clear();
      await s.keyv("contract-c").clear();
    } finally {
      await s.close();
    }
  });

  it("fails at start with a message naming STORAGE_URL when Redis is not there", async () => {
    const down = await startRedisServer();
    const url = down.url;
    await down.stop();
    const started = Date.now();
    const err = await createStorage(url, { connectTimeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(String(err)).toContain(`STORAGE_URL=${url}`);
    expect(String(err)).toMatch(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("hides the password of the URL in that message", async () => {
    const err = await createStorage("redis://bot:s3cret-pass@127.0.0.1:1", { connectTimeoutMs: 100 }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toContain("redis://bot:***@127.0.0.1:1");
    expect(String(err)).not.toContain("s3cret-pass");
  });

  it("rejects calls, instead of hanging, while the server is away, and recovers when it is back", async () => {
    const first = await startRedisServer();
    const logged: string[] = [];
    const logger = {
      info: (_: object, msg?: string) => logged.push(`info ${msg}`),
      warn: (_: object, msg?: string) => logged.push(`warn ${msg}`),
    };
    const s = await createStorage(first.url, { commandTimeoutMs: 300, logger });
    try {
      const kv = s.keyv<string>("gone");
      await kv.set("a", "1");
      await first.stop();
      const t = Date.now();
      await expect(kv.get("a")).rejects.toThrow();
      expect(Date.now() - t).toBeLessThan(2_000);

      // Same port, empty data (no persistence): the shared client reconnects by itself.
      const second = await startRedisServer({ port: first.port });
      try {
        await vi.waitFor(async () => expect(await kv.set("b", "2")).toBe(true), { timeout: 5_000 });
        expect(await kv.get("b")).toBe("2");
        expect(logged).toEqual([
          "info connected to Redis",
          "warn lost the Redis connection; reconnecting",
          "info reconnected to Redis",
        ]);
      } finally {
        await second.stop();
      }
    } finally {
      await s.close();
    }
  });
});

async function countClients(url: string): Promise<number> {
  const { createClient } = await import("@keyv/redis");
  const probe = createClient({ url });
  await probe.connect();
  try {
    const info = await probe.info("clients");
    const match = /connected_clients:(\d+)/.exec(info);
    return Number(match?.[1]);
  } finally {
    await probe.close();
  }
}
