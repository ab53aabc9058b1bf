import { once } from "node:events";
import { ChannelType, GatewayIntentBits, type Message, MessageReferenceType } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toChatMessage } from "../../../src/discord/chat-message.ts";
import { type ClientAndFake, DEFAULT_TEST_INTENTS, startClientAndFake } from "./test-client.ts";
import type { UserMessageOptions } from "./user-messages.ts";

/**
 * Members' messages the fake builds for auto-read (stickers, forwards, voice messages, chat in a
 * voice or stage channel, roles, stage audience), as the real discord.js parses them, and as the
 * bot's mapping (`toChatMessage`) sees them.
 */

let ctx: ClientAndFake;
let stage: string;
let withRole: string;
let roleId: string;

beforeAll(async () => {
  ctx = await startClientAndFake(
    { roles: [{ key: "muted", name: "Muted" }] },
    { intents: [...DEFAULT_TEST_INTENTS, GatewayIntentBits.MessageContent] },
  );
  roleId = ctx.fake.fixtures.roles.muted!.id;
  withRole = ctx.fake.addMember({ username: "carl", nick: "Carlito", roles: [roleId] });
  stage = ctx.fake.addChannel({ name: "Stage", type: 13 });
});
afterAll(async () => {
  await ctx?.close();
});

async function received(opts: UserMessageOptions): Promise<Message> {
  const next = once(ctx.client, "messageCreate") as Promise<[Message]>;
  const sent = ctx.fake.postUserMessage(opts);
  const [message] = await next;
  expect(message.id).toBe(sent.id);
  return message;
}

describe("members' messages for auto-read", () => {
  it("stickers arrive as sticker_items with their names", async () => {
    const message = await received({ stickers: [{ name: "Wave" }] });
    expect(message.stickers.first()?.name).toBe("Wave");
    expect(toChatMessage(message)?.stickers).toEqual(["Wave"]);
  });

  it("a forward carries a FORWARD reference and the snapshot of the forwarded message", async () => {
    const original = await received({
      channelId: ctx.fake.fixtures.channels.text2.id,
      content: "see you at eight",
      files: [{ filename: "map.png", contentType: "image/png", data: "x" }],
    });
    const message = await received({ forwardOf: original.id });
    expect(() => ctx.fake.postUserMessage({ forwardOf: original.id, content: "and a comment" })).toThrow(
      /no content, files or stickers/,
    );
    expect(message.reference?.type).toBe(MessageReferenceType.Forward);
    expect(message.content).toBe("");
    expect(message.messageSnapshots.first()?.content).toBe("see you at eight");
    expect(toChatMessage(message)?.forward).toEqual({
      content: "see you at eight",
      attachments: [{ contentType: "image/png", name: "map.png", voiceMessage: false }],
      stickers: [],
    });
  });

  it("a voice message is flagged, and its file counts as one", async () => {
    const message = await received({
      voiceMessage: true,
      files: [{ filename: "voice-message.ogg", contentType: "audio/ogg", data: "x" }],
    });
    expect(toChatMessage(message)?.attachments).toEqual([
      { contentType: "audio/ogg", name: "voice-message.ogg", voiceMessage: true },
    ]);
  });

  it("chat in a voice channel's own text chat has the voice channel as its channel", async () => {
    const voiceId = ctx.fake.fixtures.channels.voice.id;
    const message = await received({ channelId: voiceId, content: "from the call" });
    expect(message.channel.type).toBe(ChannelType.GuildVoice);
    expect(toChatMessage(message)?.channelId).toBe(voiceId);
  });

  it("the author's roles and names come with the message", async () => {
    const message = await received({ userId: withRole, content: "hi" });
    const chat = toChatMessage(message);
    expect(chat?.authorRoleIds).toEqual([roleId]);
    expect(chat?.speaker).toEqual({ nickname: "Carlito", displayName: null, username: "carl" });
  });

  it("a stage's audience is suppressed until made a speaker; other voice channels never are", async () => {
    const user = ctx.fake.fixtures.users.member.id;
    const stateOf = () => ctx.fake.state.world.voiceStates.get(user);
    const update = () => once(ctx.client, "voiceStateUpdate");
    let moved = update();
    ctx.fake.setVoiceState(user, stage);
    await moved;
    expect(stateOf()?.suppress).toBe(true);
    expect(toChatMessage(await received({ channelId: stage, content: "audience" }))?.authorIsAudience).toBe(
      true,
    );
    moved = update();
    ctx.fake.setVoiceState(user, stage, { suppress: false });
    await moved;
    expect(toChatMessage(await received({ channelId: stage, content: "speaker" }))?.authorIsAudience).toBe(
      false,
    );
    moved = update();
    ctx.fake.setVoiceState(user, ctx.fake.fixtures.channels.voice.id, { suppress: true });
    await moved;
    expect(stateOf()?.suppress).toBe(false);
    ctx.fake.setVoiceState(user, null);
  });

  it.each<[string, UserMessageOptions, RegExp]>([
    [
      "more than 3 stickers",
      { stickers: [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }] },
      /at most 3/,
    ],
    ["a forward of an unknown message", { forwardOf: "123" }, /does not exist/],
    ["a voice message without one file", { voiceMessage: true, content: "hi" }, /one audio file/],
  ])("refuses %s", (_name, opts, error) => {
    expect(() => ctx.fake.postUserMessage(opts)).toThrow(error);
  });
});
