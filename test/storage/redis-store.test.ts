import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createStorageProbe } from "../../src/metrics/health.ts";
import { createStorage, isStorageFailure, StorageError } from "../../src/storage/storage.ts";
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

  it("serves many namespaces on its one client without a MaxListenersExceededWarning", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const s = await createStorage(server.url);
    try {
      // More than the bot uses, each adapter adding its listeners to the shared client.
      for (let i = 0; i < 30; i++) await s.keyv<number>(`listeners-${i}`).set("x", i);
      // The same namespace again is the same adapter: no more listeners, no higher limit.
      const limit = s.redis!.getMaxListeners();
      const errorListeners = s.redis!.listenerCount("error");
      expect(await s.keyv<number>("listeners-0").get("x")).toBe(0);
      expect(s.redis!.listenerCount("error")).toBe(errorListeners);
      expect(s.redis!.getMaxListeners()).toBe(limit);
      // Still a finite limit, so that a listener added per call would be reported.
      expect(limit).toBeGreaterThan(0);
      expect(limit).toBeLessThan(100);
      // Node reports a warning on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
      for (let i = 0; i < 30; i++) await s.keyv(`listeners-${i}`).clear();
    } finally {
      process.off("warning", onWarning);
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

describe("a Redis outage mid-run", () => {
  it("fails a read within ~2 s by default, as a StorageError the dispatcher recognises", async () => {
    const redis = await startRedisServer();
    const s = await createStorage(redis.url);
    try {
      const kv = s.keyv<string>("outage");
      await kv.set("a", "1");
      await redis.stop();
      const t = Date.now();
      const err = await kv.get("a").catch((e: unknown) => e);
      expect(Date.now() - t).toBeLessThan(2_000);
      expect(err).toBeInstanceOf(StorageError);
      expect(String(err)).toMatch(/Redis GET failed/);
      expect(isStorageFailure(err)).toBe(true);
      const write = await kv.set("b", "2").catch((e: unknown) => e);
      expect(write).toBeInstanceOf(StorageError);
    } finally {
      await s.close();
      await redis.stop();
    }
  });

  it("reads as storage down in the health probe while Redis is stopped, and ok once it is back", async () => {
    const first = await startRedisServer();
    const s = await createStorage(first.url);
    try {
      const probe = createStorageProbe(s.keyv("meta"), { cacheMs: 0 });
      expect(await probe()).toBe("ok");
      await first.stop();
      const t = Date.now();
      expect(await probe()).toBe("down");
      expect(Date.now() - t).toBeLessThan(1_500);
      const second = await startRedisServer({ port: first.port });
      try {
        await vi.waitFor(async () => expect(await probe()).toBe("ok"), { timeout: 10_000, interval: 200 });
      } finally {
        await second.stop();
      }
    } finally {
      await s.close();
    }
  });
});

describe("isStorageFailure", () => {
  it("knows storage errors, node-redis outage errors (through causes) and SQLite errors, and nothing else", () => {
    class TimeoutError extends Error {}
    class ClientClosedError extends Error {}
    expect(isStorageFailure(new StorageError("x"))).toBe(true);
    expect(isStorageFailure(new TimeoutError())).toBe(true);
    expect(isStorageFailure(new Error("wrapped", { cause: new ClientClosedError("closed") }))).toBe(true);
    expect(
      isStorageFailure(Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR" })),
    ).toBe(true);
    expect(isStorageFailure(new Error("boom"))).toBe(false);
    expect(isStorageFailure("StorageError")).toBe(false);
    expect(isStorageFailure(undefined)).toBe(false);
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
