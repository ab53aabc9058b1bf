import {
  ApplicationIntegrationType,
  AttachmentBuilder,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { actorOf, callerVoiceChannel, interactionDeadline, isPersonalUse } from "../src/discord/actor.ts";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { queuedMessage } from "../src/discord/job-status.ts";
import { deferWhile, showProgress } from "../src/discord/reply.ts";
import {
  addFormatOption,
  addVoiceSettingOptions,
  completeVoiceOrLanguage,
  parseOptions,
  readVoiceSettingOptions,
} from "../src/discord/speech-options.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { onlyOccupiedVoiceChannel, playAndReply } from "../src/discord/voice-controls.ts";
import { groupForMessages } from "../src/speak/fit-attachments.ts";
import {
  MAX_SPEAK_TEXT,
  SPEAK_FORMATS,
  type SpeakOptions,
  SpeakOptionsSchema,
} from "../src/speak/speak-options.ts";

const data = addFormatOption(
  addVoiceSettingOptions(
    new SlashCommandBuilder()
      .setName("speak")
      .setDescription("Turn text into natural speech")
      // Also a member's own app: in DMs, group DMs and servers without the bot (their own budget).
      .setIntegrationTypes(ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall)
      .setContexts(
        InteractionContextType.Guild,
        InteractionContextType.BotDM,
        InteractionContextType.PrivateChannel,
      )
      .addStringOption((o) =>
        o.setName("text").setDescription("What to say").setRequired(true).setMaxLength(MAX_SPEAK_TEXT),
      ),
  ),
  SPEAK_FORMATS,
)
  .addBooleanOption((o) => o.setName("private").setDescription("Only you see the result"))
  .addBooleanOption((o) => o.setName("play").setDescription("Also play it in your voice channel"));

function readOptions(interaction: ChatInputCommandInteraction): SpeakOptions {
  const o = interaction.options;
  return parseOptions(SpeakOptionsSchema, {
    text: o.getString("text", true),
    ...readVoiceSettingOptions(interaction),
    format: o.getString("format") ?? undefined,
    private: o.getBoolean("private") ?? undefined,
    play: o.getBoolean("play") ?? undefined,
  });
}

/** Outside servers the bot can neither join voice nor post messages, so it answers through the interaction. */
const PERSONAL_PLAY_MESSAGE =
  "I can play speech only in the voice channels of servers that have added me. Here, leave out `play` to get the audio.";

/**
 * In a server that has the bot: its settings and budgets. Elsewhere (DMs, group DMs, a member's own
 * install in another server): the member's own budget and cooldown, answered through the interaction.
 */
async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const options = readOptions(interaction);
  const personal = isPersonalUse(interaction);
  if (personal) {
    await speakPersonally(interaction, ctx, options);
    return;
  }
  const notes: string[] = [];
  if (options.play) {
    if (await playInVoice(interaction, ctx, options)) return;
    notes.push("Join a voice channel to hear it there; here is the audio.");
  }
  const check = ctx.speak.precheck(options);
  if (check.kind === "long") {
    await narrateInstead(interaction, ctx, options);
    return;
  }
  // Acknowledged at once (Discord gives 3 s) while the synthesis already starts. Voice messages are
  // posted as channel messages, so the acknowledgement itself stays private.
  const ephemeral = options.private === true || options.format === "voice";
  const result = await deferWhile(interaction, ephemeral, () =>
    ctx.speak.speak({
      actor: actorOf(interaction),
      deadline: interactionDeadline(interaction),
      options,
      attachmentSizeLimit: uploadLimit(interaction.attachmentSizeLimit),
      // A wait in line for the synthesis rate limit is shown in the deferred reply (place, estimate).
      notifyWaiting: (text) => showProgress(interaction, text),
    }),
  );
  if (result.kind === "long") {
    await narrateInstead(interaction, ctx, options);
    return;
  }
  if (result.voiceMessage) {
    const vm = result.voiceMessage;
    const attachment = new AttachmentBuilder(vm.ogg, {
      name: vm.file.name,
      duration: vm.durationSecs,
      waveform: vm.waveform,
    });
    const channel = interaction.channel;
    if (!result.plan.ephemeral && channel?.isSendable()) {
      try {
        await channel.send({ files: [attachment], flags: MessageFlags.IsVoiceMessage });
        await interaction.editReply([result.caption, ...notes].join("\n"));
        return;
      } catch (err) {
        ctx.logger.warn(
          { err, channel: interaction.channelId },
          "could not post a voice message; sending a file",
        );
        notes.push("I could not post a voice message here (missing permission?), so here is the audio file.");
      }
    } else if (result.plan.ephemeral) {
      notes.push("Voice messages cannot be private, so here is the audio file.");
    }
    await interaction.editReply({
      content: [result.caption, ...notes].join("\n"),
      files: [new AttachmentBuilder(vm.ogg, { name: vm.file.name })],
    });
    return;
  }

  const [first = [], ...rest] = groupForMessages(result.files);
  await interaction.editReply({
    content: [result.caption, ...notes].join("\n"),
    files: first.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
  });
  for (const group of rest) {
    await interaction.followUp({
      files: group.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
      ...(result.plan.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
  }
}

/**
 * Outside servers: no voice playback, no narration job (its result could not be posted here, and the
 * interaction token that could carry it lives 15 minutes), no channel messages (the bot may not post in
 * a DM between members): the answer and its files are the interaction's own reply and follow-ups.
 */
async function speakPersonally(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  options: SpeakOptions,
): Promise<void> {
  if (options.play) throw new UserFacingError(PERSONAL_PLAY_MESSAGE);
  const check = ctx.speak.precheck(options);
  if (check.kind === "long") {
    throw new UserFacingError(
      `That text has ${check.chars} characters; outside servers I speak at most ${check.limit} at once. ` +
        "Shorten it, or use /narrate in a server that has added me for long texts.",
    );
  }
  const ephemeral = options.private === true;
  await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  const result = await ctx.speak.speak({
    actor: actorOf(interaction),
    deadline: interactionDeadline(interaction),
    options,
    attachmentSizeLimit: uploadLimit(interaction.attachmentSizeLimit),
    notifyWaiting: (text) => showProgress(interaction, text),
  });
  if (result.kind === "long") throw new UserFacingError("That text is too long to speak here.");
  const notes: string[] = [];
  let files = result.files;
  if (result.voiceMessage) {
    // A voice message is a channel message of its own, which the bot cannot post here.
    notes.push("Voice messages cannot be sent here, so here is the audio file.");
    files = [{ ...result.voiceMessage.file }];
  }
  const [first = [], ...rest] = groupForMessages(files);
  await interaction.editReply({
    content: [result.caption, ...notes].join("\n"),
    files: first.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
  });
  for (const group of rest) {
    await interaction.followUp({
      files: group.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
      ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
  }
}

/**
 * `play:true`: into the caller's voice channel (joining it if needed); for a caller outside voice, the
 * channel the bot already speaks in, or the only voice channel with people in it. False when there is
 * no such channel, so the audio is posted instead.
 */
async function playInVoice(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  options: SpeakOptions,
): Promise<boolean> {
  if (!interaction.inCachedGuild()) return false;
  const current = ctx.voice.status(interaction.guildId);
  // Not in voice yourself: where the bot already speaks, or else the one channel people are in.
  const target =
    callerVoiceChannel(interaction) ?? (current ? undefined : onlyOccupiedVoiceChannel(interaction.guild));
  const voiceChannelId = target?.id ?? current?.voiceChannelId;
  if (!voiceChannelId) return false;
  await playAndReply(interaction, ctx, {
    voiceChannelId,
    join: target,
    ephemeral: options.private === true,
    playing: "Speaking",
    speech: { kind: "voice", options },
  });
  return true;
}

/** A text too long for one synchronous request becomes a narration job, posted when it is ready. */
async function narrateInstead(
  interaction: ChatInputCommandInteraction,
  ctx: BotContext,
  options: SpeakOptions,
): Promise<void> {
  if (!interaction.deferred) await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const { text, private: _private, play: _play, ...settings } = options;
  const format = settings.format === "flac" ? "flac" : "mp3";
  const job = await ctx.narration.start({
    kind: "long-speak",
    actor: actorOf(interaction),
    channelId: interaction.channelId,
    text,
    options: { ...settings, format },
    uploadLimit: uploadLimit(interaction.attachmentSizeLimit),
  });
  const note = settings.format && settings.format !== format ? ` Long texts come as ${format}.` : "";
  await interaction.editReply(
    `That text is long, so it will be narrated as a job and posted in this channel when ready.${note}\n${queuedMessage(job)}`,
  );
}

export default {
  data,
  execute,
  autocomplete: completeVoiceOrLanguage,
} satisfies CommandModule;
