import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SpeechRequest, SynthesisResult } from "../../src/speech/types.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { createPreviewLimiter, PreviewRateLimitedError } from "../../src/voices/preview-limits.ts";
import { createVoicePreviews, type PreviewCacheEntry } from "../../src/voices/voice-preview.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";

/** The preview service with a recording provider and a Map cache; the limiter on a real Redis. */

const actor = { userId: "u1", guildId: "g1", roleIds: [], isManager: false };

function setup(opts: { fail?: boolean; gate?: Promise<void> } = {}) {
  const calls: SpeechRequest[] = [];
  const ledger = { held: 0, settled: [] as number[], released: 0 };
  const map = new Map<string, PreviewCacheEntry>();
  const previews = createVoicePreviews({
    provider: {
      name: "minimax",
      async synthesize(req): Promise<SynthesisResult> {
        calls.push(req);
        await opts.gate;
        if (opts.fail) throw new Error("boom");
        return {
          audio: Buffer.from([0xff, 0xfb, 1]),
          format: "mp3",
          sampleRate: 32000,
          channels: 1,
          durationMs: 1200,
          usageCharacters: 40,
          traceId: undefined,
        };
      },
    },
    cache: { get: async (k) => map.get(k), set: async (k, v) => void map.set(k, v) },
    account: async () => {
      ledger.held++;
      return {
        settle: async (n) => void ledger.settled.push(n ?? -1),
        release: async () => void ledger.released++,
      };
    },
    limiter: { consume: async () => {} },
    logger: { warn: () => {} },
  });
  return { previews, calls, ledger, map };
}

describe("voice previews", () => {
  it("synthesizes once per voice and model (accounted, settled to the billed count), then serves the cache", async () => {
    const { previews, calls, ledger } = setup();
    const first = await previews.play({ actor, voiceId: "Wise_Woman", model: "speech-2.8-hd" });
    expect(first.cached).toBe(false);
    expect(calls[0]).toMatchObject({ voiceId: "Wise_Woman", model: "speech-2.8-hd", format: "mp3" });
    expect(ledger).toMatchObject({ held: 1, settled: [40], released: 0 });
    const again = await previews.play({
      actor: { ...actor, userId: "u2" },
      voiceId: "Wise_Woman",
      model: "speech-2.8-hd",
    });
    expect(again.cached).toBe(true);
    expect(again.audio).toEqual(first.audio);
    expect(calls).toHaveLength(1);
    await previews.play({ actor, voiceId: "Wise_Woman", model: "speech-2.6-hd" });
    expect(calls).toHaveLength(2);
  });

  it("shares one synthesis between presses at the same time", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const { previews, calls, ledger } = setup({ gate });
    const a = previews.play({ actor, voiceId: "Calm_Woman", model: "m" });
    const b = previews.play({ actor, voiceId: "Calm_Woman", model: "m" });
    await new Promise((r) => setTimeout(r, 10));
    open();
    await Promise.all([a, b]);
    expect(calls).toHaveLength(1);
    expect(ledger.held).toBe(1);
  });

  it("gives the characters back when the synthesis fails, and caches nothing", async () => {
    const { previews, ledger, map } = setup({ fail: true });
    await expect(previews.play({ actor, voiceId: "Calm_Woman", model: "m" })).rejects.toThrow("boom");
    expect(ledger).toMatchObject({ held: 1, settled: [], released: 1 });
    expect(map.size).toBe(0);
  });
});

describe("preview limiter on Redis", () => {
  let server: RedisServer;
  let storage: Storage;
  beforeAll(async () => {
    server = await startRedisServer();
    storage = await createStorage(server.url);
  });
  afterAll(async () => {
    await storage?.close();
    await server?.stop();
  });

  it("counts in Redis, so two processes' limiters share one allowance", async () => {
    const rate = { points: 3, durationSeconds: 60 };
    const one = createPreviewLimiter({ storage, member: rate, guild: { points: 100, durationSeconds: 60 } });
    const two = createPreviewLimiter({ storage, member: rate, guild: { points: 100, durationSeconds: 60 } });
    await one.consume("m1", "g1");
    await two.consume("m1", "g1");
    await one.consume("m1", "g1");
    const refused = await two.consume("m1", "g1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PreviewRateLimitedError);
    expect((refused as PreviewRateLimitedError).retryAt).toBeGreaterThan(Date.now());
    const keys = await storage.redis!.keys("preview-member*");
    expect(keys.length).toBe(1);
  });
});

describe("voice previews: what can be previewed", () => {
  it("refuses designed voices and empty ids before any call", async () => {
    const { previews, calls, ledger } = setup();
    await expect(previews.play({ actor, voiceId: "designed-abc-123", model: "m" })).rejects.toThrow(
      "cannot be previewed",
    );
    await expect(previews.play({ actor, voiceId: "", model: "m" })).rejects.toThrow("cannot be previewed");
    expect(calls).toHaveLength(0);
    expect(ledger.held).toBe(0);
  });
});
