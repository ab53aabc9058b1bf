import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import { controlledSession } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("stop")
  .setDescription("Stop playing and clear the voice queue (I stay in the channel)")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId } = controlledSession(interaction, ctx.voice);
  const dropped = ctx.voice.stop(guildId);
  await interaction.reply({
    content:
      dropped > 0
        ? `⏹️ Stopped and cleared ${dropped} item${dropped === 1 ? "" : "s"}.`
        : "Nothing was playing.",
    allowedMentions: NO_PINGS,
  });
}
