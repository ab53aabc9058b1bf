import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  type Interaction,
  ModalBuilder,
  Routes,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ClientAndFake, startClientAndFake } from "./test-client.ts";

/** Runs `handler` for the next interaction the client receives and reports its outcome. */
function onNextInteraction<T>(ctx: ClientAndFake, handler: (i: Interaction) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    ctx.client.once("interactionCreate", (interaction) => {
      handler(interaction).then(resolve, reject);
    });
  });
}

const speak = new SlashCommandBuilder()
  .setName("speak")
  .setDescription("Say something")
  .addStringOption((o) =>
    o.setName("text").setDescription("What to say").setRequired(true).setMaxLength(3000),
  )
  .addNumberOption((o) => o.setName("speed").setDescription("Speed").setMinValue(0.5).setMaxValue(2))
  .addIntegerOption((o) => o.setName("volume").setDescription("Volume"))
  .addBooleanOption((o) => o.setName("play").setDescription("Play in voice"))
  .addStringOption((o) => o.setName("voice").setDescription("Voice").setAutocomplete(true))
  .addAttachmentOption((o) => o.setName("file").setDescription("A text file"));

const config = new SlashCommandBuilder()
  .setName("config")
  .setDescription("Settings")
  .addSubcommand((s) =>
    s
      .setName("voice")
      .setDescription("Default voice")
      .addStringOption((o) => o.setName("name").setDescription("Voice").setRequired(true)),
  );

describe("fake discord interactions with the real discord.js client", () => {
  let ctx: ClientAndFake;

  beforeAll(async () => {
    ctx = await startClientAndFake();
    await ctx.client.application!.commands.set([speak.toJSON(), config.toJSON()], ctx.fake.fixtures.guild.id);
  });
  afterAll(async () => {
    await ctx?.close();
  });
  afterEach(() => {
    ctx.client.removeAllListeners("interactionCreate");
    expect(ctx.fake.internalErrors).toEqual([]);
  });

  it("stores registered guild commands with ids, application_id and version, keeping ids on re-registration", async () => {
    const { fake, client } = ctx;
    const stored = fake.registeredCommands(fake.fixtures.guild.id);
    expect(stored.map((c) => c.name)).toEqual(["speak", "config"]);
    expect(stored[0]).toMatchObject({
      application_id: fake.fixtures.application.id,
      guild_id: fake.fixtures.guild.id,
      type: 1,
    });
    expect(stored[0]!.id).toMatch(/^\d+$/);
    const again = await client.application!.commands.set(
      [speak.toJSON(), config.toJSON()],
      fake.fixtures.guild.id,
    );
    expect([...again.keys()]).toEqual(stored.map((c) => c.id));
    expect(fake.registeredCommands()).toEqual([]);
    const bad = client.application!.commands.set(
      [{ name: "Speak", description: "x" }],
      fake.fixtures.guild.id,
    );
    await expect(bad).rejects.toMatchObject({ code: 50035, status: 400 });
    expect(fake.registeredCommands(fake.fixtures.guild.id)).toHaveLength(2);
  });

  it("fires interactionCreate with options typed from the registered definitions", async () => {
    const { fake } = ctx;
    const seen = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      const file = c.options.getAttachment("file");
      const bytes = file ? Buffer.from(await (await fetch(file.url)).arrayBuffer()).toString() : undefined;
      await c.reply({ content: "ok" });
      return {
        name: c.commandName,
        text: c.options.getString("text"),
        // 1 is whole, but the definition says NUMBER: getNumber must not throw.
        speed: c.options.getNumber("speed"),
        volume: c.options.getInteger("volume"),
        play: c.options.getBoolean("play"),
        fileName: file?.name,
        bytes,
        guild: c.guildId,
        member: c.member?.user.id,
        locale: c.locale,
        limit: c.attachmentSizeLimit,
      };
    });
    const handle = fake.dispatchCommand({
      name: "speak",
      options: {
        text: "hi",
        speed: 1,
        volume: 3,
        play: true,
        file: { filename: "story.txt", data: "once upon" },
      },
    });
    await expect(seen).resolves.toEqual({
      name: "speak",
      text: "hi",
      speed: 1,
      volume: 3,
      play: true,
      fileName: "story.txt",
      bytes: "once upon",
      guild: fake.fixtures.guild.id,
      member: fake.fixtures.users.member.id,
      locale: "en-US",
      limit: 10 * 1024 * 1024,
    });
    const ack = await handle.waitForAck();
    expect(ack.type).toBe(4);
    expect(() => fake.dispatchCommand({ name: "speak", options: { text: "hi", speeed: 1 } })).toThrow(
      /unknown option "speeed"/,
    );
    expect(() => fake.dispatchCommand({ name: "speak", options: { speed: 1 } })).toThrow(
      /required option "text"/,
    );
    expect(() => fake.dispatchCommand({ name: "speak", options: { text: "x", speed: 3 } })).toThrow(
      /max_value/,
    );
  });

  it("supports subcommands", async () => {
    const seen = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      await c.reply("saved");
      return [c.options.getSubcommand(), c.options.getString("name")];
    });
    ctx.fake.dispatchCommand({ name: "config voice", options: { name: "Wise_Woman" } });
    await expect(seen).resolves.toEqual(["voice", "Wise_Woman"]);
  });

  it("deferReply then editReply({ files }) stores the file byte for byte and records ackMs", async () => {
    const { fake } = ctx;
    const audio = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256));
    onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      await c.deferReply();
      await c.editReply({ content: "done", files: [new AttachmentBuilder(audio, { name: "speech.mp3" })] });
    });
    const handle = fake.dispatchCommand({ name: "speak", options: { text: "hello" } });
    const ack = await handle.waitForAck();
    expect(ack.type).toBe(5);
    expect(ack.ackMs).toBeGreaterThanOrEqual(0);
    expect(ack.ackMs).toBeLessThan(3000);
    const reply = await handle.waitForResponse((m) => m.attachments.length > 0);
    expect(reply.content).toBe("done");
    expect(reply.flags & 128).toBe(0);
    expect(reply.attachments[0]).toMatchObject({
      filename: "speech.mp3",
      size: 5000,
      content_type: "audio/mpeg",
    });
    expect(fake.attachmentBytes(reply.id, 0).equals(audio)).toBe(true);
    const served = Buffer.from(await (await fetch(reply.attachments[0]!.url)).arrayBuffer());
    expect(served.equals(audio)).toBe(true);
    const patch = fake.requests.find((r) => r.method === "PATCH" && r.route.endsWith("/messages/@original"));
    expect(patch?.rawPath).toContain("%40original");
    expect(patch?.multipart?.files[0]?.field).toBe("files[0]");
    expect(handle.messages()).toHaveLength(1);
  });

  it("records allowed_mentions and computes who would be pinged", async () => {
    const { fake } = ctx;
    onNextInteraction(ctx, (i) =>
      (i as ChatInputCommandInteraction).reply({ content: "@everyone hi", allowedMentions: { parse: [] } }),
    );
    const quiet = await fake.dispatchCommand({ name: "speak", options: { text: "x" } }).waitForResponse();
    expect(quiet.allowed_mentions).toEqual({ parse: [] });
    expect(quiet.mentions_everyone).toBe(false);
    expect(quiet.mention_everyone).toBe(false);

    const member = fake.fixtures.users.member.id;
    onNextInteraction(ctx, (i) =>
      (i as ChatInputCommandInteraction).reply({ content: `@everyone hi <@${member}>` }),
    );
    const loud = await fake.dispatchCommand({ name: "speak", options: { text: "x" } }).waitForResponse();
    expect(loud.allowed_mentions).toBeUndefined();
    expect(loud.mentions_everyone).toBe(true);
    expect(loud.mentions.map((u) => u.id)).toEqual([member]);
  });

  it("rejects a file over the interaction's attachment_size_limit with 413 / 40005", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      expect(c.attachmentSizeLimit).toBe(1000);
      return c
        .reply({ files: [new AttachmentBuilder(Buffer.alloc(1001), { name: "big.ogg" })] })
        .catch((e: unknown) => e);
    });
    const handle = ctx.fake.dispatchCommand({
      name: "speak",
      options: { text: "x" },
      attachmentSizeLimit: 1000,
    });
    const error = await outcome;
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({ status: 413, code: 40005 });
    expect(handle.ack).toBeUndefined();
    expect(handle.callbacks[0]?.status).toBe(413);
  });

  it("answers a callback after the ack deadline with 10062", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      await new Promise((r) => setTimeout(r, 150));
      return (i as ChatInputCommandInteraction).reply("late").catch((e: unknown) => e);
    });
    const handle = ctx.fake.dispatchCommand({ name: "speak", options: { text: "x" }, ackTimeoutMs: 100 });
    await expect(outcome).resolves.toMatchObject({
      status: 404,
      code: 10062,
      message: "Unknown interaction",
    });
    expect(handle.callbacks[0]!.ackMs).toBeGreaterThan(100);
    expect(ctx.fake.messagesIn(ctx.fake.fixtures.channels.text.id).some((m) => m.content === "late")).toBe(
      false,
    );
  });

  it("answers a second callback with 40060", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      await (i as ChatInputCommandInteraction).reply("first");
      return ctx.client.rest
        .post(Routes.interactionCallback(i.id, i.token), {
          body: { type: 4, data: { content: "again" } },
          auth: false,
        })
        .catch((e: unknown) => e);
    });
    const handle = ctx.fake.dispatchCommand({ name: "speak", options: { text: "x" } });
    await expect(outcome).resolves.toMatchObject({ status: 400, code: 40060 });
    expect(handle.callbacks.map((c) => c.status)).toEqual([204, 400]);
    expect(handle.messages().map((m) => m.content)).toEqual(["first"]);
  });

  it("follow-ups work while the token lives, then 50027", async () => {
    const { fake } = ctx;
    const outcome = onNextInteraction(ctx, async (i) => {
      const c = i as ChatInputCommandInteraction;
      await c.reply({ content: "started", withResponse: true });
      const follow = await c.followUp({ content: "more", flags: 64 });
      await new Promise((r) => setTimeout(r, 250));
      const late = await c.followUp("too late").catch((e: unknown) => e);
      return { follow: follow.flags.bitfield, late };
    });
    const handle = fake.dispatchCommand({ name: "speak", options: { text: "x" }, tokenTtlMs: 200 });
    const { follow, late } = await outcome;
    expect(follow & 64).toBe(64);
    expect(late).toMatchObject({ status: 401, code: 50027 });
    expect(handle.messages().map((m) => m.content)).toEqual(["started", "more"]);
    expect(handle.callbacks[0]?.withResponse).toBe(true);
  });

  it("autocomplete: 25 choices pass, 26 are rejected with 50035", async () => {
    const { fake } = ctx;
    const choices = (n: number) =>
      Array.from({ length: n }, (_, k) => ({ name: `Voice ${k}`, value: `v${k}` }));
    onNextInteraction(ctx, async (i) => {
      if (!i.isAutocomplete()) throw new Error("expected autocomplete");
      expect(i.options.getFocused(true)).toMatchObject({ name: "voice", value: "Wi" });
      await i.respond(choices(25));
    });
    const ok = fake.dispatchAutocomplete({
      name: "speak",
      options: { text: "hi", voice: "Wi" },
      focused: "voice",
    });
    await expect(ok.waitForAck()).resolves.toHaveLength(25);

    const rejected = onNextInteraction(ctx, async (i) =>
      i.isAutocomplete() ? i.respond(choices(26)).catch((e: unknown) => e) : undefined,
    );
    const bad = fake.dispatchAutocomplete({ name: "speak", options: { text: "hi" }, focused: "voice" });
    await expect(rejected).resolves.toMatchObject({ status: 400, code: 50035 });
    expect(bad.ack).toBeUndefined();
    expect(bad.callbacks[0]?.error?.errors).toMatchObject({
      data: { choices: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH" }] } },
    });
    expect(() =>
      fake.dispatchAutocomplete({ name: "speak", options: { text: "hi" }, focused: "text" }),
    ).toThrow(/does not autocomplete/);
  });

  it("button click → update() edits the message; showModal → modal submit round trip", async () => {
    const { fake } = ctx;
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId("approve").setLabel("Approve").setStyle(ButtonStyle.Success),
      new ButtonBuilder().setCustomId("edit").setLabel("Edit text").setStyle(ButtonStyle.Secondary),
    );
    onNextInteraction(ctx, (i) =>
      (i as ChatInputCommandInteraction).reply({ content: "Pending", components: [row] }),
    );
    const request = await fake.dispatchCommand({ name: "speak", options: { text: "x" } }).waitForResponse();
    expect(request.components).toHaveLength(1);

    onNextInteraction(ctx, async (i) => {
      if (!i.isButton()) throw new Error("expected a button");
      await i.update({ content: `Approved by ${i.user.username}`, components: [] });
    });
    const click = fake.dispatchComponent({ customId: "approve", message: request });
    expect((await click.waitForAck()).type).toBe(7);
    const updated = fake.message(request.id)!;
    expect(updated.content).toBe("Approved by member");
    expect(updated.components).toEqual([]);
    expect(updated.history[0]?.content).toBe("Pending");
    expect(() => fake.dispatchComponent({ customId: "approve", message: request })).toThrow(/no component/);

    onNextInteraction(ctx, (i) =>
      (i as ChatInputCommandInteraction).reply({ content: "Again", components: [row] }),
    );
    const second = await fake.dispatchCommand({ name: "speak", options: { text: "x" } }).waitForResponse();
    onNextInteraction(ctx, async (i) => {
      if (!i.isButton()) throw new Error("expected a button");
      const modal = new ModalBuilder()
        .setCustomId("edit-text")
        .setTitle("Edit the text")
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder()
              .setCustomId("text")
              .setLabel("Text")
              .setStyle(TextInputStyle.Paragraph)
              .setMaxLength(4000),
          ),
        );
      await i.showModal(modal);
    });
    const opened = fake.dispatchComponent({ customId: "edit", message: second });
    expect((await opened.waitForAck()).modal).toMatchObject({
      custom_id: "edit-text",
      title: "Edit the text",
    });
    expect(() =>
      fake.dispatchModalSubmit({ customId: "edit-text", fields: { text: "x", nope: "x" } }),
    ).toThrow(/no field/);

    onNextInteraction(ctx, async (i) => {
      if (!i.isModalSubmit()) throw new Error("expected a modal submit");
      await i.reply({ content: `New text: ${i.fields.getTextInputValue("text")}`, flags: 64 });
    });
    const submit = fake.dispatchModalSubmit({ customId: "edit-text", fields: { text: "bonjour" } });
    const answer = await submit.waitForResponse();
    expect(answer.content).toBe("New text: bonjour");
    expect(answer.flags & 64).toBe(64);
    expect(submit.payload.message).toMatchObject({ id: second.id });
  });

  it("rejects a modal whose title is over 45 characters", async () => {
    const outcome = onNextInteraction(ctx, async (i) => {
      const modal = new ModalBuilder()
        .setCustomId("m")
        .setTitle("x".repeat(45))
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId("t").setLabel("T").setStyle(TextInputStyle.Short),
          ),
        );
      const json = modal.toJSON();
      json.title = "x".repeat(46);
      return ctx.client.rest
        .post(Routes.interactionCallback(i.id, i.token), { body: { type: 9, data: json }, auth: false })
        .catch((e: unknown) => e);
    });
    ctx.fake.dispatchCommand({ name: "speak", options: { text: "x" } });
    await expect(outcome).resolves.toMatchObject({
      status: 400,
      code: 50035,
      rawError: { errors: { data: { title: {} } } },
    });
  });
});
