import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import type { AudioCache, CachedAudio } from "../../src/tts/audio-cache.ts";
import { createUserGuards } from "../../src/tts/guards.ts";
import { createSpeakService, type SpeakBudget } from "../../src/tts/speak-service.ts";
import type { SpeechRequest, TtsProvider } from "../../src/tts/types.ts";
import { createUserSettingsStore } from "../../src/tts/user-settings.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

function memoryCache(): AudioCache {
  const m = new Map<string, CachedAudio>();
  return {
    get: async (k) => m.get(k),
    set: async (k, v) => void m.set(k, v),
    stats: async () => ({ entries: m.size, bytes: 0, hits: 0, misses: 0 }),
  };
}

function setup(opts: { budget?: SpeakBudget; tone?: string[] } = {}) {
  const requests: SpeechRequest[] = [];
  const provider: TtsProvider = {
    name: "minimax",
    capabilities: { stream: false, async: false, voices: false, maxSyncChars: 9999 },
    async synthesize(req) {
      requests.push(req);
      return {
        audio: Buffer.from(`audio:${req.text}`),
        format: req.format,
        sampleRate: 32000,
        channels: 1,
        durationMs: 1200,
        usageCharacters: 7,
        traceId: "t",
      };
    },
  };
  const kv = new Map<string, unknown>();
  const service = createSpeakService({
    provider,
    cache: memoryCache(),
    guards: createUserGuards({ cooldownMs: 0, burst: 1, maxConcurrent: 5 }),
    users: createUserSettingsStore({
      get: async (k) => kv.get(k),
      set: async (k, v) => kv.set(k, v),
      delete: async (k) => kv.delete(k),
    }),
    guildPronunciation: async () => opts.tone,
    toVoiceMessage: () => ({ ogg: Buffer.from("OggS"), durationSecs: 1, waveform: "AA==" }),
    config: { model: "speech-2.6-hd", voice: "Wise_Woman", syncMaxChars: 100 },
    logger: createLogger({ level: "silent" }),
    budget: opts.budget,
  });
  return { service, requests };
}

const input = (text: string) => ({
  userId: "u1",
  guildId: "g1",
  options: { text },
  attachmentSizeLimit: 10 * 1024 * 1024,
});

describe("speak service", () => {
  it("checks the budget before a provider call, records the billed count, and charges nothing for a cache hit", async () => {
    const calls: string[] = [];
    const budget: SpeakBudget = {
      check: async (g, u, c) => void calls.push(`check ${g} ${u} ${c}`),
      record: async (g, u, c) => void calls.push(`record ${g} ${u} ${c}`),
    };
    const { service, requests } = setup({ budget });
    const first = await service.speak(input("Hello there"));
    const again = await service.speak(input("Hello there"));
    expect(requests).toHaveLength(1);
    expect(calls).toEqual(["check g1 u1 11", "record g1 u1 7"]);
    expect(first.kind === "audio" && first.cached).toBe(false);
    expect(again.kind === "audio" && again.cached).toBe(true);
  });

  it("makes no provider call when the budget refuses", async () => {
    const { service, requests } = setup({
      budget: {
        check: async () => {
          throw new UserFacingError("over budget");
        },
        record: async () => {},
      },
    });
    await expect(service.speak(input("Too much"))).rejects.toThrow("over budget");
    expect(requests).toHaveLength(0);
  });

  it("sends the guild's pronunciation dictionary and keys the cache by it", async () => {
    const { service, requests } = setup({ tone: ["omg/oh my god"] });
    await service.speak(input("omg"));
    expect(requests[0]?.pronunciation).toEqual(["omg/oh my god"]);
  });

  it("hands a text over the sync limit back as long, before any guard or provider call", async () => {
    const { service, requests } = setup();
    expect(await service.speak(input("x".repeat(101)))).toMatchObject({
      kind: "long",
      chars: 101,
      limit: 100,
    });
    expect(requests).toHaveLength(0);
  });
});
