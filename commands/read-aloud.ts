import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  AttachmentBuilder,
  ContextMenuCommandBuilder,
  InteractionContextType,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
} from "discord.js";
import { actorOf, callerVoiceChannel, interactionDeadline, isPersonalUse } from "../src/discord/actor.ts";
import { mentionNames } from "../src/discord/chat-message.ts";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { showProgress } from "../src/discord/reply.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { playAndReply } from "../src/discord/voice-controls.ts";
import { groupForMessages } from "../src/speak/fit-attachments.ts";
import { cleanForSpeech } from "../src/text/clean-text.ts";
import { previewLabel } from "../src/voice/play-speech.ts";
import { assertMayReadAloud } from "../src/voice/read-consent.ts";

/**
 * "Read aloud" on any message: played in the caller's voice channel when they are in one, otherwise
 * sent to them privately as audio. Message commands carry the message text themselves, so this needs
 * no Message Content intent. As a member's own app it also works in DMs and group DMs (and servers
 * without the bot): there it always answers privately with audio, on the member's own budget.
 */
const data = new ContextMenuCommandBuilder()
  .setName("Read aloud")
  .setType(ApplicationCommandType.Message)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall)
  .setContexts(
    InteractionContextType.Guild,
    InteractionContextType.BotDM,
    InteractionContextType.PrivateChannel,
  );

/** Longer than a chat line, shorter than a narration: past this, /narrate is the tool. */
const MAX_READ_CHARS = 2000;

async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void> {
  const message = interaction.targetMessage;
  const text = cleanForSpeech(message.content, {
    ...mentionNames(message, interaction.guild),
    maxChars: MAX_READ_CHARS,
    now: Date.now(),
  });
  if (!text) throw new UserFacingError("That message has no text I can read aloud.");
  await assertMayReadAloud(ctx.users, message.author.id, interaction.user.id);
  const author =
    (interaction.inCachedGuild() ? message.member?.displayName : undefined) ?? message.author.displayName;

  const personal = isPersonalUse(interaction);
  const channel = personal ? undefined : callerVoiceChannel(interaction);
  if (channel && interaction.inCachedGuild()) {
    await playAndReply(interaction, ctx, {
      voiceChannelId: channel.id,
      join: channel,
      ephemeral: true,
      playing: "Reading it",
      speech: {
        kind: "read-aloud",
        options: { text: `${author} said: ${text}` },
        label: previewLabel(`${author}: ${text}`),
      },
    });
    return;
  }

  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const result = await ctx.speak.speak({
    actor: actorOf(interaction),
    deadline: interactionDeadline(interaction),
    options: { text, format: "mp3", private: true },
    attachmentSizeLimit: uploadLimit(interaction.attachmentSizeLimit),
    notifyWaiting: (line) => showProgress(interaction, line),
  });
  if (result.kind === "long")
    throw new UserFacingError("That message is too long to read here. Try /narrate.");
  const [first = []] = groupForMessages(result.files);
  await interaction.editReply({
    content: personal
      ? result.caption
      : `${result.caption}\nJoin a voice channel to hear messages read there.`,
    files: first.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
  });
}

export default {
  data,
  execute,
} satisfies CommandModule<MessageContextMenuCommandInteraction>;
