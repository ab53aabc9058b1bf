import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseWav, pcmToWav } from "../../src/audio/wav.ts";
import { createLogger } from "../../src/logger.ts";
import { RateLimiter } from "../../src/providers/http/rate-limiter.ts";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { createGuildSettingsStore, type GuildSettingsPatch } from "../../src/settings/settings.ts";
import { BudgetExceededError, createUsageLedger } from "../../src/settings/usage.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import type { AudioCache, CachedAudio } from "../../src/speak/audio-cache.ts";
import { createUserGuards } from "../../src/speak/guards.ts";
import { type Actor, createRequestPlanner, GUILD_ONLY_MESSAGE } from "../../src/speak/planner.ts";
import type { SpeakOptions } from "../../src/speak/speak-options.ts";
import { createSpeakService, type SpeakInput } from "../../src/speak/speak-service.ts";
import { aboutDuration, TURN_TEXT, waitingText } from "../../src/speak/waiting.ts";
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
  /** The provider waits for this limiter before answering (as the real clients do). */
  limiter?: RateLimiter;
  /** And then takes this long to answer. */
  synthMs?: number;
}

async function setup(opts: Setup = {}) {
  const requests: SpeechRequest[] = [];
  const calls: (CallOptions | undefined)[] = [];
  const state = { fail: undefined as Error | undefined, tone: opts.tone };
  const provider: TtsProvider = {
    name: "minimax",
    capabilities: { stream: false, async: false, voices: false, maxSyncChars: 9999 },
    async synthesize(req, callOpts) {
      calls.push(callOpts);
      if (opts.limiter) {
        const onQueued = callOpts?.onQueued;
        await (onQueued ? opts.limiter.reporting(onQueued) : opts.limiter).acquire(callOpts?.signal);
      }
      if (opts.synthMs) await new Promise((r) => setTimeout(r, opts.synthMs));
      requests.push(req);
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

describe("speak service: waiting in line", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const OTHER = "200000000000000002";
  /** One synthesis a minute, on the (faked) clock. */
  const oneAMinute = () =>
    new RateLimiter({
      limit: 1,
      intervalMs: 60_000,
      now: () => Date.now(),
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    });
  const recorder = () => {
    const notices: { at: number; text: string }[] = [];
    const notifyWaiting = async (text: string) => {
      notices.push({ at: Date.now(), text });
    };
    return { notices, notifyWaiting };
  };

  it("tells a member their place and an estimate within 2 s, refreshed no more than every 5 s", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { service, requests } = await setup({ limiter: oneAMinute(), synthMs: 8000 });
    const first = recorder();
    const t0 = Date.now();
    const firstDone = service.speak(
      input("The first takes the slot", { notifyWaiting: first.notifyWaiting }),
    );
    await vi.advanceTimersByTimeAsync(8000);
    await firstDone;
    // It started at once: nothing to tell.
    expect(first.notices).toEqual([]);

    const second = recorder();
    let answeredAt: number | undefined;
    const secondDone = service
      .speak(
        input("The second waits", { actor: actor({ userId: OTHER }), notifyWaiting: second.notifyWaiting }),
      )
      .then((r) => {
        answeredAt = Date.now();
        return r;
      });
    await vi.advanceTimersByTimeAsync(999);
    expect(second.notices).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    // Queued at t0 + 8 s, its slot comes at t0 + 60 s.
    expect(second.notices).toEqual([{ at: t0 + 9000, text: "⏳ You are #1 in line; about 55 s." }]);
    await vi.advanceTimersByTimeAsync(70_000);
    const result = await secondDone;
    expect(result).toMatchObject({ kind: "audio", cached: false });
    expect(requests.map((r) => r.text)).toEqual(["The first takes the slot", "The second waits"]);

    const texts = second.notices.map((n) => n.text);
    expect(texts.slice(0, 3)).toEqual([
      "⏳ You are #1 in line; about 55 s.",
      "⏳ You are #1 in line; about 50 s.",
      "⏳ You are #1 in line; about 45 s.",
    ]);
    // Its turn came while the audio was still being made: said once.
    expect(texts.at(-1)).toBe(TURN_TEXT);
    expect(texts.filter((t) => t === TURN_TEXT)).toHaveLength(1);
    for (let i = 1; i < second.notices.length; i++) {
      expect(second.notices[i]!.at - second.notices[i - 1]!.at).toBeGreaterThanOrEqual(5000);
    }
    // The answer comes after the last notice, so it replaces it.
    expect(answeredAt).toBeGreaterThanOrEqual(second.notices.at(-1)!.at);
  });

  it("keeps the line first come, first served, and a member's cap bounds their places in it", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    // The first request's audio takes 5 s, so it is still in progress when the third comes.
    const { service, requests } = await setup({ limiter: oneAMinute(), maxConcurrent: 2, synthMs: 5000 });
    const a = recorder();
    const b = recorder();
    const asA = (text: string) => service.speak(input(text, { notifyWaiting: a.notifyWaiting }));
    const a1 = asA("A one");
    const a2 = asA("A two");
    await vi.advanceTimersByTimeAsync(0);
    // A third request from the same member is refused at once: at most two places in line.
    await expect(asA("A three")).rejects.toThrow(/You already have 2 requests in progress/);
    const b1 = service.speak(
      input("B one", { actor: actor({ userId: OTHER }), notifyWaiting: b.notifyWaiting }),
    );
    await vi.advanceTimersByTimeAsync(1000);
    expect(a.notices.map((n) => n.text)).toEqual(["⏳ You are #1 in line; about 1 min."]);
    expect(b.notices.map((n) => n.text)).toEqual(["⏳ You are #2 in line; about 2 min."]);
    await vi.advanceTimersByTimeAsync(130_000);
    await Promise.all([a1, a2, b1]);
    expect(b.notices.map((n) => n.text)).toContain(TURN_TEXT);
    expect(requests.map((r) => r.text)).toEqual(["A one", "A two", "B one"]);
  });

  it("still answers when a notice cannot be shown", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const { service } = await setup({ limiter: oneAMinute() });
    await service.speak(input("Takes the slot"));
    let attempts = 0;
    const done = service.speak(
      input("Waits", {
        notifyWaiting: async () => {
          attempts++;
          throw new Error("Unknown Webhook");
        },
      }),
    );
    await vi.advanceTimersByTimeAsync(61_000);
    await expect(done).resolves.toMatchObject({ kind: "audio" });
    expect(attempts).toBeGreaterThan(0);
  });

  it("words the wait as a member reads it", () => {
    expect(aboutDuration(0)).toBe("5 s");
    expect(aboutDuration(4200)).toBe("5 s");
    expect(aboutDuration(36_000)).toBe("40 s");
    expect(aboutDuration(59_500)).toBe("1 min");
    expect(aboutDuration(56_000)).toBe("1 min");
    expect(aboutDuration(61_000)).toBe("1 min");
    expect(aboutDuration(119_000)).toBe("2 min");
    expect(waitingText({ position: 4, waitMs: 38_000 })).toBe("⏳ You are #4 in line; about 40 s.");
  });
});
