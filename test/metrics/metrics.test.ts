import { afterEach, describe, expect, it } from "vitest";
import { createMetrics } from "../../src/metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "../../src/metrics/server.ts";
import { RetryableError } from "../../src/tts/errors.ts";
import { instrumentProvider } from "../../src/tts/instrumented-provider.ts";
import type { SpeechRequest, TtsProvider } from "../../src/tts/types.ts";

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
