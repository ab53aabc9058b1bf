import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import type { CommandModule } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { currentSession } from "../src/discord/voice-controls.ts";

const data = new SlashCommandBuilder()
  .setName("stop")
  .setDescription("Stop playing and clear the voice queue (I stay in the channel)")
  .setContexts(InteractionContextType.Guild);

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const { guildId } = currentSession(interaction, ctx.voice);
  const dropped = ctx.voice.stop(guildId);
  await interaction.reply(
    dropped > 0
      ? `⏹️ Stopped and cleared ${dropped} item${dropped === 1 ? "" : "s"}.`
      : "Nothing was playing.",
  );
}

export default { data, access: { inBotVoiceChannel: true }, execute } satisfies CommandModule;
