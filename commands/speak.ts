import {
  AttachmentBuilder,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { actorOf, interactionDeadline } from "../src/discord/actor.ts";
import { UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { queuedMessage } from "../src/discord/job-status.ts";
import { assertCanSpeakIn } from "../src/discord/permissions.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import {
  addVoiceSettingOptions,
  completeVoiceOrLanguage,
  invalidOptionError,
  readVoiceSettingOptions,
} from "../src/discord/speech-options.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { callerVoiceChannel, onlyOccupiedVoiceChannel } from "../src/discord/voice-controls.ts";
import { groupForMessages } from "../src/speak/fit-attachments.ts";
import { GUILD_ONLY_MESSAGE } from "../src/speak/planner.ts";
import { MAX_SPEAK_TEXT, type SpeakOptions, SpeakOptionsSchema } from "../src/speak/speak-options.ts";

export const data = addVoiceSettingOptions(
  new SlashCommandBuilder()
    .setName("speak")
    .setDescription("Turn text into natural speech")
    .setContexts(InteractionContextType.Guild)
    .addStringOption((o) =>
      o.setName("text").setDescription("What to say").setRequired(true).setMaxLength(MAX_SPEAK_TEXT),
    ),
)
  .addStringOption((o) =>
    o
      .setName("format")
      .setDescription("Audio format (default mp3)")
      .addChoices(
        { name: "mp3", value: "mp3" },
        { name: "wav", value: "wav" },
        { name: "flac", value: "flac" },
        { name: "voice message", value: "voice" },
      ),
  )
  .addBooleanOption((o) => o.setName("private").setDescription("Only you see the result"))
  .addBooleanOption((o) => o.setName("play").setDescription("Also play it in your voice channel"));

function readOptions(interaction: ChatInputCommandInteraction): SpeakOptions {
  const o = interaction.options;
  const raw = {
    text: o.getString("text", true),
    ...readVoiceSettingOptions(interaction),
    format: o.getString("format") ?? undefined,
    private: o.getBoolean("private") ?? undefined,
    play: o.getBoolean("play") ?? undefined,
  };
  const parsed = SpeakOptionsSchema.safeParse(raw);
  if (!parsed.success) throw invalidOptionError(parsed.error);
  return parsed.data;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const options = readOptions(interaction);
  // Budgets are per server: refused in DMs before anything else (the definition says so too).
  if (!interaction.guildId) throw new UserFacingError(GUILD_ONLY_MESSAGE);
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
  // Acknowledge before any I/O: Discord gives 3 s. Voice messages are posted as channel messages, so
  // the acknowledgement itself stays private.
  const ephemeral = options.private === true || options.format === "voice";
  await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});

  const result = await ctx.speak.speak({
    actor: actorOf(interaction),
    deadline: interactionDeadline(interaction),
    options,
    attachmentSizeLimit: uploadLimit(interaction.attachmentSizeLimit),
  });
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
        await channel.send({
          files: [attachment],
          flags: MessageFlags.IsVoiceMessage,
          allowedMentions: NO_PINGS,
        });
        await interaction.editReply({
          content: [result.caption, ...notes].join("\n"),
          allowedMentions: NO_PINGS,
        });
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
      allowedMentions: NO_PINGS,
    });
    return;
  }

  const [first = [], ...rest] = groupForMessages(result.files);
  await interaction.editReply({
    content: [result.caption, ...notes].join("\n"),
    files: first.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
    allowedMentions: NO_PINGS,
  });
  for (const group of rest) {
    await interaction.followUp({
      files: group.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
      allowedMentions: NO_PINGS,
      ...(result.plan.ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    });
  }
}

export const autocomplete = completeVoiceOrLanguage;

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
  const caller = callerVoiceChannel(interaction);
  // Not in voice yourself: where the bot already speaks, or else the one channel people are in.
  const target = caller ?? (current ? undefined : onlyOccupiedVoiceChannel(interaction.guild));
  const voiceChannelId = target?.id ?? current?.voiceChannelId;
  if (!voiceChannelId) return false;
  if (target) assertCanSpeakIn(target);
  await interaction.deferReply(options.private ? { flags: MessageFlags.Ephemeral } : {});
  const { position } = await ctx.playback.play({
    kind: "voice",
    actor: { ...actorOf(interaction), guildId: interaction.guildId },
    voiceChannelId,
    textChannelId: current?.textChannelId ?? interaction.channelId,
    options,
  });
  const where = `<#${voiceChannelId}>`;
  await interaction.editReply({
    content: position === 0 ? `🔊 Speaking in ${where}.` : `🔊 Queued in ${where}: #${position} in line.`,
    allowedMentions: NO_PINGS,
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
  await interaction.editReply({
    content: `That text is long, so it will be narrated as a job and posted in this channel when ready.${note}\n${queuedMessage(job)}`,
    allowedMentions: NO_PINGS,
  });
}
