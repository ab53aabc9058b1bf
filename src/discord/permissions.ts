import {
  type ChatInputCommandInteraction,
  PermissionFlagsBits,
  type PermissionsBitField,
  type VoiceBasedChannel,
} from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";

/** What the bot needs in a channel to post narration status and results there. */
const POSTING = [
  ["View Channel", PermissionFlagsBits.ViewChannel],
  ["Send Messages", PermissionFlagsBits.SendMessages],
  ["Embed Links", PermissionFlagsBits.EmbedLinks],
  ["Attach Files", PermissionFlagsBits.AttachFiles],
] as const;

/** Names the permissions the bot lacks to post in `channelId`, before any work starts. */
export function assertCanPost(interaction: ChatInputCommandInteraction, channelId: string): void {
  let perms: Readonly<PermissionsBitField> | null | undefined;
  if (channelId === interaction.channelId) {
    perms = interaction.appPermissions;
  } else {
    const channel = interaction.guild?.channels.cache.get(channelId);
    const me = interaction.guild?.members.me;
    perms = channel && me ? channel.permissionsFor(me) : undefined;
  }
  // Outside a guild, or without cached data, Discord itself will tell; do not guess.
  if (!perms) return;
  const missing = POSTING.filter(([, bit]) => !perms.has(bit)).map(([name]) => name);
  if (missing.length > 0) {
    throw new UserFacingError(
      `I cannot post the narration in <#${channelId}>: I am missing ${missing.join(", ")} there. ` +
        "Ask a server admin to grant them, or pick another channel.",
    );
  }
}

/** What a member needs in a channel to have a narration posted there in their name. */
const MEMBER_POSTING = [
  ["View Channel", PermissionFlagsBits.ViewChannel],
  ["Send Messages", PermissionFlagsBits.SendMessages],
  ["Attach Files", PermissionFlagsBits.AttachFiles],
] as const;

/**
 * `/narrate channel:` posts with the bot's permissions, so the member's own are checked first: a
 * member must not reach, through the bot, a channel where they cannot post. Discord resolves the
 * member's permissions in the channel the command runs in (`memberPermissions`); elsewhere they are
 * computed from the cached channel overwrites, and refused when unknown.
 */
export function assertMemberCanPost(interaction: ChatInputCommandInteraction, channelId: string): void {
  let perms: Readonly<PermissionsBitField> | null | undefined;
  if (channelId === interaction.channelId) {
    perms = interaction.memberPermissions;
  } else if (interaction.inCachedGuild()) {
    const channel = interaction.guild.channels.cache.get(channelId);
    perms = channel ? channel.permissionsFor(interaction.member) : undefined;
  }
  if (!perms) {
    throw new UserFacingError(`I cannot tell whether you may post in <#${channelId}>; pick another channel.`);
  }
  const missing = MEMBER_POSTING.filter(([, bit]) => !perms.has(bit)).map(([name]) => name);
  if (missing.length > 0) {
    throw new UserFacingError(
      `You cannot have a narration posted in <#${channelId}>: you are missing ${missing.join(", ")} there.`,
    );
  }
}

/** What the bot needs in a voice channel to be heard there. */
const VOICE = [
  ["View Channel", PermissionFlagsBits.ViewChannel],
  ["Connect", PermissionFlagsBits.Connect],
  ["Speak", PermissionFlagsBits.Speak],
] as const;

/**
 * Names the voice permissions the bot lacks in `channel` (and a full channel it may not enter), so
 * the member learns why before the bot tries to join and stays silent.
 */
export function assertCanSpeakIn(channel: VoiceBasedChannel): void {
  const me = channel.guild.members.me;
  const perms = me ? channel.permissionsFor(me) : null;
  if (!perms) return;
  const missing = VOICE.filter(([, bit]) => !perms.has(bit)).map(([name]) => name);
  if (missing.length > 0) {
    throw new UserFacingError(
      `I cannot speak in <#${channel.id}>: I am missing ${missing.join(", ")} there. ` +
        "Ask a server admin to grant them, or use another voice channel.",
    );
  }
  const inChannel = me && channel.members.has(me.id);
  if (channel.full && !inChannel && !perms.has(PermissionFlagsBits.MoveMembers)) {
    throw new UserFacingError(`<#${channel.id}> is full, so I cannot join it.`);
  }
}
