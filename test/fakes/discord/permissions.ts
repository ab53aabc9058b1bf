/**
 * Discord permission bits and the documented computation of a member's permissions in a channel
 * (base role permissions → ADMINISTRATOR → @everyone / role / member overwrites → implicit rules).
 * The fake keeps its own table on purpose: borrowing the client library's constants would hide a
 * mismatch between the bot's expectations and the platform's.
 */

export const PERMISSIONS = {
  CreateInstantInvite: 1n << 0n,
  KickMembers: 1n << 1n,
  BanMembers: 1n << 2n,
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  ManageGuild: 1n << 5n,
  AddReactions: 1n << 6n,
  ViewAuditLog: 1n << 7n,
  PrioritySpeaker: 1n << 8n,
  Stream: 1n << 9n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  SendTTSMessages: 1n << 12n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ViewGuildInsights: 1n << 19n,
  Connect: 1n << 20n,
  Speak: 1n << 21n,
  MuteMembers: 1n << 22n,
  DeafenMembers: 1n << 23n,
  MoveMembers: 1n << 24n,
  UseVAD: 1n << 25n,
  ChangeNickname: 1n << 26n,
  ManageNicknames: 1n << 27n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  ManageGuildExpressions: 1n << 30n,
  UseApplicationCommands: 1n << 31n,
  RequestToSpeak: 1n << 32n,
  ManageEvents: 1n << 33n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  UseExternalStickers: 1n << 37n,
  SendMessagesInThreads: 1n << 38n,
  UseEmbeddedActivities: 1n << 39n,
  ModerateMembers: 1n << 40n,
  ViewCreatorMonetizationAnalytics: 1n << 41n,
  UseSoundboard: 1n << 42n,
  CreateGuildExpressions: 1n << 43n,
  CreateEvents: 1n << 44n,
  UseExternalSounds: 1n << 45n,
  SendVoiceMessages: 1n << 46n,
  SendPolls: 1n << 49n,
  UseExternalApps: 1n << 50n,
  PinMessages: 1n << 51n,
  BypassSlowmode: 1n << 52n,
} as const;

export type PermissionName = keyof typeof PERMISSIONS;

/** A bigint, a decimal string, a flag name (`"AttachFiles"` or `"ATTACH_FILES"`), or a list of those. */
export type PermissionInput = bigint | number | string | ReadonlyArray<bigint | number | string>;

export const ALL_PERMISSIONS: bigint = Object.values(PERMISSIONS).reduce((a, b) => a | b, 0n);

const byNormalizedName = new Map<string, bigint>(
  Object.entries(PERMISSIONS).map(([name, bit]) => [name.toLowerCase(), bit]),
);

export function resolvePermissions(input: PermissionInput | undefined): bigint {
  if (input === undefined) return 0n;
  if (typeof input === "bigint") return input;
  if (typeof input === "number") return BigInt(input);
  if (typeof input === "string") {
    if (/^\d+$/.test(input)) return BigInt(input);
    const bit = byNormalizedName.get(input.replaceAll("_", "").toLowerCase());
    if (bit === undefined) throw new Error(`fake discord: unknown permission name ${JSON.stringify(input)}`);
    return bit;
  }
  return input.reduce<bigint>((acc, item) => acc | resolvePermissions(item), 0n);
}

export function has(perms: bigint, bit: bigint): boolean {
  return (perms & bit) === bit;
}

export function permissionNames(perms: bigint): PermissionName[] {
  return (Object.keys(PERMISSIONS) as PermissionName[]).filter((name) => has(perms, PERMISSIONS[name]));
}

const P = PERMISSIONS;

/** What a new server's @everyone role gets (Discord's defaults, including MENTION_EVERYONE). */
export const DEFAULT_EVERYONE_PERMISSIONS: bigint =
  P.CreateInstantInvite |
  P.AddReactions |
  P.Stream |
  P.ViewChannel |
  P.SendMessages |
  P.SendTTSMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.MentionEveryone |
  P.UseExternalEmojis |
  P.Connect |
  P.Speak |
  P.UseVAD |
  P.ChangeNickname |
  P.UseApplicationCommands |
  P.RequestToSpeak |
  P.CreatePublicThreads |
  P.CreatePrivateThreads |
  P.UseExternalStickers |
  P.SendMessagesInThreads |
  P.UseEmbeddedActivities |
  P.UseSoundboard |
  P.CreateGuildExpressions |
  P.CreateEvents |
  P.UseExternalSounds |
  P.SendVoiceMessages |
  P.SendPolls |
  P.UseExternalApps;

/** The managed role a bot gets when invited with the permissions a TTS bot asks for. */
export const DEFAULT_BOT_ROLE_PERMISSIONS: bigint =
  P.ViewChannel |
  P.SendMessages |
  P.SendMessagesInThreads |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.AddReactions |
  P.UseExternalEmojis |
  P.Connect |
  P.Speak |
  P.UseVAD |
  P.SendVoiceMessages;

export const DEFAULT_ADMIN_ROLE_PERMISSIONS: bigint = P.Administrator | P.ManageGuild;

export interface Overwrite {
  /** Role or member id. */
  id: string;
  /** 0 role, 1 member. */
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface PermissionSubject {
  guildId: string;
  ownerId: string;
  /** Role id → permissions; the @everyone role has the guild's id. */
  rolePermissions: Map<string, bigint>;
}

export function basePermissions(subject: PermissionSubject, userId: string, memberRoles: string[]): bigint {
  if (userId === subject.ownerId) return ALL_PERMISSIONS;
  let perms = subject.rolePermissions.get(subject.guildId) ?? 0n;
  for (const roleId of memberRoles) perms |= subject.rolePermissions.get(roleId) ?? 0n;
  if (has(perms, P.Administrator)) return ALL_PERMISSIONS;
  return perms;
}

const TEXT_CHANNEL_TYPES = new Set([0, 2, 5, 10, 11, 12, 13, 15, 16]);

/**
 * Channel-level permissions, following the documented algorithm, then the implicit rules: without
 * VIEW_CHANNEL nothing is granted; in text channels, without SEND_MESSAGES the member also lacks
 * MENTION_EVERYONE, SEND_TTS_MESSAGES, ATTACH_FILES and EMBED_LINKS.
 */
export function channelPermissions(
  subject: PermissionSubject,
  userId: string,
  memberRoles: string[],
  channelType: number,
  overwrites: readonly Overwrite[],
): bigint {
  const base = basePermissions(subject, userId, memberRoles);
  if (has(base, P.Administrator)) return ALL_PERMISSIONS;
  let perms = base;
  const everyone = overwrites.find((o) => o.type === 0 && o.id === subject.guildId);
  if (everyone) perms = (perms & ~everyone.deny) | everyone.allow;
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.type === 0 && o.id !== subject.guildId && memberRoles.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  perms = (perms & ~deny) | allow;
  const own = overwrites.find((o) => o.type === 1 && o.id === userId);
  if (own) perms = (perms & ~own.deny) | own.allow;
  if (!has(perms, P.ViewChannel)) return 0n;
  if (TEXT_CHANNEL_TYPES.has(channelType) && !has(perms, P.SendMessages)) {
    perms &= ~(P.MentionEveryone | P.SendTTSMessages | P.AttachFiles | P.EmbedLinks);
  }
  return perms;
}
