import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  type Guild,
  type MessageContextMenuCommandInteraction,
  PermissionFlagsBits,
  type RepliableInteraction,
  type VoiceBasedChannel,
} from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";
import type { VoiceService, VoiceStatus } from "../voice/voice-service.ts";
import { customId } from "./command.ts";

/** The voice channel the member who ran the interaction is in, from the gateway's voice states. */
export function callerVoiceChannel(
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction | RepliableInteraction,
): VoiceBasedChannel | undefined {
  if (!interaction.inCachedGuild()) return undefined;
  return interaction.member.voice.channel ?? undefined;
}

/** The one voice channel with humans in it, when there is exactly one. */
export function onlyOccupiedVoiceChannel(guild: Guild): VoiceBasedChannel | undefined {
  const occupied = new Map<string, VoiceBasedChannel>();
  for (const state of guild.voiceStates.cache.values()) {
    const bot = state.member?.user.bot ?? state.id === guild.client.user.id;
    if (state.channel && !bot) occupied.set(state.channel.id, state.channel);
  }
  return occupied.size === 1 ? [...occupied.values()][0] : undefined;
}

export function requireGuild(interaction: RepliableInteraction): string {
  if (!interaction.guildId)
    throw new UserFacingError("Voice commands work in servers, not in direct messages.");
  return interaction.guildId;
}

/**
 * The guild's voice session for a control command (leave, stop, skip), refusing when there is none or
 * when the member may not control it.
 */
export function controlledSession(
  interaction: RepliableInteraction,
  voice: Pick<VoiceService, "status">,
): { guildId: string; status: VoiceStatus } {
  const guildId = requireGuild(interaction);
  const status = voice.status(guildId);
  if (!status) throw new UserFacingError("I am not in a voice channel.");
  assertMayControl(interaction, status);
  return { guildId, status };
}

/**
 * Skip, stop and leave act on what everyone in the channel hears: members listening there may use
 * them, and so may moderators (Move Members) from anywhere.
 */
export function assertMayControl(interaction: RepliableInteraction, status: VoiceStatus): void {
  if (interaction.memberPermissions?.has(PermissionFlagsBits.MoveMembers)) return;
  if (callerVoiceChannel(interaction)?.id === status.voiceChannelId) return;
  throw new UserFacingError(
    `Only members in <#${status.voiceChannelId}> (or with Move Members) can control what I play there.`,
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
