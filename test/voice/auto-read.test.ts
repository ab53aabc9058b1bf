import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import { createGuildSettingsStore } from "../../src/settings/settings.ts";
import { type ChatMessage, createAutoReader, spokenText } from "../../src/voice/auto-read.ts";
import type { PlaySpeechInput, SpeechPlayback } from "../../src/voice/play-speech.ts";
import type { VoiceService, VoiceStatus } from "../../src/voice/voice-service.ts";

const G = "100000000000000001";
const TEXT = "100000000000000002";
const VOICE = "100000000000000003";

describe("spokenText", () => {
  it.each([
    {
      name: "text with a new speaker",
      text: "hi all",
      attachments: "",
      prefix: "Ana said",
      want: "Ana said: hi all",
    },
    { name: "same speaker again", text: "and more", attachments: "", prefix: undefined, want: "and more" },
    {
      name: "files only name the sender",
      text: "",
      attachments: "sent 2 files",
      prefix: undefined,
      want: "Ana sent 2 files.",
    },
    {
      name: "text and a file",
      text: "look",
      attachments: "sent a file",
      prefix: "Ana said",
      want: "Ana said: look (sent a file)",
    },
    { name: "nothing", text: "", attachments: "", prefix: "Ana said", want: "" },
  ])("$name", ({ text, attachments, prefix, want }) => {
    expect(spokenText({ text, attachments, name: "Ana", prefix })).toBe(want);
  });
});

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

async function setup(opts: { autoRead: boolean; bound?: boolean }) {
  const settings = createGuildSettingsStore(memoryKv() as never, { cacheTtlMs: 0 });
  await settings.update(G, { voice: { autoRead: opts.autoRead } });
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
    logger: createLogger({ level: "silent" }),
    now: () => t,
  });
  const advance = (ms: number) => {
    t += ms;
  };
  return { reader, played, advance };
}

function chat(over: Partial<ChatMessage> = {}): ChatMessage {
  return {
    guildId: G,
    channelId: TEXT,
    authorId: "200000000000000001",
    authorIsBot: false,
    webhookId: null,
    system: false,
    content: "hello <@300000000000000001> see https://example.com",
    attachmentCount: 0,
    stickerCount: 0,
    authorVoiceChannelId: VOICE,
    authorName: "Ana",
    names: {
      userName: (id) => (id === "300000000000000001" ? "Bo" : undefined),
      roleName: () => undefined,
      channelName: () => undefined,
    },
    ...over,
  };
}

describe("auto-reader", () => {
  it("queues cleaned text in the author's name, announcing the speaker once a minute", async () => {
    const { reader, played, advance } = await setup({ autoRead: true });
    expect(await reader.handle(chat())).toBe(true);
    advance(10_000);
    expect(await reader.handle(chat({ content: "again" }))).toBe(true);
    advance(61_000);
    expect(await reader.handle(chat({ content: "later" }))).toBe(true);
    expect(played.map((p) => p.options.text)).toEqual([
      "Ana said: hello Bo see a link",
      "again",
      "Ana said: later",
    ]);
    expect(played[0]).toMatchObject({
      kind: "auto-read",
      actor: { userId: "200000000000000001", guildId: G, roleIds: [], isManager: false },
      voiceChannelId: VOICE,
      textChannelId: TEXT,
    });
  });

  it.each([
    { name: "the guild has not turned it on", setup: { autoRead: false }, msg: {} },
    { name: "the bot is not in voice", setup: { autoRead: true, bound: false }, msg: {} },
    { name: "another text channel", setup: { autoRead: true }, msg: { channelId: "100000000000000009" } },
    {
      name: "an author outside the voice channel",
      setup: { autoRead: true },
      msg: { authorVoiceChannelId: null },
    },
    { name: "a bot", setup: { autoRead: true }, msg: { authorIsBot: true } },
    { name: "nothing speakable", setup: { autoRead: true }, msg: { content: "**  **" } },
  ])("ignores $name", async ({ setup: s, msg }) => {
    const { reader, played } = await setup(s);
    expect(await reader.handle(chat(msg))).toBe(false);
    expect(played).toHaveLength(0);
  });
});
