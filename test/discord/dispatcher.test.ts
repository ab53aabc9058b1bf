import { Writable } from "node:stream";
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  MessageFlags,
  ModalBuilder,
  SlashCommandBuilder,
  StringSelectMenuBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AccessContext } from "../../src/discord/access.ts";
import { type CommandModule, customId, parseCustomId, UserFacingError } from "../../src/discord/command.ts";
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  UNAVAILABLE_CONTROL_MESSAGE,
} from "../../src/discord/dispatcher.ts";
import { syncCommands } from "../../src/discord/register-commands.ts";
import { createRegistry } from "../../src/discord/registry.ts";
import {
  FORM_TOO_LATE_MESSAGE,
  GENERIC_ERROR_MESSAGE,
  RESTARTING_MESSAGE,
  STORAGE_UNAVAILABLE_MESSAGE,
  UNAVAILABLE_MESSAGE,
} from "../../src/discord/reply.ts";
import { createLogger } from "../../src/logger.ts";
import { describeTtsError, RetryableError } from "../../src/speech/errors.ts";
import { StorageError } from "../../src/storage/storage.ts";
import { type ClientAndFake, type FakeMessage, startClientAndFake } from "../fakes/discord/index.ts";

/**
 * What the test commands get as their context: proof that `ctx` is passed, a gate for slow work, and
 * what access checks read (no command here declares any).
 */
interface TestCtx extends AccessContext {
  calls: string[];
  gate: Promise<void>;
}

type TestCommand = CommandModule<ChatInputCommandInteraction, TestCtx>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const echo: TestCommand = {
  data: new SlashCommandBuilder()
    .setName("echo")
    .setDescription("Repeats text")
    .addStringOption((o) => o.setName("text").setDescription("Text").setRequired(true).setAutocomplete(true)),
  async execute(interaction, ctx) {
    if (!interaction.isChatInputCommand()) return;
    const text = interaction.options.getString("text", true);
    ctx.calls.push(`echo:${text}`);
    await interaction.reply({ content: `echo: ${text}` });
  },
  async autocomplete(interaction) {
    const typed = interaction.options.getFocused();
    if (typed === "boom") throw new Error("suggestion backend down");
    if (typed === "slow") await sleep(600);
    await interaction.respond([{ name: typed.toUpperCase(), value: typed }]);
  },
};

const fail: TestCommand = {
  data: new SlashCommandBuilder()
    .setName("fail")
    .setDescription("Fails in various ways")
    .addSubcommand((s) => s.setName("plain").setDescription("A bug"))
    .addSubcommand((s) => s.setName("user").setDescription("A refusal after deferring"))
    .addSubcommand((s) => s.setName("provider").setDescription("The speech service is busy"))
    .addSubcommand((s) => s.setName("silent").setDescription("Returns without answering"))
    .addSubcommand((s) => s.setName("late").setDescription("Answers after the deadline")),
  async execute(interaction) {
    if (!interaction.isChatInputCommand()) return;
    switch (interaction.options.getSubcommand()) {
      case "plain":
        throw new Error("database exploded");
      case "user":
        await interaction.deferReply({ flags: MessageFlags.Ephemeral });
        throw new UserFacingError("That voice does not exist <@&1>.");
      case "provider":
        throw new RetryableError("1002 rate limit", { provider: "minimax", code: 1002, rateLimited: true });
      case "late":
        await sleep(150);
        await interaction.reply({ content: "too late" });
        return;
      default:
        return;
    }
  },
};

const panel: TestCommand = {
  data: new SlashCommandBuilder().setName("panel").setDescription("Shows buttons"),
  async execute(interaction) {
    const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(customId("panel", "press", 42))
        .setLabel("Press")
        .setStyle(ButtonStyle.Primary),
      new ButtonBuilder()
        .setCustomId(customId("panel", "ask", 7))
        .setLabel("Ask")
        .setStyle(ButtonStyle.Secondary),
      new ButtonBuilder()
        .setCustomId(customId("panel", "slowupdate"))
        .setLabel("Slow update")
        .setStyle(ButtonStyle.Secondary),
      new ButtonBuilder()
        .setCustomId(customId("panel", "slowreply"))
        .setLabel("Slow reply")
        .setStyle(ButtonStyle.Secondary),
    );
    const more = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(customId("panel", "slowdefer"))
        .setLabel("Slow defer")
        .setStyle(ButtonStyle.Secondary),
    );
    const select = new ActionRowBuilder<StringSelectMenuBuilder>().addComponents(
      new StringSelectMenuBuilder()
        .setCustomId(customId("panel", "pick"))
        .addOptions({ label: "A", value: "a" }, { label: "B", value: "b" }),
    );
    await interaction.reply({ content: "panel", components: [buttons, select, more] });
  },
  async component(interaction, ctx) {
    const { action, args } = parseCustomId(interaction.customId);
    ctx.calls.push(`component:${action}`);
    if (action === "slowupdate") {
      await sleep(STALL_MS);
      await interaction.update({ content: "updated after a while" });
      return;
    }
    if (action === "slowdefer") {
      await sleep(STALL_MS);
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await interaction.editReply({ content: "worked on it privately" });
      return;
    }
    if (action === "slowreply") {
      await sleep(STALL_MS);
      await interaction.reply({ content: "private note", flags: MessageFlags.Ephemeral });
      return;
    }
    if (action === "ask") {
      const input = new TextInputBuilder()
        .setCustomId("note")
        .setLabel("Note")
        .setStyle(TextInputStyle.Short);
      await interaction.showModal(
        new ModalBuilder()
          .setCustomId(customId("panel", "form", args[0] ?? ""))
          .setTitle("Form")
          .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input)),
      );
      return;
    }
    const detail = interaction.isStringSelectMenu() ? interaction.values.join(",") : args.join(",");
    await interaction.reply({ content: `${action} ${detail}`, flags: MessageFlags.Ephemeral });
  },
  async modal(interaction) {
    const { args } = parseCustomId(interaction.customId);
    await interaction.reply({ content: `form ${args[0]}: ${interaction.fields.getTextInputValue("note")}` });
  },
};

const slow: TestCommand = {
  data: new SlashCommandBuilder().setName("slow").setDescription("Takes its time"),
  async execute(interaction, ctx) {
    await interaction.deferReply();
    await ctx.gate;
    await interaction.editReply({ content: "finished" });
  },
};

/** Longer than the tests' `deferAfterMs` (150 ms), far below Discord's 3 s (the fake enforces it). */
const STALL_MS = 500;

/** node-redis's command timeout: a class of that name with no message. */
class TimeoutError extends Error {}

/** Handlers slower than the acknowledgement deadline, as when a storage read hangs. */
const stall: TestCommand = {
  data: new SlashCommandBuilder()
    .setName("stall")
    .setDescription("Slow handlers")
    .addSubcommand((s) => s.setName("reply").setDescription("Replies late"))
    .addSubcommand((s) => s.setName("public").setDescription("Defers publicly late, then edits"))
    .addSubcommand((s) => s.setName("storage").setDescription("A storage error after a while"))
    .addSubcommand((s) => s.setName("storage-now").setDescription("A storage error at once"))
    .addSubcommand((s) => s.setName("redis-timeout").setDescription("node-redis times out"))
    .addSubcommand((s) => s.setName("silent").setDescription("Returns late without answering"))
    .addSubcommand((s) => s.setName("form").setDescription("Opens a form late")),
  async execute(interaction) {
    if (!interaction.isChatInputCommand()) return;
    const sub = interaction.options.getSubcommand();
    if (sub === "storage-now") throw new StorageError("Redis GET failed: TimeoutError");
    await sleep(STALL_MS);
    switch (sub) {
      case "reply":
        await interaction.reply({ content: "late answer", flags: MessageFlags.Ephemeral });
        return;
      case "public":
        await interaction.deferReply();
        await interaction.editReply({ content: "edited after a public defer" });
        return;
      case "storage":
        throw new StorageError("Redis GET failed: TimeoutError", { cause: new TimeoutError() });
      case "redis-timeout":
        throw new TimeoutError();
      case "form":
        await interaction.showModal(
          new ModalBuilder()
            .setCustomId(customId("stall", "form"))
            .setTitle("Form")
            .addComponents(
              new ActionRowBuilder<TextInputBuilder>().addComponents(
                new TextInputBuilder().setCustomId("x").setLabel("X").setStyle(TextInputStyle.Short),
              ),
            ),
        );
        return;
      default:
        return;
    }
  },
};

/** Registered with Discord but gone from the code: what users hit after a deployment removed it. */
const ghost = new SlashCommandBuilder().setName("ghost").setDescription("Removed command").toJSON();

type LogLine = Record<string, unknown> & { level: number; msg: string };

describe("dispatcher with the real discord.js client and the fake Discord", () => {
  const registry = createRegistry([echo, fail, panel, slow, stall]);
  let env: ClientAndFake;
  let lines: LogLine[];
  let ctx: TestCtx;
  let release: () => void;
  let dispatcher: Dispatcher;
  let tasks: Promise<void>[];

  function useDispatcher(overrides: Partial<DispatcherOptions<TestCtx>> = {}): Dispatcher {
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)) as LogLine);
        cb();
      },
    });
    const logger = createLogger({ level: "debug", destination });
    dispatcher = createDispatcher({ registry, ctx, logger, autocompleteBudgetMs: 200, ...overrides });
    return dispatcher;
  }

  /** Every handle() started so far has finished (and logged). */
  const settled = () => Promise.all(tasks);

  /** The one "interaction" line for an interaction id; fails when there are zero or several. */
  function lineFor(interactionId: string): LogLine {
    const matching = lines.filter((l) => l.msg === "interaction" && l.interaction === interactionId);
    expect(matching).toHaveLength(1);
    return matching[0]!;
  }

  const isEphemeral = (m: FakeMessage) => (m.flags & MessageFlags.Ephemeral) !== 0;

  beforeAll(async () => {
    // The client's default keeps answers from pinging, as createDiscordClient sets it (client.test.ts).
    env = await startClientAndFake({}, { allowedMentions: { parse: [] } });
    env.client.on("interactionCreate", (interaction) => {
      tasks.push(dispatcher.handle(interaction));
    });
    const result = await syncCommands({
      rest: env.client.rest,
      applicationId: env.client.application!.id,
      guildId: env.fake.fixtures.guild.id,
      definitions: [...registry.definitions(), ghost],
      state: { get: async () => undefined, set: async () => undefined },
      logger: createLogger({ level: "silent" }),
    });
    expect(result).toMatchObject({ changed: true, count: 6 });
  });
  afterAll(async () => {
    await env?.close();
  });
  beforeEach(() => {
    lines = [];
    tasks = [];
    ctx = {
      calls: [],
      gate: new Promise<void>((resolve) => (release = resolve)),
      guildSettings: { get: async () => ({ requests: {} }) },
      voice: { status: () => undefined },
    };
    useDispatcher();
  });
  afterEach(async () => {
    release();
    await settled();
    expect(env.fake.internalErrors).toEqual([]);
  });

  it("registered the definitions with the fake through syncCommands", () => {
    const names = env.fake.registeredCommands(env.fake.fixtures.guild.id).map((c) => c.name);
    expect(names.sort()).toEqual(["echo", "fail", "ghost", "panel", "slow", "stall"]);
  });

  it("routes a slash command to execute, passes ctx, and its reply arrives", async () => {
    const handle = env.fake.dispatchCommand({ name: "echo", options: { text: "hello" } });
    const reply = await handle.waitForResponse();
    expect(reply.content).toBe("echo: hello");
    expect(ctx.calls).toEqual(["echo:hello"]);
    await settled();
    const line = lineFor(handle.id);
    expect(line).toMatchObject({
      level: 30,
      kind: "command",
      command: "echo",
      guild: env.fake.fixtures.guild.id,
      channel: env.fake.fixtures.channels.text.id,
      user: env.fake.fixtures.users.member.id,
      outcome: "ok",
    });
    expect(line.latencyMs).toEqual(expect.any(Number));
  });

  it("answers a plain Error ephemerally with the generic message and logs it with context", async () => {
    const handle = env.fake.dispatchCommand({ name: "fail plain" });
    const reply = await handle.waitForResponse();
    expect(reply.content).toBe(GENERIC_ERROR_MESSAGE);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.allowed_mentions).toEqual({ parse: [] });
    await settled();
    const line = lineFor(handle.id);
    expect(line).toMatchObject({
      level: 50,
      kind: "command",
      command: "fail",
      subcommand: "plain",
      guild: env.fake.fixtures.guild.id,
      channel: env.fake.fixtures.channels.text.id,
      user: env.fake.fixtures.users.member.id,
      outcome: "error",
      err: { message: "database exploded" },
    });
    // The stack goes to the log, never to the user.
    expect(String((line.err as { stack: string }).stack)).toContain("dispatcher.test.ts");
  });

  it("edits the deferred reply with a UserFacingError's message, without pings", async () => {
    const handle = env.fake.dispatchCommand({ name: "fail user" });
    const reply = await handle.waitForResponse();
    expect(handle.ack?.type).toBe(5);
    expect(reply.id).toBe(handle.original()?.id);
    expect(reply.content).toBe("That voice does not exist <@&1>.");
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.allowed_mentions).toEqual({ parse: [] });
    expect(handle.followUps()).toEqual([]);
    await settled();
    expect(lineFor(handle.id)).toMatchObject({ level: 30, outcome: "user_error", subcommand: "user" });
  });

  it("answers a provider error with describeTtsError's sentence", async () => {
    const handle = env.fake.dispatchCommand({ name: "fail provider" });
    const reply = await handle.waitForResponse();
    const expected = describeTtsError(new RetryableError("x", { provider: "minimax", rateLimited: true }));
    expect(reply.content).toBe(expected);
    expect(isEphemeral(reply)).toBe(true);
    await settled();
    expect(lineFor(handle.id)).toMatchObject({ level: 40, outcome: "provider_error", err: { code: 1002 } });
  });

  it("tells the user something when a handler returns without answering", async () => {
    const handle = env.fake.dispatchCommand({ name: "fail silent" });
    expect((await handle.waitForResponse()).content).toBe(GENERIC_ERROR_MESSAGE);
    await settled();
    expect(lineFor(handle.id)).toMatchObject({
      outcome: "error",
      reason: "handler returned without answering",
    });
  });

  it("does not retry an answer Discord already gave up on (10062), and logs the failure", async () => {
    const handle = env.fake.dispatchCommand({ name: "fail late", ackTimeoutMs: 50 });
    await expect.poll(() => handle.callbacks.length).toBe(1);
    await settled();
    expect(handle.callbacks[0]).toMatchObject({ accepted: false, error: { code: 10062 } });
    expect(lineFor(handle.id)).toMatchObject({ outcome: "error", err: { code: 10062 } });
    expect(handle.callbacks).toHaveLength(1);
  });

  it("logs, and does not throw, when the error answer itself fails", async () => {
    env.fake.failNext({
      method: "POST",
      path: /^\/interactions\//,
      status: 404,
      json: { message: "Unknown interaction", code: 10062 },
    });
    const handle = env.fake.dispatchCommand({ name: "fail plain" });
    await expect.poll(() => tasks.length).toBe(1);
    await settled();
    const failed = lines.find((l) => l.msg === "could not answer the interaction");
    expect(failed).toMatchObject({ level: 40, interaction: handle.id, err: { code: 10062 } });
    expect(lineFor(handle.id)).toMatchObject({ outcome: "error" });
  });

  it("answers a command that is no longer in the code", async () => {
    const handle = env.fake.dispatchCommand({ name: "ghost" });
    const reply = await handle.waitForResponse();
    expect(reply.content).toBe(UNAVAILABLE_MESSAGE);
    expect(isEphemeral(reply)).toBe(true);
    await settled();
    expect(lineFor(handle.id)).toMatchObject({
      command: "ghost",
      outcome: "rejected",
      reason: "unknown_command",
    });
  });

  describe("autocomplete", () => {
    it("routes to the command's autocomplete", async () => {
      const handle = env.fake.dispatchAutocomplete({
        name: "echo",
        focused: "text",
        options: { text: "hel" },
      });
      expect(await handle.waitForAck()).toEqual([{ name: "HEL", value: "hel" }]);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({
        kind: "autocomplete",
        command: "echo",
        option: "text",
        outcome: "ok",
      });
    });

    it("sends an empty list, and no message, when the handler throws", async () => {
      const handle = env.fake.dispatchAutocomplete({
        name: "echo",
        focused: "text",
        options: { text: "boom" },
      });
      expect(await handle.waitForAck()).toEqual([]);
      await settled();
      expect(handle.callbacks).toHaveLength(1);
      expect(lineFor(handle.id)).toMatchObject({
        kind: "autocomplete",
        outcome: "error",
        err: { message: "suggestion backend down" },
      });
    });

    it("sends an empty list when the handler overruns its time budget", async () => {
      const handle = env.fake.dispatchAutocomplete({
        name: "echo",
        focused: "text",
        options: { text: "slow" },
      });
      expect(await handle.waitForAck()).toEqual([]);
      expect(handle.ackMs).toBeLessThan(550);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "error", reason: "timed out" });
      // The late handler finds the interaction answered and sends nothing more.
      await sleep(600);
      expect(handle.callbacks).toHaveLength(1);
    });
  });

  describe("components and modals", () => {
    async function showPanel(): Promise<FakeMessage> {
      const handle = env.fake.dispatchCommand({ name: "panel" });
      return handle.waitForResponse();
    }

    it("routes a button by the command prefix of its custom id", async () => {
      const message = await showPanel();
      const handle = env.fake.dispatchComponent({ customId: "panel:press:42", message });
      const reply = await handle.waitForResponse();
      expect(reply.content).toBe("press 42");
      expect(ctx.calls).toEqual(["component:press"]);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({
        kind: "component",
        command: "panel",
        customId: "panel:press:42",
        outcome: "ok",
      });
    });

    it("routes a string select the same way", async () => {
      const message = await showPanel();
      const handle = env.fake.dispatchComponent({ customId: "panel:pick", message, values: ["b"] });
      expect((await handle.waitForResponse()).content).toBe("pick b");
    });

    it("routes a modal submit to the command that showed it", async () => {
      const message = await showPanel();
      const ask = env.fake.dispatchComponent({ customId: "panel:ask:7", message });
      expect((await ask.waitForAck()).type).toBe(9);
      const submit = env.fake.dispatchModalSubmit({ customId: "panel:form:7", fields: { note: "hello" } });
      expect((await submit.waitForResponse()).content).toBe("form 7: hello");
      await settled();
      expect(lineFor(submit.id)).toMatchObject({ kind: "modal", command: "panel", customId: "panel:form:7" });
    });

    it("answers a button whose command is gone", async () => {
      const channel = env.client.channels.cache.get(env.fake.fixtures.channels.text.id);
      if (!channel?.isSendable()) throw new Error("text channel not cached");
      const sent = await channel.send({
        content: "old panel",
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId("vanished:press").setLabel("Old").setStyle(ButtonStyle.Primary),
          ),
        ],
      });
      const handle = env.fake.dispatchComponent({ customId: "vanished:press", message: sent.id });
      const reply = await handle.waitForResponse();
      expect(reply.content).toBe(UNAVAILABLE_CONTROL_MESSAGE);
      expect(isEphemeral(reply)).toBe(true);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ command: "vanished", outcome: "rejected" });
    });
  });

  describe("the 3-second window", () => {
    beforeEach(() => {
      useDispatcher({ deferAfterMs: 150 });
    });

    it("defers a slow command privately, and its later reply() edits the placeholder", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall reply" });
      const ack = await handle.waitForAck();
      expect(ack.type).toBe(5);
      expect(ack.ackMs).toBeLessThan(STALL_MS);
      const reply = await handle.waitForResponse();
      expect(reply.content).toBe("late answer");
      expect(reply.id).toBe(handle.original()?.id);
      expect(isEphemeral(reply)).toBe(true);
      expect(handle.followUps()).toEqual([]);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "ok", autoDeferred: true });
    });

    it("treats a late deferReply as done and lets its editReply land in the placeholder", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall public" });
      expect((await handle.waitForAck()).type).toBe(5);
      const reply = await handle.waitForResponse();
      expect(reply.content).toBe("edited after a public defer");
      expect(handle.callbacks).toHaveLength(1);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "ok", autoDeferred: true });
    });

    it("does not defer a handler that answers in time", async () => {
      const handle = env.fake.dispatchCommand({ name: "echo", options: { text: "quick" } });
      expect((await handle.waitForAck()).type).toBe(4);
      await sleep(250);
      expect(handle.callbacks).toHaveLength(1);
      await settled();
      expect(lineFor(handle.id).autoDeferred).toBeUndefined();
    });

    it("says storage is unavailable, in the deferred placeholder, and logs the error", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall storage" });
      expect((await handle.waitForAck()).type).toBe(5);
      const reply = await handle.waitForResponse();
      expect(reply.content).toBe(STORAGE_UNAVAILABLE_MESSAGE);
      expect(isEphemeral(reply)).toBe(true);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({
        level: 50,
        outcome: "storage_error",
        autoDeferred: true,
        err: { type: "StorageError", message: expect.stringContaining("Redis GET failed") },
      });
    });

    it("says storage is unavailable at once for a fast storage failure", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall storage-now" });
      const ack = await handle.waitForAck();
      expect(ack.type).toBe(4);
      expect((await handle.waitForResponse()).content).toBe(STORAGE_UNAVAILABLE_MESSAGE);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "storage_error" });
    });

    it("recognises a bare node-redis TimeoutError as a storage failure", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall redis-timeout" });
      expect((await handle.waitForResponse()).content).toBe(STORAGE_UNAVAILABLE_MESSAGE);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "storage_error" });
    });

    it("does not leave the member watching 'thinking…' when a deferred handler returns silently", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall silent" });
      expect((await handle.waitForAck()).type).toBe(5);
      expect((await handle.waitForResponse()).content).toBe(GENERIC_ERROR_MESSAGE);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({
        outcome: "error",
        reason: "handler returned without answering",
      });
    });

    it("asks to try again when a form would open after the deferral", async () => {
      const handle = env.fake.dispatchCommand({ name: "stall form" });
      expect((await handle.waitForResponse()).content).toBe(FORM_TOO_LATE_MESSAGE);
      expect(handle.callbacks.map((c) => c.type)).toEqual([5]);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "user_error" });
    });

    it("defers a slow button with deferUpdate, so its update() still edits the button's message", async () => {
      const message = await env.fake.dispatchCommand({ name: "panel" }).waitForResponse();
      const handle = env.fake.dispatchComponent({ customId: "panel:slowupdate", message });
      expect((await handle.waitForAck()).type).toBe(6);
      const edited = await handle.waitForResponse((m) => m.content === "updated after a while");
      expect(edited.id).toBe(message.id);
      expect(handle.followUps()).toEqual([]);
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ kind: "component", outcome: "ok", autoDeferred: true });
    });

    it("gives a slow button's own deferReply a follow-up placeholder that its editReply fills", async () => {
      const message = await env.fake.dispatchCommand({ name: "panel" }).waitForResponse();
      const handle = env.fake.dispatchComponent({ customId: "panel:slowdefer", message });
      expect((await handle.waitForAck()).type).toBe(6);
      const note = await handle.waitForResponse((m) => m.content === "worked on it privately");
      expect(note.id).not.toBe(message.id);
      expect(isEphemeral(note)).toBe(true);
      expect(handle.followUps().map((m) => m.id)).toEqual([note.id]);
      expect(env.fake.message(message.id)?.content).toBe("panel");
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "ok", autoDeferred: true });
    });

    it("turns a slow button's reply() into a private follow-up, leaving the message alone", async () => {
      const message = await env.fake.dispatchCommand({ name: "panel" }).waitForResponse();
      const handle = env.fake.dispatchComponent({ customId: "panel:slowreply", message });
      expect((await handle.waitForAck()).type).toBe(6);
      const note = await handle.waitForResponse((m) => m.content === "private note");
      expect(note.id).not.toBe(message.id);
      expect(isEphemeral(note)).toBe(true);
      expect(env.fake.message(message.id)?.content).toBe("panel");
      await settled();
      expect(lineFor(handle.id)).toMatchObject({ outcome: "ok", autoDeferred: true });
    });
  });

  it("logs exactly one interaction line per interaction, with latency from the injected clock", async () => {
    let clock = 1000;
    useDispatcher({ now: () => (clock += 25) });
    // One at a time, so each handle() reads the clock exactly at its start and at its end.
    const a = env.fake.dispatchCommand({ name: "echo", options: { text: "a" } });
    await a.waitForResponse();
    await settled();
    const b = env.fake.dispatchCommand({ name: "fail plain" });
    await b.waitForResponse();
    await settled();
    const c = env.fake.dispatchAutocomplete({ name: "echo", focused: "text", options: { text: "c" } });
    await c.waitForAck();
    await settled();
    const interactionLines = lines.filter((l) => l.msg === "interaction");
    expect(interactionLines.map((l) => [l.interaction, l.kind, l.outcome, l.latencyMs])).toEqual([
      [a.id, "command", "ok", 25],
      [b.id, "command", "error", 25],
      [c.id, "autocomplete", "ok", 25],
    ]);
  });

  describe("graceful shutdown", () => {
    it("lets a running handler finish while new interactions hear that the bot is restarting", async () => {
      const running = env.fake.dispatchCommand({ name: "slow" });
      await running.waitForAck();
      expect(dispatcher.inFlight()).toBe(1);

      dispatcher.stopAccepting();
      let drained = false;
      const drain = dispatcher.drain(5000).then(() => {
        drained = true;
      });

      const late = env.fake.dispatchCommand({ name: "echo", options: { text: "late" } });
      const refusal = await late.waitForResponse();
      expect(refusal.content).toBe(RESTARTING_MESSAGE);
      expect(isEphemeral(refusal)).toBe(true);
      const suggest = env.fake.dispatchAutocomplete({
        name: "echo",
        focused: "text",
        options: { text: "x" },
      });
      expect(await suggest.waitForAck()).toEqual([]);
      expect(ctx.calls).toEqual([]);

      await sleep(50);
      expect(drained).toBe(false);
      release();
      await drain;
      expect((await running.waitForResponse()).content).toBe("finished");
      expect(dispatcher.inFlight()).toBe(0);
      expect(lineFor(running.id)).toMatchObject({ command: "slow", outcome: "ok" });
      expect(lineFor(late.id)).toMatchObject({ outcome: "rejected", reason: "shutting_down" });
      expect(lineFor(suggest.id)).toMatchObject({ kind: "autocomplete", outcome: "rejected" });
      expect(lines.some((l) => l.msg.includes("abandoning"))).toBe(false);
    });

    it("stops waiting at the timeout and says how many handlers were abandoned", async () => {
      const running = env.fake.dispatchCommand({ name: "slow" });
      await running.waitForAck();
      const started = performance.now();
      await dispatcher.drain(100);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(dispatcher.inFlight()).toBe(1);
      expect(lines.find((l) => l.msg.includes("abandoning"))).toMatchObject({ level: 40, abandoned: 1 });
    });

    it("drains at once when nothing is running", async () => {
      await dispatcher.drain(10_000);
      expect(dispatcher.inFlight()).toBe(0);
    });
  });
});
