import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import { controlledSession } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("leave")
  .setDescription("Leave the voice channel and clear the queue")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId, status } = controlledSession(interaction, ctx.voice);
  ctx.voice.leave(guildId);
  await interaction.reply({ content: `Left <#${status.voiceChannelId}>.`, allowedMentions: NO_PINGS });
}
