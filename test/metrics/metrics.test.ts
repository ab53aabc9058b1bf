import { afterEach, describe, expect, it } from "vitest";
import { createHealthCheck, createStorageProbe } from "../../src/metrics/health.ts";
import { createMetrics } from "../../src/metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "../../src/metrics/server.ts";
import { RetryableError } from "../../src/speech/errors.ts";
import { instrumentProvider } from "../../src/speech/instrumented-provider.ts";
import type { SpeechRequest, TtsProvider } from "../../src/speech/types.ts";

const req: SpeechRequest = { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3", text: "héllo" };

function fakeProvider(opts: { fail?: boolean } = {}): TtsProvider & { closedStreams: number } {
  const p = {
    name: "minimax" as const,
    capabilities: { stream: true, async: false, voices: false, maxSyncChars: 100 },
    closedStreams: 0,
    async synthesize() {
      if (opts.fail) throw new RetryableError("busy", { provider: "minimax", code: 1002, rateLimited: true });
      return {
        audio: Buffer.from("abc"),
        format: "mp3" as const,
        sampleRate: 32000,
        channels: 1 as const,
        durationMs: 100,
        usageCharacters: 7,
        traceId: "t",
      };
    },
    async *stream() {
      try {
        yield Buffer.from("a");
        yield Buffer.from("b");
        return { durationMs: 1, usageCharacters: undefined, traceId: "t", bytes: 2 };
      } finally {
        p.closedStreams++;
      }
    },
  };
  return p;
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("instrumentProvider", () => {
  it("counts outcomes and billed characters", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    await instrumentProvider(fakeProvider(), metrics).synthesize(req);
    await expect(instrumentProvider(fakeProvider({ fail: true }), metrics).synthesize(req)).rejects.toThrow(
      "busy",
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('tts_requests_total{provider="minimax",mode="sync",outcome="ok"} 1');
    expect(text).toContain('tts_requests_total{provider="minimax",mode="sync",outcome="retryable"} 1');
    expect(text).toContain('tts_characters_total{provider="minimax"} 7');
  });

  it("passes stream chunks through, counts the text when no billing is reported, and closes early-stopped streams", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const inner = fakeProvider();
    const wrapped = instrumentProvider(inner, metrics);
    const chunks: string[] = [];
    for await (const c of wrapped.stream!(req)) chunks.push(c.toString());
    expect(chunks).toEqual(["a", "b"]);
    for await (const _ of wrapped.stream!(req)) break;
    expect(inner.closedStreams).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('tts_characters_total{provider="minimax"} 5');
    expect(text).toContain('outcome="cancelled"} 1');
  });
});

describe("metrics server", () => {
  it("serves /metrics and /healthz, and 404 elsewhere", async () => {
    const metrics = createMetrics();
    let ok = false;
    server = await startMetricsServer({
      port: 0,
      host: "127.0.0.1",
      registry: metrics.registry,
      health: () => ({ ok }),
    });
    const base = `http://127.0.0.1:${server.port}`;
    const m = await fetch(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(await m.text()).toContain("process_cpu_user_seconds_total");
    expect((await fetch(`${base}/healthz`)).status).toBe(503);
    ok = true;
    const h = await fetch(`${base}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: "ok", ok: true });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
  });
});

describe("metrics server address", () => {
  it("listens on 127.0.0.1 unless told otherwise", async () => {
    server = await startMetricsServer({
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
      health: () => ({ ok: true }),
    });
    expect(server.host).toBe("127.0.0.1");
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    // Another loopback address of the same machine does not reach it: only that address is bound.
    await expect(fetch(`http://127.0.0.2:${server.port}/healthz`)).rejects.toThrow();
  });

  it("binds to the host it is given", async () => {
    server = await startMetricsServer({
      port: 0,
      host: "127.0.0.2",
      registry: createMetrics({ defaultMetrics: false }).registry,
      health: () => ({ ok: true }),
    });
    expect(server.host).toBe("127.0.0.2");
    expect((await fetch(`http://127.0.0.2:${server.port}/healthz`)).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });
});

describe("/healthz", () => {
  it("awaits an async check, and answers 503 when the check itself fails", async () => {
    let fail = false;
    server = await startMetricsServer({
      port: 0,
      registry: createMetrics({ defaultMetrics: false }).registry,
      health: async () => {
        if (fail) throw new Error("probe exploded");
        return { ok: true, discord: "ready", storage: "ok" };
      },
    });
    const base = `http://127.0.0.1:${server.port}`;
    const ok = await fetch(`${base}/healthz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: "ok", ok: true, discord: "ready", storage: "ok" });
    fail = true;
    const failed = await fetch(`${base}/healthz`);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ ok: false });
  });

  it("is healthy only when the gateway is ready and the storage answers", async () => {
    let discord: "ready" | "reconnecting" | "gone" = "ready";
    let storage: "ok" | "down" = "ok";
    const check = createHealthCheck({ discord: () => discord, storage: async () => storage });
    expect(await check()).toEqual({ ok: true, discord: "ready", storage: "ok" });
    storage = "down";
    expect(await check()).toEqual({ ok: false, discord: "ready", storage: "down" });
    storage = "ok";
    discord = "reconnecting";
    expect((await check()).ok).toBe(false);
    discord = "gone";
    expect((await check()).ok).toBe(false);
  });
});

describe("storage probe", () => {
  it("reads one key: ok when it answers (a miss too), down when it fails or is slower than the timeout", async () => {
    let behaviour: "hit" | "miss" | "fail" | "hang" = "miss";
    const reads: string[] = [];
    const kv = {
      get: (key: string) => {
        reads.push(key);
        if (behaviour === "fail") return Promise.reject(new Error("connection closed"));
        if (behaviour === "hang") return new Promise<unknown>(() => undefined);
        return Promise.resolve(behaviour === "hit" ? "x" : undefined);
      },
    };
    const probe = createStorageProbe(kv, { timeoutMs: 50, cacheMs: 0 });
    expect(await probe()).toBe("ok");
    behaviour = "hit";
    expect(await probe()).toBe("ok");
    behaviour = "fail";
    expect(await probe()).toBe("down");
    behaviour = "hang";
    const started = Date.now();
    expect(await probe()).toBe("down");
    expect(Date.now() - started).toBeLessThan(1000);
    expect(new Set(reads)).toEqual(new Set(["health:ping"]));
  });

  it("reuses its answer for cacheMs, and shares a read in flight", async () => {
    let clock = 0;
    let reads = 0;
    let healthy = true;
    const kv = {
      get: async () => {
        reads++;
        if (!healthy) throw new Error("down");
        return undefined;
      },
    };
    const probe = createStorageProbe(kv, { cacheMs: 3000, now: () => clock });
    expect(await Promise.all([probe(), probe(), probe()])).toEqual(["ok", "ok", "ok"]);
    expect(reads).toBe(1);
    healthy = false;
    clock = 2999;
    expect(await probe()).toBe("ok");
    expect(reads).toBe(1);
    clock = 3000;
    expect(await probe()).toBe("down");
    expect(reads).toBe(2);
  });
});
