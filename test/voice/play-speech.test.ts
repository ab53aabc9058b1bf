import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { createGuildSettingsStore, type GuildSettingsPatch } from "../../src/settings/settings.ts";
import { BudgetExceededError, createUsageLedger } from "../../src/settings/usage.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import { createUserGuards } from "../../src/speak/guards.ts";
import { createRequestPlanner } from "../../src/speak/planner.ts";
import { createSpeechPlayback, type PlaySpeechInput } from "../../src/voice/play-speech.ts";
import type { EnqueueInput, VoiceService } from "../../src/voice/voice-service.ts";

const G = "100000000000000001";
const U = "200000000000000001";

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

async function setup(
  opts: {
    guild?: GuildSettingsPatch;
    enqueueFails?: Error;
    /** Clips the voice service reports as waiting (`status().upcoming`); absent: not in voice. */
    waiting?: () => number | undefined;
    /** Hands the guild settings to the playback (the backlog speed-up reads them). */
    withSettings?: boolean;
  } = {},
) {
  const ledger = createUsageLedger(createSqliteBudgetStore(new DatabaseSync(":memory:")));
  const guildSettings = createGuildSettingsStore(memoryKv(), { cacheTtlMs: 0 });
  if (opts.guild) await guildSettings.update(G, opts.guild);
  const planner = createRequestPlanner({
    users: createUserSettingsStore(memoryKv()),
    guildSettings,
    guildPronunciation: async () => undefined,
    ledger,
    guards: createUserGuards({ cooldownMs: 0, burst: 1, maxConcurrent: 1 }),
    openJobs: async () => ({ open: 0, lastCreatedAt: undefined }),
    config: { model: "speech-2.6-hd", voice: "Wise_Woman", syncMaxChars: 100 },
    logger: { warn: () => {} },
  });
  const queued: EnqueueInput[] = [];
  const voice = {
    enqueue: async (input: EnqueueInput) => {
      // The voice service's contract: a clip it refuses gives its reservation back.
      if (opts.enqueueFails) {
        await input.reservation.release();
        throw opts.enqueueFails;
      }
      queued.push(input);
      return { position: queued.length - 1, joined: queued.length === 1 };
    },
    status: (guildId: string) => {
      const waiting = guildId === G ? opts.waiting?.() : undefined;
      if (waiting === undefined) return undefined;
      return { upcoming: Array.from({ length: waiting }, (_, i) => ({ id: `w${i}` })) };
    },
  } as unknown as VoiceService;
  const playback = createSpeechPlayback({
    planner,
    voice,
    ...(opts.withSettings === false ? {} : { guildSettings }),
  });
  const used = async () => (await ledger.summary(G, U, {})).user.day;
  const holds = () => ledger.holds(Number.MAX_SAFE_INTEGER);
  return { playback, queued, used, holds };
}

const play = (text: string, over: Partial<PlaySpeechInput> = {}): PlaySpeechInput => ({
  actor: { userId: U, guildId: G, roleIds: [], isManager: false },
  voiceChannelId: "100000000000000003",
  textChannelId: "100000000000000002",
  options: { text },
  ...over,
});

describe("speech playback", () => {
  it("reserves the clip's characters when it is queued, and hands the reservation to the clip", async () => {
    const { playback, queued, used, holds } = await setup();
    expect(await playback.play(play("Hello there"))).toEqual({ position: 0, joined: true, chars: 11 });
    expect(await used()).toBe(11);
    expect(queued[0]).toMatchObject({
      guildId: G,
      userId: U,
      label: "Hello there",
      chars: 11,
      request: { text: "Hello there", format: "pcm", sampleRate: 24000, channels: 1 },
    });
    expect((await holds()).map((h) => h.id)).toHaveLength(1);
    await queued[0]?.reservation.settle(9);
    expect(await used()).toBe(9);
    // The member's slot is free again (maxConcurrent 1).
    await expect(playback.play(play("Again"))).resolves.toMatchObject({ position: 1 });
  });

  it("a clip the voice service refuses ends with nothing held or billed", async () => {
    const { playback, used, holds } = await setup({ enqueueFails: new Error("queue full") });
    await expect(playback.play(play("Hello there"))).rejects.toThrow("queue full");
    expect(await used()).toBe(0);
    expect(await holds()).toEqual([]);
  });

  it("queues nothing over the budget, and frees the member's slot", async () => {
    const { playback, queued } = await setup({ guild: { limits: { userDailyChars: 5 } } });
    await expect(playback.play(play("Hello there"))).rejects.toBeInstanceOf(BudgetExceededError);
    expect(queued).toEqual([]);
    await expect(playback.play(play("Hi"))).resolves.toMatchObject({ chars: 2 });
  });

  it("queues under the label given, and as auto-read without a cooldown slot", async () => {
    const { playback, queued } = await setup({ guild: { limits: { userCooldownSeconds: 60 } } });
    await playback.play(play("one", { kind: "auto-read", label: "Ana: one" }));
    await playback.play(play("two", { kind: "auto-read" }));
    await playback.play(play("three"));
    await expect(playback.play(play("four"))).rejects.toThrow(/Slow down/);
    expect(queued.map((q) => q.label)).toEqual(["Ana: one", "two", "three"]);
  });
});

describe("backlog speed-up", () => {
  const speedup = (over: NonNullable<GuildSettingsPatch["voice"]> = {}): GuildSettingsPatch => ({
    voice: { backlogSpeedup: true, ...over },
  });

  it("requests a clip faster when the queue is past the threshold, and says at what speed", async () => {
    let waiting = 0;
    const { playback, queued, used } = await setup({ guild: speedup(), waiting: () => waiting });
    const speeds: (number | undefined)[] = [];
    for (const n of [0, 2, 3, 4, 9]) {
      waiting = n;
      const result = await playback.play(play(`Clip ${n}`));
      speeds.push(result.backlogSpeed);
    }
    expect(queued.map((q) => q.request.speed)).toEqual([undefined, undefined, 1.1, 1.2, 1.5]);
    expect(speeds).toEqual([undefined, undefined, 1.1, 1.2, 1.5]);
    // Same characters, same budget: only the speed changed.
    expect(queued[2]).toMatchObject({
      chars: 6,
      label: "Clip 3",
      request: { text: "Clip 3", speed: 1.1, format: "pcm", sampleRate: 24000, channels: 1 },
    });
    expect(await used()).toBe(5 * 6);
  });

  it("multiplies onto the member's own speed, up to the server's cap, and never slows a clip", async () => {
    const { playback, queued } = await setup({
      guild: speedup({ backlogThreshold: 1, backlogMaxSpeed: 1.4 }),
      waiting: () => 1,
    });
    await expect(
      playback.play(play("Mine", { options: { text: "Mine", speed: 1.2 } })),
    ).resolves.toMatchObject({ backlogSpeed: 1.32 });
    const fast = await playback.play(play("Fast", { options: { text: "Fast", speed: 1.8 } }));
    expect(fast.backlogSpeed).toBeUndefined();
    expect(queued.map((q) => q.request.speed)).toEqual([1.32, 1.8]);
  });

  it("starts from the server's default speed when the member chose none", async () => {
    const { playback, queued } = await setup({
      guild: { ...speedup({ backlogThreshold: 2 }), defaults: { speed: 0.8 } },
      waiting: () => 3,
    });
    await playback.play(play("Default"));
    expect(queued[0]?.request.speed).toBe(0.96);
  });

  const unchanged: [string, Parameters<typeof setup>[0]][] = [
    ["the setting is off", { guild: { voice: { backlogThreshold: 1 } }, waiting: () => 20 }],
    ["the bot is not in voice yet", { guild: speedup({ backlogThreshold: 1 }), waiting: () => undefined }],
    ["the playback has no settings", { guild: speedup(), waiting: () => 20, withSettings: false }],
  ];
  it.each(unchanged)("changes nothing when %s", async (_case, opts) => {
    const { playback, queued } = await setup(opts);
    const result = await playback.play(play("Plain", { options: { text: "Plain", speed: 1.1 } }));
    expect(result).toEqual({ position: 0, joined: true, chars: 5 });
    expect("backlogSpeed" in result).toBe(false);
    expect(queued[0]?.request.speed).toBe(1.1);
  });

  it("auto-read clips are sped up too", async () => {
    const { playback, queued } = await setup({ guild: speedup(), waiting: () => 5 });
    await playback.play(play("Ana said: hi", { kind: "auto-read" }));
    expect(queued[0]?.request.speed).toBe(1.3);
  });
});
