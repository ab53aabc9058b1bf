import {
  type APIInteractionGuildMember,
  type GuildMember,
  type Interaction,
  PermissionFlagsBits,
  type VoiceBasedChannel,
} from "discord.js";
import type { Actor } from "../speak/planner.ts";

/**
 * Who is acting, as the interaction says at this moment: the member's roles and permissions in the
 * server the interaction comes from (and only that one). Every access decision below `src/discord`
 * takes this instead of a discord.js object.
 */
export function actorOf(interaction: Interaction): Actor & { isModerator: boolean } {
  const perms = interaction.memberPermissions;
  return {
    userId: interaction.user.id,
    guildId: interaction.guildId,
    roleIds: roleIdsOf(interaction.member),
    isManager: perms?.has(PermissionFlagsBits.ManageGuild) ?? false,
    // Narration jobs: Manage Messages where the command runs, which counts for that server's jobs only.
    isModerator: perms?.has(PermissionFlagsBits.ManageMessages) ?? false,
  };
}

export function roleIdsOf(member: GuildMember | APIInteractionGuildMember | null | undefined): string[] {
  if (!member) return [];
  return Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
}

/** The voice channel the member who ran the interaction is in, from the gateway's voice states. */
export function callerVoiceChannel(interaction: Interaction): VoiceBasedChannel | undefined {
  if (!interaction.inCachedGuild()) return undefined;
  return interaction.member.voice.channel ?? undefined;
}

/** Discord's interaction token lives 15 minutes; keep a little for the final edit. */
const TOKEN_LIFETIME_MS = 15 * 60_000;
const FINAL_EDIT_MARGIN_MS = 30_000;

/**
 * When work for this interaction must have finished (ms epoch): an answer after it could not be
 * posted, so the provider must not be paid for it.
 */
export function interactionDeadline(interaction: Interaction): number {
  return interaction.createdTimestamp + TOKEN_LIFETIME_MS - FINAL_EDIT_MARGIN_MS;
}
