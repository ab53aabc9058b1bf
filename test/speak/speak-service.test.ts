import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { parseWav, pcmToWav } from "../../src/audio/wav.ts";
import { createLogger } from "../../src/logger.ts";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { createGuildSettingsStore, type GuildSettingsPatch } from "../../src/settings/settings.ts";
import { BudgetExceededError, createUsageLedger } from "../../src/settings/usage.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import type { AudioCache, CachedAudio } from "../../src/speak/audio-cache.ts";
import { createUserGuards } from "../../src/speak/guards.ts";
import { type Actor, createRequestPlanner, GUILD_ONLY_MESSAGE } from "../../src/speak/planner.ts";
import type { SpeakOptions } from "../../src/speak/speak-options.ts";
import { createSpeakService, type SpeakInput } from "../../src/speak/speak-service.ts";
import { TtsError } from "../../src/speech/errors.ts";
import type { CallOptions, SpeechRequest, TtsProvider } from "../../src/speech/types.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const G = "100000000000000001";
const U = "200000000000000001";
const MB = 1024 * 1024;

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

function memoryCache(): AudioCache {
  const m = new Map<string, CachedAudio>();
  return {
    get: async (k) => m.get(k),
    set: async (k, v) => void m.set(k, v),
    stats: async () => ({ entries: m.size, bytes: 0, hits: 0, misses: 0 }),
  };
}

interface Setup {
  guild?: GuildSettingsPatch;
  tone?: string[];
  /** What the provider says it billed (default 7); `null` for a provider that does not say. */
  usage?: number | null;
  /** Bytes of WAV sample data the provider returns for a wav request. */
  wavBytes?: number;
  maxConcurrent?: number;
}

async function setup(opts: Setup = {}) {
  const requests: SpeechRequest[] = [];
  const calls: (CallOptions | undefined)[] = [];
  const state = { fail: undefined as Error | undefined, tone: opts.tone };
  const provider: TtsProvider = {
    name: "minimax",
    capabilities: { stream: false, async: false, voices: false, maxSyncChars: 9999 },
    async synthesize(req, callOpts) {
      requests.push(req);
      calls.push(callOpts);
      if (state.fail) throw state.fail;
      const audio =
        req.format === "wav"
          ? pcmToWav(Buffer.alloc(opts.wavBytes ?? 1000), {
              sampleRate: 32000,
              channels: 1,
              bitsPerSample: 16,
            })
          : Buffer.from(`audio:${req.text}`);
      return {
        audio,
        format: req.format,
        sampleRate: req.sampleRate ?? 32000,
        channels: 1,
        durationMs: 1200,
        usageCharacters: opts.usage === null ? undefined : (opts.usage ?? 7),
        traceId: "t",
      };
    },
  };
  const ledger = createUsageLedger(createSqliteBudgetStore(new DatabaseSync(":memory:")));
  const guildSettings = createGuildSettingsStore(memoryKv(), { cacheTtlMs: 0 });
  if (opts.guild) await guildSettings.update(G, opts.guild);
  const users = createUserSettingsStore(memoryKv());
  const config = { model: "speech-2.6-hd", voice: "Wise_Woman", syncMaxChars: 100 };
  const planner = createRequestPlanner({
    users,
    guildSettings,
    guildPronunciation: async () => state.tone,
    ledger,
    guards: createUserGuards({ cooldownMs: 0, burst: 1, maxConcurrent: opts.maxConcurrent ?? 5 }),
    openJobs: async () => ({ open: 0, lastCreatedAt: undefined }),
    config,
    logger: { warn: () => {} },
  });
  const voiceMessages: { pcm: Buffer; sampleRate: number; channels: number }[] = [];
  const service = createSpeakService({
    provider,
    cache: memoryCache(),
    planner,
    users,
    toVoiceMessage: (input) => {
      voiceMessages.push(input);
      return { ogg: Buffer.from("OggS-voice"), durationSecs: 1.5, waveform: "AA==" };
    },
    config,
    logger: createLogger({ level: "silent" }),
  });
  const used = async () => (await ledger.summary(G, U, {})).user.day;
  const holds = () => ledger.holds(Number.MAX_SAFE_INTEGER);
  return { service, requests, calls, state, used, holds, users, voiceMessages, guildSettings };
}

const actor = (over: Partial<Actor> = {}): Actor => ({
  userId: U,
  guildId: G,
  roleIds: [],
  isManager: false,
  ...over,
});

const input = (
  text: string,
  over: Omit<Partial<SpeakInput>, "options"> & { options?: Omit<SpeakOptions, "text"> } = {},
): SpeakInput => ({
  actor: actor(),
  attachmentSizeLimit: 10 * MB,
  ...over,
  options: { text, ...over.options },
});

describe("speak service: billing", () => {
  it("reserves before the provider call, bills what it reported, and charges nothing for a cache hit", async () => {
    const { service, requests, used, holds } = await setup();
    const first = await service.speak(input("Hello there"));
    expect(first).toMatchObject({ kind: "audio", cached: false, chars: 11 });
    expect(await used()).toBe(7);
    const again = await service.speak(input("Hello there"));
    expect(again).toMatchObject({ kind: "audio", cached: true, chars: 11 });
    expect(requests).toHaveLength(1);
    expect(await used()).toBe(7);
    expect(await holds()).toEqual([]);
  });

  it("bills the text's characters when the provider does not say", async () => {
    const { service, used } = await setup({ usage: null });
    await service.speak(input("Hello there"));
    expect(await used()).toBe(11);
  });

  it("serves a cache hit even with the budget spent (it reserves nothing)", async () => {
    const { service, requests, guildSettings } = await setup();
    await service.speak(input("Hello there"));
    await guildSettings.update(G, { limits: { userDailyChars: 7 } });
    await expect(service.speak(input("Hello there"))).resolves.toMatchObject({ cached: true });
    await expect(service.speak(input("Something new"))).rejects.toBeInstanceOf(BudgetExceededError);
    expect(requests).toHaveLength(1);
  });

  it("makes no provider call when the budget refuses", async () => {
    const { service, requests, used } = await setup({ guild: { limits: { userDailyChars: 10 } } });
    await expect(service.speak(input("Hello there"))).rejects.toThrow(
      /^That needs 11 characters, but your daily budget has 10 of 10 characters left\. It resets <t:\d+:R>\.$/,
    );
    expect(requests).toHaveLength(0);
    expect(await used()).toBe(0);
  });

  it("releases the reservation when the provider fails, and frees the member's slot", async () => {
    const { service, state, used, holds, requests } = await setup({ maxConcurrent: 1 });
    state.fail = new TtsError("upstream", "boom", { provider: "minimax" });
    await expect(service.speak(input("Hello there"))).rejects.toBe(state.fail);
    expect(requests).toHaveLength(1);
    expect(await used()).toBe(0);
    expect(await holds()).toEqual([]);
    state.fail = undefined;
    await expect(service.speak(input("Hello there"))).resolves.toMatchObject({ cached: false });
    expect(await used()).toBe(7);
  });

  it("refuses a request whose deadline has passed before calling the provider, with nothing billed", async () => {
    const { service, requests, used, holds } = await setup();
    await expect(service.speak(input("Hello there", { deadline: Date.now() - 1 }))).rejects.toThrow(
      "This request waited too long to start. Please try again.",
    );
    expect(requests).toHaveLength(0);
    expect(await used()).toBe(0);
    expect(await holds()).toEqual([]);
  });

  it("bounds the provider call by the deadline", async () => {
    const { service, calls } = await setup();
    await service.speak(input("Hello there", { deadline: Date.now() + 60_000 }));
    expect(calls[0]?.signal).toBeInstanceOf(AbortSignal);
    expect(calls[0]?.deadline).toBeGreaterThan(performance.now());
  });
});

describe("speak service: the planner's decisions", () => {
  it("refuses a DM before anything else", async () => {
    const { service, requests } = await setup();
    await expect(service.speak(input("Hello", { actor: actor({ guildId: null }) }))).rejects.toThrow(
      new UserFacingError(GUILD_ONLY_MESSAGE),
    );
    expect(requests).toHaveLength(0);
  });

  it("applies the server's /speak switch", async () => {
    const { service, requests } = await setup({ guild: { speak: { enabled: false } } });
    await expect(service.speak(input("Hello"))).rejects.toThrow(/turned \/speak off/);
    await expect(service.speak(input("Hello", { actor: actor({ isManager: true }) }))).resolves.toMatchObject(
      {
        kind: "audio",
      },
    );
    expect(requests).toHaveLength(1);
  });

  it("sends the guild's pronunciation dictionary and keys the cache by it", async () => {
    const { service, requests, state } = await setup({ tone: ["omg/oh my god"] });
    await service.speak(input("omg"));
    expect(requests[0]?.pronunciation).toEqual(["omg/oh my god"]);
    state.tone = ["omg/oh my gosh"];
    await expect(service.speak(input("omg"))).resolves.toMatchObject({ cached: false });
    expect(requests[1]?.pronunciation).toEqual(["omg/oh my gosh"]);
  });

  it("hands a text over the sync limit back as long, with no provider call nor reservation", async () => {
    const { service, requests, holds } = await setup({ maxConcurrent: 1 });
    expect(await service.speak(input("x".repeat(101)))).toEqual({ kind: "long", chars: 101, limit: 100 });
    expect(requests).toHaveLength(0);
    expect(await holds()).toEqual([]);
    // The member's slot was given back.
    await expect(service.speak(input("Hello"))).resolves.toMatchObject({ kind: "audio" });
  });

  it("remembers the voice used", async () => {
    const { service, users } = await setup();
    await service.speak(input("Hello", { options: { voice: "Calm_Woman" } }));
    await expect.poll(async () => (await users.get(U)).recentVoices).toEqual(["Calm_Woman"]);
  });
});

describe("speak service: audio shapes", () => {
  it("builds a voice message from PCM and caches the Ogg", async () => {
    const { service, requests, voiceMessages } = await setup();
    const result = await service.speak(input("Hello there", { options: { format: "voice" } }));
    expect(requests[0]).toMatchObject({ format: "pcm", sampleRate: 24000, channels: 1 });
    expect(voiceMessages).toEqual([
      { pcm: Buffer.from("audio:Hello there"), sampleRate: 24000, channels: 1 },
    ]);
    expect(result).toMatchObject({
      kind: "audio",
      files: [],
      durationMs: 1500,
      voiceMessage: {
        ogg: Buffer.from("OggS-voice"),
        durationSecs: 1.5,
        waveform: "AA==",
        file: { name: "voice-message.ogg", contentType: "audio/ogg" },
      },
    });
    const again = await service.speak(input("Hello there", { options: { format: "voice" } }));
    expect(again).toMatchObject({ cached: true, voiceMessage: { durationSecs: 1.5, waveform: "AA==" } });
    expect(requests).toHaveLength(1);
    // A voice message and a file of the same text are different cache entries.
    await expect(service.speak(input("Hello there", { options: { format: "mp3" } }))).resolves.toMatchObject({
      cached: false,
    });
  });

  it("refuses a voice message over the upload limit (the characters were billed)", async () => {
    const { service, used } = await setup();
    await expect(
      service.speak(input("Hello there", { options: { format: "voice" }, attachmentSizeLimit: 4 })),
    ).rejects.toThrow(/voice message would be larger than the upload limit/);
    expect(await used()).toBe(7);
  });

  it("sends one attachment when it fits", async () => {
    const { service } = await setup();
    const result = await service.speak(input("Hello there"));
    if (result.kind !== "audio") throw new Error("expected audio");
    expect(result.files).toEqual([
      { name: "speech.mp3", data: Buffer.from("audio:Hello there"), contentType: "audio/mpeg" },
    ]);
    expect(result.voiceMessage).toBeUndefined();
    expect(result.caption).toBe("🔊 `Wise_Woman` · 1.2 s · 11 characters");
  });

  it("splits audio over the upload limit into numbered parts", async () => {
    const { service } = await setup({ wavBytes: 3000 });
    const result = await service.speak(
      input("Hello there", { options: { format: "wav" }, attachmentSizeLimit: 1200 }),
    );
    if (result.kind !== "audio") throw new Error("expected audio");
    expect(result.files.length).toBeGreaterThan(1);
    const n = result.files.length;
    expect(result.files.map((f) => f.name)).toEqual(
      result.files.map((_, i) => `speech-part${i + 1}of${n}.wav`),
    );
    for (const f of result.files) expect(f.data.length).toBeLessThanOrEqual(1200);
    expect(Buffer.concat(result.files.map((f) => parseWav(f.data).data))).toEqual(Buffer.alloc(3000));
    expect(result.caption).toContain(`${n} parts`);
  });

  it("lowers the mp3 bitrate to fit a small upload limit", async () => {
    const { service, requests } = await setup();
    await service.speak(input("Hello there"));
    await service.speak(input("Hello again", { attachmentSizeLimit: 5000 }));
    expect(requests.map((r) => r.bitrate)).toEqual([128000, 32000]);
  });
});
