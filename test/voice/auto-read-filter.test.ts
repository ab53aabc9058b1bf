import { describe, expect, it } from "vitest";
import {
  type AutoReadBinding,
  type AutoReadMessage,
  describeAttachments,
  shouldAutoRead,
} from "../../src/voice/auto-read-filter.ts";

const BINDING: AutoReadBinding = { textChannelId: "text", voiceChannelId: "voice" };

function message(over: Partial<AutoReadMessage> = {}): AutoReadMessage {
  return {
    guildId: "g1",
    channelId: "text",
    authorId: "u1",
    authorIsBot: false,
    webhookId: null,
    system: false,
    content: "hello there",
    attachmentCount: 0,
    stickerCount: 0,
    authorVoiceChannelId: "voice",
    ...over,
  };
}

describe("shouldAutoRead", () => {
  it.each<[string, Partial<AutoReadMessage>, Partial<AutoReadBinding>]>([
    ["a member in the voice channel", {}, {}],
    ["an attachment without text", { content: "", attachmentCount: 1 }, {}],
    ["a sticker without text", { content: "", stickerCount: 1 }, {}],
    ["no sticker count given but a file", { content: "", attachmentCount: 2, stickerCount: undefined }, {}],
    ["a prefix in the middle", { content: "wow! that // works" }, {}],
    ["a bot when bots are read", { authorIsBot: true }, { readBots: true }],
    [
      "a bot outside voice when bots are read",
      { authorIsBot: true, authorVoiceChannelId: null },
      { readBots: true },
    ],
    [
      "a webhook when bots are read, with no voice state",
      { webhookId: "w1", authorIsBot: true, authorVoiceChannelId: null },
      { readBots: true },
    ],
    ["the default prefix when prefixes are turned off", { content: "!not a command" }, { skipPrefixes: [] }],
    ["a default prefix replaced by a custom one", { content: "//note" }, { skipPrefixes: ["~"] }],
    ["an empty prefix is ignored", { content: "hello" }, { skipPrefixes: [""] }],
    ["an empty webhook id is no webhook", { webhookId: "" }, {}],
  ])("reads %s", (_name, over, bindingOver) => {
    expect(shouldAutoRead(message(over), { ...BINDING, ...bindingOver })).toEqual({ read: true });
  });

  it.each<[string, Partial<AutoReadMessage>, AutoReadBinding | undefined, string]>([
    ["a guild without a binding", {}, undefined, "no binding"],
    ["another text channel", { channelId: "other" }, BINDING, "not the bound text channel"],
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
    ["a ! message", { content: "!skip" }, BINDING, "skip prefix"],
    ["a // message", { content: "// aside" }, BINDING, "skip prefix"],
    ["a prefix after leading spaces", { content: "   !skip" }, BINDING, "skip prefix"],
    ["a prefix even with a file", { content: "!x", attachmentCount: 1 }, BINDING, "skip prefix"],
    ["a custom prefix", { content: "(ooc) brb" }, { ...BINDING, skipPrefixes: ["(ooc)"] }, "skip prefix"],
    [
      "a bot's message with a prefix",
      { authorIsBot: true, content: "!x" },
      { ...BINDING, readBots: true },
      "skip prefix",
    ],
    ["empty content", { content: "" }, BINDING, "empty"],
    ["whitespace only", { content: "  \n " }, BINDING, "empty"],
    ["empty with negative counts", { content: "", attachmentCount: -1, stickerCount: -2 }, BINDING, "empty"],
  ])("skips %s", (_name, over, binding, reason) => {
    expect(shouldAutoRead(message(over), binding)).toEqual({ read: false, reason });
  });

  it("checks the channel before anything about the author", () => {
    const msg = message({ channelId: "other", authorIsBot: true, authorVoiceChannelId: null });
    expect(shouldAutoRead(msg, BINDING)).toEqual({ read: false, reason: "not the bound text channel" });
  });
});

describe("describeAttachments", () => {
  it.each([
    [0, 0, ""],
    [1, 0, "sent a file"],
    [3, 0, "sent 3 files"],
    [0, 1, "sent a sticker"],
    [0, 2, "sent 2 stickers"],
    [1, 1, "sent a file and a sticker"],
    [2, 3, "sent 2 files and 3 stickers"],
    [-1, 0, ""],
    [Number.NaN, 1, "sent a sticker"],
    [2.7, 0, "sent 2 files"],
  ])("%d files and %d stickers → %j", (files, stickers, expected) => {
    expect(describeAttachments(files, stickers)).toBe(expected);
  });

  it("counts no stickers when not given", () => {
    expect(describeAttachments(1)).toBe("sent a file");
  });
});
