import { describe, expect, it } from "vitest";
import {
  type AutoReadBinding,
  type AutoReadMessage,
  isReadChannel,
  shouldAutoRead,
} from "../../src/voice/auto-read-filter.ts";

const BINDING: AutoReadBinding = { textChannelId: "text", voiceChannelId: "voice" };
const IMAGE = { name: "cat.png", contentType: "image/png" };

function message(over: Partial<AutoReadMessage> = {}): AutoReadMessage {
  return {
    guildId: "g1",
    channelId: "text",
    authorId: "u1",
    authorIsBot: false,
    webhookId: null,
    system: false,
    content: "hello there",
    attachments: [],
    stickers: [],
    authorRoleIds: [],
    authorVoiceChannelId: "voice",
    authorIsAudience: false,
    ...over,
  };
}

describe("shouldAutoRead", () => {
  it.each<[string, Partial<AutoReadMessage>, Partial<AutoReadBinding>]>([
    ["a member in the voice channel", {}, {}],
    ["an attachment without text", { content: "", attachments: [IMAGE] }, {}],
    ["a sticker without text", { content: "", stickers: ["Wave"] }, {}],
    [
      "a forward without text",
      { content: "", forward: { content: "hi", attachments: [], stickers: [] } },
      {},
    ],
    ["files given, stickers left out", { content: "", attachments: [IMAGE], stickers: undefined }, {}],
    ["a prefix in the middle", { content: "wow! that // works" }, {}],
    ["a bot when bots are read", { authorIsBot: true }, { readBots: true }],
    [
      "a bot outside voice when bots are read",
      { authorIsBot: true, authorVoiceChannelId: null },
      { readBots: true },
    ],
    [
      "a webhook when bots are read, with no voice state",
      { webhookId: "w1", authorIsBot: true, authorVoiceChannelId: null, authorRoleIds: null },
      { readBots: true },
    ],
    ["the default prefix when prefixes are turned off", { content: "!not a command" }, { skipPrefixes: [] }],
    ["a default prefix replaced by a custom one", { content: "//note" }, { skipPrefixes: ["~"] }],
    ["an empty prefix is ignored", { content: "hello" }, { skipPrefixes: [""] }],
    ["an empty webhook id is no webhook", { webhookId: "" }, {}],
    // Text-in-voice.
    ["the voice channel's own chat", { channelId: "voice" }, {}],
    ["the voice channel's chat when /join was run there", { channelId: "voice" }, { textChannelId: "voice" }],
    ["the bound channel with text-in-voice off", {}, { textInVoice: false }],
    // require_voice off.
    [
      "a member outside voice when voice is not required",
      { authorVoiceChannelId: null },
      { requireVoice: false },
    ],
    [
      "a member outside voice in text-in-voice when voice is not required",
      { channelId: "voice", authorVoiceChannelId: "other-voice" },
      { requireVoice: false },
    ],
    // Roles.
    ["a member with the required role", { authorRoleIds: ["r1", "r2"] }, { requiredRoleId: "r2" }],
    ["a member without the ignored role", { authorRoleIds: ["r1"] }, { ignoredRoleId: "r9" }],
    [
      "a member with the required role and not the ignored one",
      { authorRoleIds: ["r1"] },
      { requiredRoleId: "r1", ignoredRoleId: "r2" },
    ],
    // Stage channels.
    ["a stage speaker", { authorIsAudience: false }, {}],
    ["the audience when the server reads it", { authorIsAudience: true }, { ignoreAudience: false }],
    [
      "an audience member of another stage when voice is not required",
      { authorIsAudience: true, authorVoiceChannelId: "other-stage" },
      { requireVoice: false },
    ],
  ])("reads %s", (_name, over, bindingOver) => {
    expect(shouldAutoRead(message(over), { ...BINDING, ...bindingOver })).toEqual({ read: true });
  });

  it.each<[string, Partial<AutoReadMessage>, AutoReadBinding | undefined, string]>([
    ["a guild without a binding", {}, undefined, "no binding"],
    ["another text channel", { channelId: "other" }, BINDING, "not a channel read"],
    [
      "the voice channel's chat with text-in-voice off",
      { channelId: "voice" },
      { ...BINDING, textInVoice: false },
      "not a channel read",
    ],
    ["another voice channel's chat", { channelId: "other-voice" }, BINDING, "not a channel read"],
    [
      "a member in another voice channel",
      { authorVoiceChannelId: "other-voice" },
      BINDING,
      "author not in the voice channel",
    ],
    [
      "a member in no voice channel",
      { authorVoiceChannelId: null },
      BINDING,
      "author not in the voice channel",
    ],
    [
      "text-in-voice from someone not in the call (require_voice)",
      { channelId: "voice", authorVoiceChannelId: null },
      BINDING,
      "author not in the voice channel",
    ],
    ["a bot", { authorIsBot: true }, BINDING, "bot"],
    ["a bot when readBots is false", { authorIsBot: true }, { ...BINDING, readBots: false }, "bot"],
    ["a webhook", { webhookId: "w1" }, BINDING, "webhook"],
    ["a webhook posting as a bot", { webhookId: "w1", authorIsBot: true }, BINDING, "webhook"],
    ["a system message", { system: true }, BINDING, "system message"],
    [
      "a system message even with bots read",
      { system: true },
      { ...BINDING, readBots: true },
      "system message",
    ],
    [
      "a member with the ignored role",
      { authorRoleIds: ["r1", "r2"] },
      { ...BINDING, ignoredRoleId: "r2" },
      "ignored role",
    ],
    [
      "the ignored role wins over the required one",
      { authorRoleIds: ["r1"] },
      { ...BINDING, requiredRoleId: "r1", ignoredRoleId: "r1" },
      "ignored role",
    ],
    [
      "a bot with the ignored role",
      { authorIsBot: true, authorRoleIds: ["r2"] },
      { ...BINDING, readBots: true, ignoredRoleId: "r2" },
      "ignored role",
    ],
    [
      "a member without the required role",
      { authorRoleIds: ["r1"] },
      { ...BINDING, requiredRoleId: "r2" },
      "missing the required role",
    ],
    [
      "no member (no roles known) when a role is required",
      { authorRoleIds: null },
      { ...BINDING, requiredRoleId: "r2" },
      "missing the required role",
    ],
    [
      "a webhook when a role is required, whatever roles it claims",
      { webhookId: "w1", authorRoleIds: ["r2"] },
      { ...BINDING, readBots: true, requiredRoleId: "r2" },
      "missing the required role",
    ],
    ["the stage audience", { authorIsAudience: true }, BINDING, "stage audience"],
    [
      "the stage audience in the stage's own chat",
      { channelId: "voice", authorIsAudience: true },
      BINDING,
      "stage audience",
    ],
    [
      "the stage audience even when voice is not required",
      { authorIsAudience: true },
      { ...BINDING, requireVoice: false },
      "stage audience",
    ],
    ["a ! message", { content: "!skip" }, BINDING, "skip prefix"],
    ["a // message", { content: "// aside" }, BINDING, "skip prefix"],
    ["a prefix after leading spaces", { content: "   !skip" }, BINDING, "skip prefix"],
    ["a prefix even with a file", { content: "!x", attachments: [IMAGE] }, BINDING, "skip prefix"],
    ["a custom prefix", { content: "(ooc) brb" }, { ...BINDING, skipPrefixes: ["(ooc)"] }, "skip prefix"],
    [
      "a bot's message with a prefix",
      { authorIsBot: true, content: "!x" },
      { ...BINDING, readBots: true },
      "skip prefix",
    ],
    ["empty content", { content: "" }, BINDING, "empty"],
    ["whitespace only", { content: "  \n " }, BINDING, "empty"],
    ["nothing given at all", { content: "", attachments: undefined, stickers: undefined }, BINDING, "empty"],
  ])("skips %s", (_name, over, binding, reason) => {
    expect(shouldAutoRead(message(over), binding)).toEqual({ read: false, reason });
  });

  it("checks the channel before anything about the author", () => {
    const msg = message({ channelId: "other", authorIsBot: true, authorVoiceChannelId: null });
    expect(shouldAutoRead(msg, BINDING)).toEqual({ read: false, reason: "not a channel read" });
  });
});

describe("isReadChannel", () => {
  it.each<[string, boolean | undefined, boolean]>([
    ["text", undefined, true],
    ["voice", undefined, true],
    ["voice", true, true],
    ["voice", false, false],
    ["text", false, true],
    ["other", true, false],
  ])("%s with textInVoice %s → %s", (channelId, textInVoice, want) => {
    expect(
      isReadChannel(channelId, { ...BINDING, ...(textInVoice === undefined ? {} : { textInVoice }) }),
    ).toBe(want);
  });
});
