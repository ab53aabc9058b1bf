import {
  ApplicationIntegrationType,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  type Interaction,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientAndFake, startClientAndFake } from "./test-client.ts";

/**
 * User-installed apps in the fake: interactions carry `context` and `authorizing_integration_owners`,
 * commands are offered only where their `integration_types` and `contexts` say, a group DM refuses the
 * bot's messages, and a user install gets at most five follow-ups.
 */

function nextInteraction(ctx: ClientAndFake): Promise<Interaction> {
  return new Promise((resolve) => ctx.client.once("interactionCreate", resolve));
}

const everywhere = new SlashCommandBuilder()
  .setName("everywhere")
  .setDescription("Offered to user installs in every context")
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall)
  .setContexts(
    InteractionContextType.Guild,
    InteractionContextType.BotDM,
    InteractionContextType.PrivateChannel,
  );
const serverOnly = new SlashCommandBuilder()
  .setName("server-only")
  .setDescription("Servers, server installs")
  .setContexts(InteractionContextType.Guild);

describe("fake discord: user-installed apps", () => {
  let ctx: ClientAndFake;
  beforeAll(async () => {
    ctx = await startClientAndFake();
    await ctx.client.application!.commands.set([everywhere.toJSON(), serverOnly.toJSON()]);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("refuses definitions with unknown installation types or contexts", async () => {
    const bad = { name: "bad", description: "bad", integration_types: [2], contexts: [0, 5] };
    const err = await ctx.client.rest
      .put(`/applications/${ctx.client.application!.id}/commands`, { body: [bad] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect((err as DiscordAPIError).code).toBe(50035);
    expect(JSON.stringify((err as DiscordAPIError).rawError)).toMatch(/integration_types.*contexts/);
  });

  it("offers a command only where integration_types and contexts say", () => {
    expect(() =>
      ctx.fake.dispatchCommand({
        name: "server-only",
        install: "user",
        guildId: null,
        context: "privateChannel",
      }),
    ).toThrow(/not offered there/);
    expect(() => ctx.fake.dispatchCommand({ name: "server-only", guildId: null })).toThrow(
      /not offered there/,
    );
    expect(() =>
      ctx.fake.dispatchCommand({ name: "everywhere", guildId: null, context: "privateChannel" }),
    ).toThrow(/only a user-installed app/);
  });

  it("tells the bot which installation authorised a group DM interaction, and refuses its channel messages there", async () => {
    const user = ctx.fake.fixtures.users.member.id;
    const received = nextInteraction(ctx);
    const handle = ctx.fake.dispatchCommand({
      name: "everywhere",
      user,
      install: "user",
      guildId: null,
      context: "privateChannel",
    });
    const interaction = (await received) as ChatInputCommandInteraction;
    expect(interaction.context).toBe(InteractionContextType.PrivateChannel);
    expect(interaction.authorizingIntegrationOwners.toJSON()).toEqual({
      [ApplicationIntegrationType.UserInstall]: user,
    });
    expect(interaction.authorizingIntegrationOwners[ApplicationIntegrationType.UserInstall]).toBe(user);
    expect(interaction.guildId).toBeNull();
    const post = await ctx.client.rest
      .post(`/channels/${interaction.channelId}/messages`, { body: { content: "hi" } })
      .catch((e: unknown) => e);
    expect((post as DiscordAPIError).code).toBe(50001);
    await interaction.reply({ content: "answered", flags: MessageFlags.Ephemeral });
    expect((await handle.waitForResponse()).content).toBe("answered");
  });

  it("allows a user install five follow-ups, not six", async () => {
    const received = nextInteraction(ctx);
    ctx.fake.dispatchCommand({ name: "everywhere", install: "user", guildId: null });
    const interaction = (await received) as ChatInputCommandInteraction;
    expect(interaction.context).toBe(InteractionContextType.BotDM);
    await interaction.reply("first");
    for (let i = 0; i < 5; i++) await interaction.followUp(`more ${i}`);
    const err = await interaction.followUp("one too many").catch((e: unknown) => e);
    expect((err as DiscordAPIError).code).toBe(40094);
  });
});
