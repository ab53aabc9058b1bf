import {
  type APIInteractionGuildMember,
  ApplicationIntegrationType,
  type GuildMember,
  type Interaction,
  InteractionContextType,
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
    // Outside a server that installed the bot, the member's own budget applies (see isPersonalUse).
    guildId: isPersonalUse(interaction) ? null : interaction.guildId,
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

/**
 * True when the interaction does not come from a server that installed the bot: a DM with the bot, a
 * group DM or a DM between members (private channels, user installs only), or a server that never
 * added the bot where a member uses it as their own installed app. There the bot has no server
 * settings or budgets, cannot join voice, and (in private channels and foreign servers) cannot post
 * messages: it answers through the interaction only, on the member's own budget.
 */
export function isPersonalUse(interaction: Interaction): boolean {
  if (interaction.context === InteractionContextType.BotDM) return true;
  if (interaction.context === InteractionContextType.PrivateChannel) return true;
  if (!interaction.guildId) return true;
  // In a server: installed there when the guild install authorised this interaction. An interaction
  // that only the member's own install authorised comes from a server the bot is not part of.
  const owners = interaction.authorizingIntegrationOwners ?? {};
  const byUser = owners[ApplicationIntegrationType.UserInstall] !== undefined;
  const byGuild = owners[ApplicationIntegrationType.GuildInstall] === interaction.guildId;
  return byUser && !byGuild;
}
