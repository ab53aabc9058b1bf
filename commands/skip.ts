import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS, replyEphemeral } from "../src/discord/reply.ts";
import { assertMayControl, requireGuild } from "../src/discord/voice-controls.ts";

export const data = new SlashCommandBuilder()
  .setName("skip")
  .setDescription("Skip what is playing in voice now")
  .setContexts(InteractionContextType.Guild);

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = requireGuild(interaction);
  const status = ctx.voice.status(guildId);
  if (!status?.nowPlaying) {
    await replyEphemeral(interaction, "Nothing is playing.");
    return;
  }
  assertMayControl(interaction, status);
  const skipped = ctx.voice.skip(guildId);
  const next = status.upcoming.length;
  await interaction.reply({
    content: `⏭️ Skipped ${skipped ? `"${skipped.label}"` : "the clip"}.${next > 0 ? ` ${next} left in the queue.` : ""}`,
    allowedMentions: NO_PINGS,
  });
}
