import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import { guildIdOf } from "../src/discord/access.ts";
import { type CommandModule, type ComponentInteraction, parseCustomId } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import { renderQueue } from "../src/discord/voice-controls.ts";

const data = new SlashCommandBuilder()
  .setName("queue")
  .setDescription("What is playing in voice and what comes next, with Skip and Stop buttons")
  .setContexts(InteractionContextType.Guild);

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await replyEphemeral(interaction, renderQueue(ctx.voice.status(guildIdOf(interaction))));
}

/** Skip, Stop and Refresh on the `/queue` view; the first two are access-checked like /skip and /stop. */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const { action } = parseCustomId(interaction.customId);
  const status = ctx.voice.status(guildId);
  if (status && (action === "skip" || action === "stop")) {
    if (action === "skip" && !status.nowPlaying) {
      await replyEphemeral(interaction, "Nothing is playing.");
      return;
    }
    if (action === "skip") ctx.voice.skip(guildId);
    else ctx.voice.stop(guildId);
  }
  await interaction.update(renderQueue(ctx.voice.status(guildId)));
}

export default {
  data,
  access: {
    guildOnly: true,
    components: { skip: { inBotVoiceChannel: true }, stop: { inBotVoiceChannel: true } },
  },
  execute,
  component,
} satisfies CommandModule;
