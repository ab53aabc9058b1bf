import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { CommandModule } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { currentSession } from "../src/discord/voice-controls.ts";

const data = new SlashCommandBuilder()
  .setName("leave")
  .setDescription("Leave the voice channel and clear the queue")
  .setContexts(InteractionContextType.Guild);

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId, status } = currentSession(interaction, ctx.voice);
  ctx.voice.leave(guildId);
  await interaction.reply(`Left <#${status.voiceChannelId}>.`);
}

export default { data, access: { inBotVoiceChannel: true }, execute } satisfies CommandModule;
