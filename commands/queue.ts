import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type StringSelectMenuInteraction,
} from "discord.js";
import { parseCustomId } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS, replyEphemeral } from "../src/discord/reply.ts";
import { assertMayControl, renderQueue, requireGuild } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("queue")
  .setDescription("What is playing in voice and what comes next, with Skip and Stop buttons")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  await interaction.reply({
    ...renderQueue(ctx.voice.status(guildId)),
    flags: MessageFlags.Ephemeral,
    allowedMentions: NO_PINGS,
  });
}

export async function component(
  interaction: ButtonInteraction | StringSelectMenuInteraction,
  ctx: BotContext,
): Promise<void> {
  const guildId = requireGuild(interaction);
  const { action } = parseCustomId(interaction.customId);
  const status = ctx.voice.status(guildId);
  if (!status) {
    await interaction.update({ ...renderQueue(undefined), allowedMentions: NO_PINGS });
    return;
  }
  if (action === "skip" || action === "stop") {
    assertMayControl(interaction, status);
    if (action === "skip" && !status.nowPlaying) {
      await replyEphemeral(interaction, "Nothing is playing.");
      return;
    }
    if (action === "skip") ctx.voice.skip(guildId);
    else ctx.voice.stop(guildId);
  }
  await interaction.update({ ...renderQueue(ctx.voice.status(guildId)), allowedMentions: NO_PINGS });
}
