import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import type { ReadingSettings } from "../../src/settings/reading.ts";
import { createGuildSettingsStore } from "../../src/settings/settings.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import { type ChatMessage, createAutoReader } from "../../src/voice/auto-read.ts";
import type { PlaySpeechInput, SpeechPlayback } from "../../src/voice/play-speech.ts";
import type { VoiceService, VoiceStatus } from "../../src/voice/voice-service.ts";

const G = "100000000000000001";
const TEXT = "100000000000000002";
const VOICE = "100000000000000003";
const AUTHOR = "200000000000000001";

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

async function setup(opts: { reading?: Partial<ReadingSettings>; bound?: boolean; optedOut?: boolean }) {
  const settings = createGuildSettingsStore(memoryKv() as never, { cacheTtlMs: 0 });
  await settings.update(G, { reading: { autoRead: true, ...opts.reading } });
  const users = createUserSettingsStore(memoryKv() as never);
  if (opts.optedOut) await users.setOptedOut(AUTHOR, true);
  const status: VoiceStatus = {
    voiceChannelId: VOICE,
    textChannelId: TEXT,
    nowPlaying: undefined,
    upcoming: [],
    connected: true,
  };
  const voice = { status: () => (opts.bound === false ? undefined : status) } as unknown as VoiceService;
  const played: PlaySpeechInput[] = [];
  const playback: SpeechPlayback = {
    play: async (input) => {
      played.push(input);
      return { position: 0, joined: false, chars: input.options.text.length };
    },
  };
  let t = 0;
  const reader = createAutoReader({
    voice,
    playback,
    guildSettings: settings,
    users,
    logger: createLogger({ level: "silent" }),
    now: () => t,
  });
  const advance = (ms: number) => {
    t += ms;
  };
  return { reader, played, advance, users };
}

function chat(over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    guildId: G,
    channelId: TEXT,
    authorId: AUTHOR,
    authorIsBot: false,
    webhookId: null,
    system: false,
    content: "hello <@300000000000000001> see https://example.com",
    attachments: [],
    stickers: [],
    authorRoleIds: [],
    authorVoiceChannelId: VOICE,
    authorIsAudience: false,
    speaker: { nickname: "Ana", displayName: "Ana Global", username: "ana_u" },
    names: {
      userName: (id) => (id === "300000000000000001" ? "Bo" : undefined),
      roleName: () => undefined,
      channelName: () => undefined,
    },
    ...over,
  };
}

const texts = (played: PlaySpeechInput[]) => played.map((p) => p.options.text);

describe("auto-reader", () => {
  it("queues cleaned text in the author's name, announcing the speaker once a minute", async () => {
    const { reader, played, advance } = await setup({});
    expect(await reader.handle(chat())).toBe(true);
    advance(10_000);
    expect(await reader.handle(chat({ content: "again" }))).toBe(true);
    advance(61_000);
    expect(await reader.handle(chat({ content: "later" }))).toBe(true);
    expect(texts(played)).toEqual(["Ana said: hello Bo see a link", "again", "Ana said: later"]);
    expect(played[0]).toMatchObject({
      kind: "auto-read",
      actor: { userId: AUTHOR, guildId: G, roleIds: [], isManager: false },
      voiceChannelId: VOICE,
      textChannelId: TEXT,
      label: "Ana: hello Bo see a link",
    });
  });

  it("reads the voice channel's own chat, queued for the bound channel", async () => {
    const { reader, played } = await setup({});
    expect(await reader.handle(chat({ channelId: VOICE, content: "from the call chat" }))).toBe(true);
    expect(played[0]).toMatchObject({ voiceChannelId: VOICE, textChannelId: TEXT });
  });

  it.each<[string, Partial<ReadingSettings>, string]>([
    ["display names", { nameStyle: "display_name" }, "Ana Global said: hi"],
    ["usernames", { nameStyle: "username" }, "ana_u said: hi"],
    ["no names", { nameStyle: "none" }, "hi"],
    ["a template", { nameTemplate: "message from {name}" }, "message from Ana: hi"],
  ])("names the speaker with %s", async (_name, reading, want) => {
    const { reader, played } = await setup({ reading });
    await reader.handle(chat({ content: "hi" }));
    expect(texts(played)).toEqual([want]);
  });

  it("describes files, stickers and forwards, which name the sender for the next minute", async () => {
    const { reader, played, advance } = await setup({});
    await reader.handle(chat({ content: "", attachments: [{ name: "a.png", contentType: "image/png" }] }));
    advance(1000);
    await reader.handle(chat({ content: "nice, right?" }));
    await reader.handle(chat({ content: "", stickers: ["Wave"] }));
    await reader.handle(
      chat({
        content: "",
        forward: { content: "see you at **eight**", attachments: [], stickers: [] },
      }),
    );
    await reader.handle(chat({ content: "look", attachments: [{ name: "clip.mp4" }] }));
    expect(texts(played)).toEqual([
      "Ana sent an image",
      "nice, right?",
      "Ana sent a sticker: Wave",
      "Ana forwarded a message: see you at eight",
      "look, with a video",
    ]);
  });

  it("does not describe files when the server turned it off", async () => {
    const { reader, played } = await setup({ reading: { describeFiles: false } });
    expect(await reader.handle(chat({ content: "", stickers: ["Wave"] }))).toBe(false);
    await reader.handle(chat({ content: "look", attachments: [{ name: "a.png" }] }));
    expect(texts(played)).toEqual(["Ana said: look"]);
  });

  it("caps the text at the server's length", async () => {
    const { reader, played } = await setup({ reading: { maxChars: 20, nameStyle: "none" } });
    await reader.handle(chat({ content: "the quick brown fox jumps over the lazy dog, twice over" }));
    expect([...texts(played)[0]!].length).toBeLessThanOrEqual(20);
    expect(texts(played)[0]).toMatch(/…$/);
  });

  it("follows the server's skip prefixes", async () => {
    const { reader, played } = await setup({ reading: { skipPrefixes: ["~"], nameStyle: "none" } });
    expect(await reader.handle(chat({ content: "~ quiet" }))).toBe(false);
    expect(await reader.handle(chat({ content: "!now read" }))).toBe(true);
    expect(texts(played)).toEqual(["!now read"]);
  });

  it.each<[string, Parameters<typeof setup>[0], Partial<ChatMessage>]>([
    ["the guild has not turned it on", { reading: { autoRead: false } }, {}],
    ["the bot is not in voice", { bound: false }, {}],
    ["another text channel", {}, { channelId: "100000000000000009" }],
    ["the voice chat with text-in-voice off", { reading: { textInVoice: false } }, { channelId: VOICE }],
    ["an author outside the voice channel", {}, { authorVoiceChannelId: null }],
    ["a bot", {}, { authorIsBot: true }],
    [
      "an ignored role",
      { reading: { ignoredRoleId: "400000000000000001" } },
      { authorRoleIds: ["400000000000000001"] },
    ],
    ["a missing required role", { reading: { requiredRoleId: "400000000000000001" } }, {}],
    ["the stage audience", {}, { authorIsAudience: true }],
    ["a member who opted out", { optedOut: true }, {}],
    ["nothing speakable", {}, { content: "**  **" }],
  ])("ignores %s", async (_name, s, msg) => {
    const { reader, played } = await setup(s);
    expect(await reader.handle(chat(msg))).toBe(false);
    expect(played).toHaveLength(0);
  });

  it("reads a member again once they opt back in", async () => {
    const { reader, played, users } = await setup({ optedOut: true });
    expect(await reader.handle(chat({ content: "one" }))).toBe(false);
    await users.setOptedOut(AUTHOR, false);
    expect(await reader.handle(chat({ content: "two" }))).toBe(true);
    expect(texts(played)).toEqual(["Ana said: two"]);
  });

  it("never throws: a refused clip is logged and skipped", async () => {
    const failing = createAutoReader({
      voice: { status: () => ({ voiceChannelId: VOICE, textChannelId: TEXT }) } as unknown as VoiceService,
      playback: {
        play: async () => {
          throw new Error("queue full");
        },
      },
      guildSettings: { get: async () => ({ reading: { autoRead: true } }) as never },
      users: { get: async () => ({ optedOut: false }) as never },
      logger: createLogger({ level: "silent" }),
    });
    await expect(failing.handle(chat())).resolves.toBe(false);
  });
});
