import { once } from "node:events";
import { Writable } from "node:stream";
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  type Client,
  MessageFlags,
  ModalBuilder,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AccessContext, permissionName } from "../../src/discord/access.ts";
import { createDiscordClient } from "../../src/discord/client.ts";
import { type CommandModule, customId, parseCustomId } from "../../src/discord/command.ts";
import { createDispatcher } from "../../src/discord/dispatcher.ts";
import { syncCommands } from "../../src/discord/register-commands.ts";
import { createRegistry } from "../../src/discord/registry.ts";
import { createLogger } from "../../src/logger.ts";
import { type FakeDiscord, type FakeMessage, startFakeDiscord } from "../fakes/discord/index.ts";

/**
 * Access declarations, enforced by the dispatcher for every kind of interaction before the handler
 * runs, with the production client against the fake Discord.
 */

interface Ctx extends AccessContext {
  calls: string[];
}

let moderatorRoleId: string | undefined;
let botVoiceChannel: string | undefined;
/** How long reading the server's settings takes (a slow storage). */
let settingsDelayMs = 0;

const guarded: CommandModule<ChatInputCommandInteraction, Ctx> = {
  data: new SlashCommandBuilder()
    .setName("guarded")
    .setDescription("Declares access")
    .addSubcommand((s) => s.setName("open").setDescription("Anyone in a server"))
    .addSubcommand((s) =>
      s
        .setName("manage")
        .setDescription("Needs Manage Server")
        .addStringOption((o) => o.setName("word").setDescription("A word").setAutocomplete(true)),
    )
    .addSubcommand((s) => s.setName("control").setDescription("In the bot's voice channel")),
  access: {
    guildOnly: true,
    subcommands: {
      manage: { permissions: ["ManageGuild"] },
      control: { inBotVoiceChannel: true },
    },
    components: { approve: { moderator: true } },
    modals: { approve: { moderator: true } },
  },
  async execute(interaction, ctx) {
    const sub = interaction.options.getSubcommand(true);
    ctx.calls.push(`execute:${sub}`);
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(customId("guarded", "approve", 1))
        .setLabel("Approve")
        .setStyle(ButtonStyle.Success),
      new ButtonBuilder()
        .setCustomId(customId("guarded", "upvote", 1))
        .setLabel("Upvote")
        .setStyle(ButtonStyle.Secondary),
    );
    await interaction.reply({ content: `ran ${sub}`, components: [row] });
  },
  async autocomplete(interaction, ctx) {
    ctx.calls.push("autocomplete");
    await interaction.respond([{ name: "secret", value: "secret" }]);
  },
  async component(interaction, ctx) {
    const { action, args } = parseCustomId(interaction.customId);
    ctx.calls.push(`component:${action}`);
    if (action === "approve") {
      await interaction.showModal(
        new ModalBuilder()
          .setCustomId(customId("guarded", "approve", args[0] ?? ""))
          .setTitle("Approve")
          .addComponents(
            new ActionRowBuilder<TextInputBuilder>().addComponents(
              new TextInputBuilder()
                .setCustomId("note")
                .setLabel("Note")
                .setStyle(TextInputStyle.Short)
                .setRequired(false),
            ),
          ),
      );
      return;
    }
    await interaction.reply({ content: `did ${action}`, flags: MessageFlags.Ephemeral });
  },
  async modal(interaction, ctx) {
    ctx.calls.push("modal");
    await interaction.reply({ content: "approved", flags: MessageFlags.Ephemeral });
  },
};

const registry = createRegistry([guarded]);
const ctx: Ctx = {
  calls: [],
  guildSettings: {
    get: async () => {
      if (settingsDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, settingsDelayMs));
      return { requests: { moderatorRoleId } };
    },
  },
  voice: { status: () => (botVoiceChannel ? { voiceChannelId: botVoiceChannel } : undefined) },
};
let fake: FakeDiscord;
let client: Client;
let tasks: Promise<void>[] = [];
const lines: Record<string, unknown>[] = [];

const isEphemeral = (m: FakeMessage) => (m.flags & MessageFlags.Ephemeral) !== 0;

beforeAll(async () => {
  fake = await startFakeDiscord({
    roles: [{ key: "mods", name: "Mods" }],
    users: [{ key: "mod", username: "mod", roles: ["mods"] }],
  });
  client = createDiscordClient({ apiUrl: fake.apiUrl });
  const ready = once(client, "clientReady");
  await client.login(fake.botToken);
  await ready;
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  const dispatcher = createDispatcher({
    registry,
    ctx,
    logger: createLogger({ level: "debug", destination }),
    deferAfterMs: 150,
  });
  client.on("interactionCreate", (interaction) => {
    tasks.push(dispatcher.handle(interaction));
  });
  await syncCommands({
    rest: client.rest,
    applicationId: client.application!.id,
    // Global, so it can be used in direct messages too.
    guildId: undefined,
    definitions: registry.definitions(),
    state: { get: async () => undefined, set: async () => undefined },
    logger: createLogger({ level: "silent" }),
  });
});
afterAll(async () => {
  await client?.destroy();
  await fake?.close();
});
beforeEach(async () => {
  await Promise.all(tasks);
  tasks = [];
  lines.length = 0;
  ctx.calls.length = 0;
  moderatorRoleId = fake.fixtures.roles.mods!.id;
  botVoiceChannel = undefined;
  settingsDelayMs = 0;
});

const admin = () => fake.fixtures.users.admin.id;
const member = () => fake.fixtures.users.member.id;
const mod = () => fake.fixtures.users.mod!.id;

async function run(sub: string, user: string, guildId?: string | null): Promise<FakeMessage> {
  return fake.dispatchCommand({ name: "guarded", subcommand: sub, user, guildId }).waitForResponse();
}

/** The one "interaction" log line of the last interaction. */
async function lastLine(): Promise<Record<string, unknown> | undefined> {
  await Promise.all(tasks);
  return lines.filter((l) => l.msg === "interaction").at(-1);
}

describe("declared access", () => {
  it("lets a member use what needs nothing more than a server", async () => {
    expect((await run("open", member())).content).toBe("ran open");
    expect(ctx.calls).toEqual(["execute:open"]);
  });

  it("refuses a subcommand's permission privately, naming it, before the handler runs", async () => {
    const reply = await run("manage", member());
    expect(reply.content).toBe("You need the Manage Server permission to use /guarded manage.");
    expect(isEphemeral(reply)).toBe(true);
    expect(ctx.calls).toEqual([]);
    expect(await lastLine()).toMatchObject({ outcome: "rejected", reason: "access: permissions" });
    expect((await run("manage", admin())).content).toBe("ran manage");
  });

  it("refuses direct messages for a guildOnly command", async () => {
    const reply = await run("open", member(), null);
    expect(reply.content).toBe("/guarded open works in servers only, not in direct messages.");
    expect(ctx.calls).toEqual([]);
  });

  it("gives autocomplete an empty list, without calling the handler, when the subcommand is refused", async () => {
    const suggest = (user: string) =>
      fake
        .dispatchAutocomplete({
          name: "guarded",
          subcommand: "manage",
          user,
          options: { word: "s" },
          focused: "word",
        })
        .waitForAck();
    expect(await suggest(member())).toEqual([]);
    expect(ctx.calls).toEqual([]);
    expect(await suggest(admin())).toEqual([{ name: "secret", value: "secret" }]);
  });

  it("holds a button's action to its rule, and leaves the other actions open", async () => {
    const card = await run("open", admin());
    const click = (action: string, user: string) =>
      fake
        .dispatchComponent({ customId: `guarded:${action}:1`, message: card, user })
        .waitForResponse((m) => m.content.length > 0);
    const refused = await click("approve", member());
    expect(refused.content).toBe(
      `Only moderators can use this button: it takes the Manage Server permission or the <@&${moderatorRoleId}> role.`,
    );
    expect(isEphemeral(refused)).toBe(true);
    expect((await click("upvote", member())).content).toBe("did upvote");
    expect(ctx.calls).toEqual(["execute:open", "component:upvote"]);
  });

  it("counts the server's moderator role, and checks the form again when it is submitted", async () => {
    const card = await run("open", admin());
    const click = fake.dispatchComponent({ customId: "guarded:approve:1", message: card, user: mod() });
    expect((await click.waitForAck()).type).toBe(9);
    // The role stops being the moderator role before the form comes back.
    moderatorRoleId = undefined;
    const submitted = await fake
      .dispatchModalSubmit({ customId: "guarded:approve:1", user: mod(), fields: { note: "ok" } })
      .waitForResponse();
    expect(submitted.content).toMatch(
      /^Only moderators can use this form: it takes the Manage Server permission \(/,
    );
    expect(ctx.calls).toEqual(["execute:open", "component:approve"]);
  });

  it("checks within Discord's 3 seconds: a slow settings read is deferred, the refusal fills the placeholder", async () => {
    const card = await run("open", admin());
    settingsDelayMs = 500;
    const click = fake.dispatchComponent({ customId: "guarded:approve:1", message: card, user: member() });
    const refused = await click.waitForResponse((m) => m.content.length > 0);
    expect(click.ack?.type).toBe(6); // deferUpdate: the card stays as it was
    expect(refused.content).toMatch(/^Only moderators can use this button/);
    expect(isEphemeral(refused)).toBe(true);
    expect(await lastLine()).toMatchObject({ outcome: "rejected", autoDeferred: true });
  });

  it("lets members in the bot's voice channel, or with Move Members, control what it plays", async () => {
    const voice = fake.fixtures.channels.voice.id;
    expect((await run("control", member())).content).toBe("I am not in a voice channel.");
    botVoiceChannel = voice;
    expect((await run("control", member())).content).toBe(
      `Only members in <#${voice}> (or with Move Members) can control what I play there.`,
    );
    // Administrator includes Move Members.
    expect((await run("control", admin())).content).toBe("ran control");
    fake.setVoiceState(member(), voice);
    const guild = client.guilds.cache.get(fake.fixtures.guild.id)!;
    await expect.poll(() => guild.voiceStates.cache.get(member())?.channelId, { timeout: 5000 }).toBe(voice);
    expect((await run("control", member())).content).toBe("ran control");
    fake.setVoiceState(member(), null);
  });
});

describe("permissionName", () => {
  it("uses Discord's names", () => {
    expect(permissionName("ManageGuild")).toBe("Manage Server");
    expect(permissionName("MoveMembers")).toBe("Move Members");
    expect(permissionName("SendTTSMessages")).toBe("Send Text-to-Speech Messages");
  });
});
