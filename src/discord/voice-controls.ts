import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  channelMention,
  type Guild,
  type MessageContextMenuCommandInteraction,
  MessageFlags,
  type RepliableInteraction,
  type VoiceBasedChannel,
} from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";
import type { PlaySpeechInput, SpeechPlayback } from "../voice/play-speech.ts";
import type { VoiceService, VoiceStatus } from "../voice/voice-service.ts";
import { guildIdOf, NOT_IN_VOICE_MESSAGE } from "./access.ts";
import { actorOf } from "./actor.ts";
import { customId } from "./command.ts";
import { assertCanSpeakIn } from "./permissions.ts";

/** The one voice channel with humans in it, when there is exactly one. */
export function onlyOccupiedVoiceChannel(guild: Guild): VoiceBasedChannel | undefined {
  const occupied = new Map<string, VoiceBasedChannel>();
  for (const state of guild.voiceStates.cache.values()) {
    const bot = state.member?.user.bot ?? state.id === guild.client.user.id;
    if (state.channel && !bot) occupied.set(state.channel.id, state.channel);
  }
  return occupied.size === 1 ? [...occupied.values()][0] : undefined;
}

/**
 * The server's voice session for a control command (skip, stop, leave), whose `inBotVoiceChannel`
 * access rule has already let the member through; refused when the bot left meanwhile.
 */
export function currentSession(
  interaction: RepliableInteraction,
  voice: Pick<VoiceService, "status">,
): { guildId: string; status: VoiceStatus } {
  const guildId = guildIdOf(interaction);
  const status = voice.status(guildId);
  if (!status) throw new UserFacingError(NOT_IN_VOICE_MESSAGE);
  return { guildId, status };
}

/**
 * Queues speech in a voice channel for the member and says where it stands: what `/speak play:true`
 * and "Read aloud" answer. `join` is the channel to enter (checked for the bot's permissions first);
 * without it, the channel the bot already speaks in.
 */
export async function playAndReply(
  interaction: ChatInputCommandInteraction<"cached"> | MessageContextMenuCommandInteraction<"cached">,
  deps: { voice: Pick<VoiceService, "status">; playback: SpeechPlayback },
  input: {
    voiceChannelId: string;
    join?: VoiceBasedChannel;
    ephemeral: boolean;
    /** "Speaking", "Reading it": what the reply says when it plays at once. */
    playing: string;
    speech: Pick<PlaySpeechInput, "kind" | "options" | "label">;
  },
): Promise<void> {
  if (input.join) assertCanSpeakIn(input.join);
  await interaction.deferReply(input.ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  const current = deps.voice.status(interaction.guildId);
  const { position, backlogSpeed } = await deps.playback.play({
    ...input.speech,
    actor: { ...actorOf(interaction), guildId: interaction.guildId },
    voiceChannelId: input.voiceChannelId,
    textChannelId: current?.textChannelId ?? interaction.channelId,
  });
  const where = channelMention(input.voiceChannelId);
  const faster = backlogSpeed === undefined ? "" : ` Played at ${backlogSpeed}× because the queue is long.`;
  await interaction.editReply(
    (position === 0 ? `🔊 ${input.playing} in ${where}.` : `🔊 Queued in ${where}: #${position} in line.`) +
      faster,
  );
}

function elapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

const SHOWN = 10;

/** The `/queue` view: what plays now, what follows, and buttons to skip or stop. */
export function renderQueue(status: VoiceStatus | undefined, now = Date.now()) {
  if (!status)
    return { content: "I am not in a voice channel. Use /join, or /speak with play:true.", components: [] };
  const lines = [`🔊 In <#${status.voiceChannelId}>${status.connected ? "" : " (connecting…)"}`];
  const playing = status.nowPlaying;
  if (playing) {
    lines.push(
      `**Now playing** (${elapsed(now - playing.startedAt)}) for <@${playing.item.userId}>: ${playing.item.label}`,
    );
  } else {
    lines.push("Nothing is playing.");
  }
  if (status.upcoming.length > 0) {
    lines.push("", `**Up next** (${status.upcoming.length}):`);
    status.upcoming.slice(0, SHOWN).forEach((item, i) => {
      lines.push(`${i + 1}. <@${item.userId}>: ${item.label}`);
    });
    if (status.upcoming.length > SHOWN) lines.push(`…and ${status.upcoming.length - SHOWN} more`);
  }
  const busy = playing !== undefined || status.upcoming.length > 0;
  const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(customId("queue", "skip"))
      .setLabel("Skip")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(!playing),
    new ButtonBuilder()
      .setCustomId(customId("queue", "stop"))
      .setLabel("Stop")
      .setStyle(ButtonStyle.Danger)
      .setDisabled(!busy),
    new ButtonBuilder()
      .setCustomId(customId("queue", "refresh"))
      .setLabel("Refresh")
      .setStyle(ButtonStyle.Secondary),
  );
  return { content: lines.join("\n"), components: [row] };
}
