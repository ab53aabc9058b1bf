import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import type { ReadingSettings } from "../../src/settings/reading.ts";
import { createGuildSettingsStore } from "../../src/settings/settings.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import {
  ANNOUNCE_REPEAT_GAP_MS,
  announcementFor,
  createJoinAnnouncer,
  type VoiceMove,
} from "../../src/voice/join-announcements.ts";
import type { PlaySpeechInput, SpeechPlayback } from "../../src/voice/play-speech.ts";
import type { VoiceStatus } from "../../src/voice/voice-service.ts";

const G = "100000000000000001";
const TEXT = "100000000000000002";
const VOICE = "100000000000000003";
const OTHER = "100000000000000004";
const BOT = "100000000000000099";
const BOB = "200000000000000002";

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

describe("announcementFor", () => {
  it.each<[string | null, string | null, "joined" | "left" | undefined]>([
    [null, VOICE, "joined"],
    [OTHER, VOICE, "joined"],
    [VOICE, null, "left"],
    [VOICE, OTHER, "left"],
    [VOICE, VOICE, undefined],
    [null, OTHER, undefined],
    [OTHER, null, undefined],
  ])("%s → %s: %s", (oldChannelId, newChannelId, want) => {
    expect(announcementFor({ oldChannelId, newChannelId }, VOICE)).toBe(want);
  });
});

async function setup(opts: {
  on?: boolean;
  reading?: Partial<ReadingSettings>;
  optedOut?: boolean;
  bound?: boolean;
}) {
  const settings = createGuildSettingsStore(memoryKv() as never, { cacheTtlMs: 0 });
  await settings.update(G, { voice: { joinAnnouncements: opts.on ?? true }, reading: opts.reading ?? {} });
  const users = createUserSettingsStore(memoryKv() as never);
  if (opts.optedOut) await users.setOptedOut(BOB, true);
  const status = { voiceChannelId: VOICE, textChannelId: TEXT } as VoiceStatus;
  const played: PlaySpeechInput[] = [];
  const playback: SpeechPlayback = {
    play: async (input) => {
      played.push(input);
      return { position: 0, joined: false, chars: input.options.text.length };
    },
  };
  let t = 0;
  const announcer = createJoinAnnouncer({
    voice: { status: () => (opts.bound === false ? undefined : status) },
    playback,
    guildSettings: settings,
    users,
    botUserId: () => BOT,
    logger: createLogger({ level: "silent" }),
    now: () => t,
  });
  const advance = (ms: number) => {
    t += ms;
  };
  return { announcer, played, advance };
}

function move(over: Partial<VoiceMove> = {}): VoiceMove {
  return {
    guildId: G,
    userId: BOB,
    oldChannelId: null,
    newChannelId: VOICE,
    isBot: false,
    speaker: { nickname: "Bobby", displayName: "Bob", username: "bob_u" },
    roleIds: [],
    audienceBefore: false,
    audienceAfter: false,
    ...over,
  };
}

describe("join announcer", () => {
  it("says who joined and who left, as the server's clip (the bot's id, not the member's)", async () => {
    const { announcer, played } = await setup({});
    expect(await announcer.handle(move())).toBe(true);
    expect(await announcer.handle(move({ oldChannelId: VOICE, newChannelId: null }))).toBe(true);
    expect(played.map((p) => p.options.text)).toEqual(["Bobby joined", "Bobby left"]);
    expect(played[0]).toMatchObject({
      kind: "auto-read",
      actor: { userId: BOT, guildId: G },
      voiceChannelId: VOICE,
      textChannelId: TEXT,
    });
  });

  it.each<[string, Partial<ReadingSettings>, string]>([
    ["display names", { nameStyle: "display_name" }, "Bob joined"],
    ["usernames", { nameStyle: "username" }, "bob_u joined"],
    ["no names", { nameStyle: "none" }, "Someone joined"],
  ])("follows the name style: %s", async (_name, reading, want) => {
    const { announcer, played } = await setup({ reading });
    await announcer.handle(move());
    expect(played.map((p) => p.options.text)).toEqual([want]);
  });

  it("says the same thing about a member again only after the repeat gap (a flapping connection)", async () => {
    const { announcer, played, advance } = await setup({});
    const leave = move({ oldChannelId: VOICE, newChannelId: null });
    expect(await announcer.handle(move())).toBe(true);
    advance(1000);
    expect(await announcer.handle(leave)).toBe(true);
    advance(1000);
    expect(await announcer.handle(move())).toBe(false);
    expect(await announcer.handle(leave)).toBe(false);
    // Another member is not held back.
    expect(await announcer.handle(move({ userId: "200000000000000003" }))).toBe(true);
    advance(ANNOUNCE_REPEAT_GAP_MS);
    expect(await announcer.handle(move())).toBe(true);
    expect(played.map((p) => p.options.text)).toEqual([
      "Bobby joined",
      "Bobby left",
      "Bobby joined",
      "Bobby joined",
    ]);
  });

  it.each<[string, Parameters<typeof setup>[0], Partial<VoiceMove>]>([
    ["announcements are off (the default)", { on: false }, {}],
    ["the bot is not in voice", { bound: false }, {}],
    ["a move between other channels", {}, { oldChannelId: OTHER, newChannelId: null }],
    ["a mute or deafen (same channel)", {}, { oldChannelId: VOICE, newChannelId: VOICE }],
    ["a bot", {}, { isBot: true }],
    ["the bot itself", {}, { userId: BOT }],
    ["a member who opted out", { optedOut: true }, {}],
    [
      "a member with the ignored role",
      { reading: { ignoredRoleId: "400000000000000001" } },
      { roleIds: ["400000000000000001"] },
    ],
    ["the stage audience joining", {}, { audienceAfter: true }],
    ["the stage audience leaving", {}, { oldChannelId: VOICE, newChannelId: null, audienceBefore: true }],
  ])("is silent when %s", async (_name, s, over) => {
    const { announcer, played } = await setup(s);
    expect(await announcer.handle(move(over))).toBe(false);
    expect(played).toHaveLength(0);
  });

  it("announces the stage audience when the server reads it", async () => {
    const { announcer, played } = await setup({ reading: { ignoreAudience: false } });
    expect(await announcer.handle(move({ audienceAfter: true }))).toBe(true);
    expect(played).toHaveLength(1);
  });

  it("a speaker leaving a stage is judged by the state before the move", async () => {
    const { announcer, played } = await setup({});
    expect(
      await announcer.handle(
        move({ oldChannelId: VOICE, newChannelId: null, audienceBefore: false, audienceAfter: true }),
      ),
    ).toBe(true);
    expect(played.map((p) => p.options.text)).toEqual(["Bobby left"]);
  });
});
