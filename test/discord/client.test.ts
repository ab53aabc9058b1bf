import { once } from "node:events";
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type Client,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscordClient } from "../../src/discord/client.ts";
import { syncCommands } from "../../src/discord/register-commands.ts";
import { createLogger } from "../../src/logger.ts";
import { type FakeDiscord, type FakeMessage, startFakeDiscord } from "../fakes/discord/index.ts";

/**
 * Handlers send echoed user text without an `allowedMentions` of their own: the client's default
 * (`{ parse: [] }`, set in createDiscordClient) is what keeps it from pinging. discord.js applies that
 * default to interaction replies, edits, follow-ups, component updates and channel sends; this checks
 * each against the fake Discord, which records `allowed_mentions` and computes who would be pinged.
 */

let fake: FakeDiscord;
let client: Client;

beforeAll(async () => {
  fake = await startFakeDiscord();
  client = createDiscordClient({ apiUrl: fake.apiUrl });
  const ready = once(client, "clientReady");
  await client.login(fake.botToken);
  await ready;
  await syncCommands({
    rest: client.rest,
    applicationId: client.application!.id,
    guildId: fake.fixtures.guild.id,
    definitions: [
      new SlashCommandBuilder()
        .setName("echo")
        .setDescription("Repeats text")
        .addStringOption((o) => o.setName("text").setDescription("Text").setRequired(true))
        .toJSON(),
    ],
    state: { get: async () => undefined, set: async () => undefined },
    logger: createLogger({ level: "silent" }),
  });
  client.on("interactionCreate", async (interaction) => {
    if (interaction.isChatInputCommand()) {
      const text = interaction.options.getString("text", true);
      const button = new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId("echo:again").setLabel("Again").setStyle(ButtonStyle.Secondary),
      );
      await interaction.deferReply();
      await interaction.editReply({ content: `edited: ${text}`, components: [button] });
      await interaction.followUp({ content: `follow-up: ${text}`, flags: MessageFlags.Ephemeral });
      if (interaction.channel?.isSendable()) await interaction.channel.send(`sent: ${text}`);
    } else if (interaction.isButton()) {
      await interaction.update({ content: `updated: ${interaction.message.content}` });
      await interaction.followUp(`clicked: ${interaction.message.content}`);
    }
  });
});
afterAll(async () => {
  await client?.destroy();
  await fake?.close();
});

function expectSilent(message: FakeMessage): void {
  expect(message.allowed_mentions).toEqual({ parse: [] });
  expect(message.mentions_everyone).toBe(false);
  expect(message.mentions).toEqual([]);
}

describe("the client's default allowed mentions", () => {
  it("reach every way a handler answers with a user's text", async () => {
    const member = fake.fixtures.users.member.id;
    const role = fake.fixtures.roles.admin.id;
    const text = `@everyone @here <@${member}> <@&${role}>`;
    const handle = fake.dispatchCommand({ name: "echo", options: { text } });
    const edited = await handle.waitForResponse((m) => m.content.startsWith("edited:"));
    const followUp = await handle.waitForResponse((m) => m.content.startsWith("follow-up:"));
    const sent = await fake.waitForMessage((m) => m.content === `sent: ${text}`);
    for (const message of [edited, followUp, sent]) {
      expect(message.content).toContain(text);
      expectSilent(message);
    }

    const click = fake.dispatchComponent({ customId: "echo:again", message: edited });
    const clicked = await click.waitForResponse((m) => m.content.startsWith("clicked:"));
    expectSilent(clicked);
    const updated = fake.message(edited.id)!;
    expect(updated.content).toBe(`updated: edited: ${text}`);
    expectSilent(updated);
  });
});
