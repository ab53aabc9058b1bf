import { once } from "node:events";
import { Client } from "discord.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type GatewayHealth, watchGateway } from "../../src/discord/gateway-health.ts";
import { createHealthCheck } from "../../src/metrics/health.ts";
import { createMetrics } from "../../src/metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "../../src/metrics/server.ts";
import {
  type ClientAndFake,
  DEFAULT_TEST_INTENTS,
  type FakeDiscord,
  startClientAndFake,
  startFakeDiscord,
} from "../fakes/discord/index.ts";

type Line = { level: string; obj: object; msg?: string };

function memoryLogger() {
  const lines: Line[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function healthz(server: MetricsServer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function setup(): Promise<{
  env: ClientAndFake;
  gateway: GatewayHealth;
  server: MetricsServer;
  logger: ReturnType<typeof memoryLogger>;
}> {
  const env = await startClientAndFake();
  cleanups.push(() => env.close());
  const logger = memoryLogger();
  const gateway = watchGateway(env.client, logger);
  cleanups.push(() => gateway.close());
  const server = await startMetricsServer({
    port: 0,
    registry: createMetrics({ defaultMetrics: false }).registry,
    health: createHealthCheck({ discord: gateway.state, storage: async () => "ok" }),
  });
  cleanups.push(() => server.close());
  return { env, gateway, server, logger };
}

describe("gateway health", () => {
  it("is reconnecting until the first READY, then ready, without logging the first connection", async () => {
    const fake: FakeDiscord = await startFakeDiscord();
    const client = new Client({ intents: DEFAULT_TEST_INTENTS, rest: { api: fake.apiUrl } });
    cleanups.push(async () => {
      await client.destroy();
      await fake.close();
    });
    const logger = memoryLogger();
    const gateway = watchGateway(client, logger);
    expect(gateway.state()).toBe("reconnecting");
    const ready = once(client, "clientReady");
    await client.login(fake.botToken);
    await ready;
    expect(gateway.state()).toBe("ready");
    expect(logger.lines).toEqual([]);
    gateway.close();
    expect(gateway.state()).toBe("gone");
  });

  it("answers 503 while the gateway is away and 200 once the session resumed, logging each change once", async () => {
    const { env, server, logger } = await setup();
    expect(await healthz(server)).toEqual({
      status: 200,
      body: { status: "ok", ok: true, discord: "ready", storage: "ok" },
    });

    // Hold the client in "resuming": the fake swallows RESUME (op 6) until released.
    const release = env.fake.onGatewayOp(6, () => undefined, { replaceDefault: true });
    env.fake.disconnectGateway(4000);
    await vi.waitFor(async () => {
      expect(await healthz(server)).toEqual({
        status: 503,
        body: { status: "unavailable", ok: false, discord: "reconnecting", storage: "ok" },
      });
    });

    release();
    env.fake.disconnectGateway(4000);
    await vi.waitFor(async () => expect((await healthz(server)).status).toBe(200), { timeout: 10_000 });
    expect(env.fake.gatewayOps.filter((o) => o.op === 2)).toHaveLength(1);
    expect(logger.lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      "warn lost the Discord gateway connection; reconnecting",
      "info Discord gateway connection is back",
    ]);
  });

  it("reports gone, and logs an error, when Discord closes the gateway for good", async () => {
    const { env, server, logger } = await setup();
    env.fake.disconnectGateway(4004);
    await vi.waitFor(async () => {
      const { status, body } = await healthz(server);
      expect(status).toBe(503);
      expect(body.discord).toBe("gone");
    });
    expect(logger.lines).toMatchObject([
      { level: "error", obj: { code: 4004 }, msg: expect.stringContaining("gone") },
    ]);
  });
});
