import {
  ApplicationCommandType,
  type ChatInputCommandInteraction,
  ContextMenuCommandBuilder,
  type Interaction,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ClientAndFake, startClientAndFake } from "./test-client.ts";

function onNextInteraction<T>(ctx: ClientAndFake, handler: (i: Interaction) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    ctx.client.once("interactionCreate", (interaction) => {
      handler(interaction).then(resolve, reject);
    });
  });
}

describe("fake discord response flows", () => {
  let ctx: ClientAndFake;

  beforeAll(async () => {
    ctx = await startClientAndFake({
      channels: [{ key: "readOnly", name: "read-only", botDeny: ["SendMessages"] }],
    });
    await ctx.client.application!.commands.set([
      new SlashCommandBuilder().setName("narrate").setDescription("Narrate").toJSON(),
      new ContextMenuCommandBuilder().setName("Read aloud").setType(ApplicationCommandType.Message).toJSON(),
    ]);
  });
  afterAll(async () => {
    await ctx?.close();
  });
  afterEach(() => {
    ctx.client.removeAllListeners("interactionCreate");
    expect(ctx.fake.internalErrors).toEqual([]);
  });

  it("a follow-up right after a defer edits the thinking message (documented behaviour)", async () => {
    onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      await c.deferReply({ flags: MessageFlags.Ephemeral });
      await c.followUp({ content: "result" });
      await c.followUp({ content: "second" });
    });
    const handle = ctx.fake.dispatchCommand({ name: "narrate" });
    await handle.waitForResponse((m) => m.content === "second");
    const [original, follow] = handle.messages();
    expect(original?.content).toBe("result");
    expect(original?.flags).toBe(64);
    expect(follow?.source).toBe("follow-up");
    expect(handle.followUps()).toHaveLength(1);
  });

  it("withResponse returns the callback response; fetchReply and deleteReply use @original", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      const response = await c.reply({ content: "hello", withResponse: true });
      const fetched = await c.fetchReply();
      await c.deleteReply();
      return { id: response.resource?.message?.id, fetched: fetched.id, content: fetched.content };
    });
    const handle = ctx.fake.dispatchCommand({ name: "narrate" });
    const { id, fetched, content } = await outcome;
    expect(id).toBe(handle.original()?.id);
    expect(fetched).toBe(id);
    expect(content).toBe("hello");
    expect(handle.original()?.deleted).toBe(true);
    expect(ctx.fake.messagesIn(ctx.fake.fixtures.channels.text.id).some((m) => m.id === id)).toBe(false);
  });

  it("refuses an empty reply (50006) and a message-only callback type for a slash command", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      const empty = await c.reply({ content: "" }).catch((e: unknown) => e);
      const update = await ctx.client.rest
        .post(`/interactions/${c.id}/${c.token}/callback`, {
          body: { type: 7, data: { content: "x" } },
          auth: false,
        })
        .catch((e: unknown) => e);
      return { empty, update };
    });
    ctx.fake.dispatchCommand({ name: "narrate" });
    const { empty, update } = await outcome;
    expect(empty).toMatchObject({ code: 50006 });
    expect(update).toMatchObject({
      code: 50035,
      rawError: { errors: { type: { _errors: [{ code: "BASE_TYPE_CHOICES" }] } } },
    });
  });

  it("message context menu gets the target message with its content; app_permissions follow overwrites", async () => {
    const { fake } = ctx;
    const outcome = onNextInteraction(ctx, async (i) => {
      const c = i as MessageContextMenuCommandInteraction;
      await c.reply({ content: "reading", flags: MessageFlags.Ephemeral });
      return {
        content: c.targetMessage.content,
        author: c.targetMessage.author.id,
        canSend: c.appPermissions.has("SendMessages"),
      };
    });
    fake.dispatchCommand({
      name: "Read aloud",
      type: 3,
      channelId: fake.fixtures.channels.readOnly!.id,
      targetMessage: { content: "Please read this", authorId: fake.fixtures.users.admin.id },
    });
    await expect(outcome).resolves.toEqual({
      content: "Please read this",
      author: fake.fixtures.users.admin.id,
      canSend: false,
    });
  });

  it("interactions from a DM carry user instead of member", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      await (i as ChatInputCommandInteraction).reply("hi");
      // Like on Discord, discord.js only caches the DM channel with Partials.Channel.
      return { guild: i.guildId, user: i.user.id, member: i.member, channelId: i.channelId };
    });
    const handle = ctx.fake.dispatchCommand({ name: "narrate", guildId: null });
    const seen = await outcome;
    expect(seen).toEqual({
      guild: null,
      user: ctx.fake.fixtures.users.member.id,
      member: null,
      channelId: handle.payload.channel_id,
    });
    expect(handle.payload.context).toBe(1);
    expect(handle.payload.channel).toMatchObject({ type: 1 });
    expect(handle.original()?.channel_id).toBe(handle.payload.channel_id);
  });
});
