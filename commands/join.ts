import { type ChatInputCommandInteraction, InteractionContextType, SlashCommandBuilder } from "discord.js";
import { guildIdOf } from "../src/discord/access.ts";
import { callerVoiceChannel } from "../src/discord/actor.ts";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { assertCanSpeakIn } from "../src/discord/permissions.ts";

const data = new SlashCommandBuilder()
  .setName("join")
  .setDescription("Join your voice channel; this text channel becomes the one I read from")
  .setContexts(InteractionContextType.Guild);

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const channel = callerVoiceChannel(interaction);
  if (!channel) throw new UserFacingError("Join a voice channel first, then run /join.");
  assertCanSpeakIn(channel);
  // Connecting can take longer than Discord's 3 s to answer.
  await interaction.deferReply();
  const { moved, already } = await ctx.voice.join({
    guildId,
    voiceChannelId: channel.id,
    textChannelId: interaction.channelId,
  });
  const lines = [
    already
      ? `I am already in <#${channel.id}>; <#${interaction.channelId}> is now the channel I read from.`
      : `${moved ? "Moved to" : "Joined"} <#${channel.id}>. Use /speak with play:true, or "Read aloud" on a message.`,
  ];
  const settings = await ctx.guildSettings.get(guildId);
  const reading = settings.reading;
  if (reading.autoRead && ctx.config.autoRead) {
    const where =
      reading.textInVoice && interaction.channelId !== channel.id
        ? `here and in <#${channel.id}>'s chat`
        : "here";
    const who = reading.requireVoice ? `from members in <#${channel.id}>` : "";
    lines.push(`Messages ${where} ${who} will be read aloud.`.replace(/\s+/g, " "));
  }
  await interaction.editReply(lines.join("\n"));
}

export default { data, access: { guildOnly: true }, execute } satisfies CommandModule;
