import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import { assertMayControl, requireGuild } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("leave")
  .setDescription("Leave the voice channel and clear the queue")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  const status = ctx.voice.status(guildId);
  if (!status) {
    await replyEphemeral(interaction, "I am not in a voice channel.");
    return;
  }
  assertMayControl(interaction, status);
  ctx.voice.leave(guildId);
  await interaction.reply({ content: `Left <#${status.voiceChannelId}>.`, allowedMentions: { parse: [] } });
}
