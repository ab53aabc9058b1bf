import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import { UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import { controlledSession } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("skip")
  .setDescription("Skip what is playing in voice now")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId, status } = controlledSession(interaction, ctx.voice);
  if (!status.nowPlaying) throw new UserFacingError("Nothing is playing.");
  const skipped = ctx.voice.skip(guildId);
  const next = status.upcoming.length;
  await interaction.reply({
    content: `⏭️ Skipped ${skipped ? `"${skipped.label}"` : "the clip"}.${next > 0 ? ` ${next} left in the queue.` : ""}`,
    allowedMentions: NO_PINGS,
  });
}
