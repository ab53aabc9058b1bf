import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { currentSession } from "../src/discord/voice-controls.ts";

const data = new SlashCommandBuilder()
  .setName("skip")
  .setDescription("Skip what is playing in voice now")
  .setContexts(InteractionContextType.Guild);

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId, status } = currentSession(interaction, ctx.voice);
  if (!status.nowPlaying) throw new UserFacingError("Nothing is playing.");
  const skipped = ctx.voice.skip(guildId);
  const next = status.upcoming.length;
  await interaction.reply(
    `⏭️ Skipped ${skipped ? `"${skipped.label}"` : "the clip"}.${next > 0 ? ` ${next} left in the queue.` : ""}`,
  );
}

export default { data, access: { inBotVoiceChannel: true }, execute } satisfies CommandModule;
