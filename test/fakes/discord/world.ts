import { createSnowflakeGenerator, randomHex } from "./ids.ts";
import {
  channelPermissions,
  DEFAULT_ADMIN_ROLE_PERMISSIONS,
  DEFAULT_BOT_ROLE_PERMISSIONS,
  DEFAULT_EVERYONE_PERMISSIONS,
  type Overwrite,
  type PermissionInput,
  type PermissionSubject,
  resolvePermissions,
} from "./permissions.ts";

/**
 * The fake's world: one application/bot, one guild with roles, channels, members and voice states,
 * plus DM channels. Plain data; `serialize.ts` turns it into Discord's JSON shapes.
 */

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  bot: boolean;
  /** When true, POST to this user's DM channel answers 50007. */
  dmsClosed: boolean;
}

export interface FakeMember {
  userId: string;
  roles: string[];
  nick: string | null;
  joinedAt: string;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  color: number;
  hoist: boolean;
  managed: boolean;
  mentionable: boolean;
  botId?: string;
}

export interface FakeChannel {
  id: string;
  /** 0 text, 1 DM, 2 voice, 4 category, 5 announcement, 13 stage, 15 forum. */
  type: number;
  name: string;
  position: number;
  parentId: string | null;
  topic: string | null;
  nsfw: boolean;
  bitrate?: number;
  userLimit?: number;
  rateLimitPerUser: number;
  overwrites: Overwrite[];
  /** Absent for DM channels. */
  guildId?: string;
  /** DM channels: the other user. */
  recipientId?: string;
  lastMessageId: string | null;
}

export interface FakeVoiceState {
  userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
  mute: boolean;
  deaf: boolean;
  suppress: boolean;
  selfVideo: boolean;
  selfStream: boolean;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  preferredLocale: string;
  premiumTier: number;
  systemChannelId: string | null;
  createdAt: string;
}

export interface World {
  nextId: () => string;
  applicationId: string;
  applicationName: string;
  botId: string;
  guild: FakeGuild;
  users: Map<string, FakeUser>;
  members: Map<string, FakeMember>;
  roles: Map<string, FakeRole>;
  channels: Map<string, FakeChannel>;
  voiceStates: Map<string, FakeVoiceState>;
}

export interface FixtureUser {
  id: string;
  username: string;
}
export interface FixtureRole {
  id: string;
  name: string;
}
export interface FixtureChannel {
  id: string;
  name: string;
  type: number;
}

/** Ids of everything the fake starts with; extra users/roles/channels appear under their `key`. */
export interface Fixtures {
  application: { id: string; name: string };
  bot: FixtureUser;
  guild: { id: string; name: string; ownerId: string };
  roles: { everyone: FixtureRole; admin: FixtureRole; bot: FixtureRole; [key: string]: FixtureRole };
  channels: {
    category: FixtureChannel;
    text: FixtureChannel;
    text2: FixtureChannel;
    voice: FixtureChannel;
    [key: string]: FixtureChannel;
  };
  users: { owner: FixtureUser; admin: FixtureUser; member: FixtureUser; [key: string]: FixtureUser };
}

export interface OverwriteSpec {
  /** Role or member id, or a fixture key (`"everyone"`, `"admin"`, `"bot"`, a user key…). */
  target: string;
  /** Whether `target` is a role or a member; guessed from the fixture key when omitted. */
  kind?: "role" | "member";
  allow?: PermissionInput;
  deny?: PermissionInput;
}

export interface ExtraUserOptions {
  key: string;
  username: string;
  globalName?: string;
  bot?: boolean;
  /** Not a guild member when false (default true). */
  member?: boolean;
  /** Role ids or fixture role keys. */
  roles?: string[];
  dmsClosed?: boolean;
}

export interface ExtraRoleOptions {
  key: string;
  name: string;
  permissions?: PermissionInput;
  mentionable?: boolean;
}

export interface ExtraChannelOptions {
  key: string;
  name: string;
  type?: number;
  /** Parent category: a channel key or id (default: the fixture category for text channels). */
  parent?: string | null;
  topic?: string;
  nsfw?: boolean;
  bitrate?: number;
  userLimit?: number;
  overwrites?: OverwriteSpec[];
  /** Shorthand for an overwrite on the bot's own member. */
  botAllow?: PermissionInput;
  botDeny?: PermissionInput;
}

export interface WorldOptions {
  guildName?: string;
  applicationName?: string;
  botUsername?: string;
  guildLocale?: string;
  everyonePermissions?: PermissionInput;
  botRolePermissions?: PermissionInput;
  adminRolePermissions?: PermissionInput;
  roles?: ExtraRoleOptions[];
  users?: ExtraUserOptions[];
  channels?: ExtraChannelOptions[];
  /** Per-channel overwrites for the bot's member, keyed by channel key or id. */
  botPermissionOverwrites?: Record<string, { allow?: PermissionInput; deny?: PermissionInput }>;
  /** Members already in voice at start: user key or id → channel key or id. */
  voiceStates?: Record<string, string>;
  /**
   * Several guilds of one bot (the sharded fleet fake): the shared bot/application id, where this
   * guild's fixture ids start (their timestamp decides the guild's shard) and the snowflake worker
   * that keeps runtime ids (messages, interactions) apart from the other guilds'.
   */
  fleetMember?: { botId: string; fixtureEpochMs: number; idWorker: number };
}

/** Fixture ids are deterministic: the same snowflakes in every run. */
export const FIXTURE_EPOCH_MS = Date.UTC(2024, 5, 1);

export function buildWorld(opts: WorldOptions = {}): { world: World; fixtures: Fixtures } {
  const fleet = opts.fleetMember;
  const fixtureId = createSnowflakeGenerator(fleet?.fixtureEpochMs ?? FIXTURE_EPOCH_MS);
  const nextId = createSnowflakeGenerator(undefined, fleet?.idWorker ?? 1);
  const botId = fleet?.botId ?? fixtureId();
  const guildId = fixtureId();
  const ownerId = fixtureId();
  const adminId = fixtureId();
  const memberId = fixtureId();
  const adminRoleId = fixtureId();
  const botRoleId = fixtureId();
  const categoryId = fixtureId();
  const textId = fixtureId();
  const text2Id = fixtureId();
  const voiceId = fixtureId();
  const joinedAt = new Date(FIXTURE_EPOCH_MS + 86_400_000).toISOString();

  const world: World = {
    nextId,
    applicationId: botId,
    applicationName: opts.applicationName ?? "TTS Bot",
    botId,
    guild: {
      id: guildId,
      name: opts.guildName ?? "Fake Guild",
      ownerId,
      preferredLocale: opts.guildLocale ?? "en-US",
      premiumTier: 0,
      systemChannelId: textId,
      createdAt: new Date(FIXTURE_EPOCH_MS).toISOString(),
    },
    users: new Map(),
    members: new Map(),
    roles: new Map(),
    channels: new Map(),
    voiceStates: new Map(),
  };

  const fixtures: Fixtures = {
    application: { id: botId, name: world.applicationName },
    bot: { id: botId, username: opts.botUsername ?? "TTS Bot" },
    guild: { id: guildId, name: world.guild.name, ownerId },
    roles: {
      everyone: { id: guildId, name: "@everyone" },
      admin: { id: adminRoleId, name: "Admin" },
      bot: { id: botRoleId, name: opts.botUsername ?? "TTS Bot" },
    },
    channels: {
      category: { id: categoryId, name: "Text Channels", type: 4 },
      text: { id: textId, name: "general", type: 0 },
      text2: { id: text2Id, name: "tts-output", type: 0 },
      voice: { id: voiceId, name: "Voice", type: 2 },
    },
    users: {
      owner: { id: ownerId, username: "owner" },
      admin: { id: adminId, username: "admin" },
      member: { id: memberId, username: "member" },
    },
  };

  const role = (r: Omit<FakeRole, "color" | "hoist" | "managed" | "mentionable"> & Partial<FakeRole>) =>
    world.roles.set(r.id, { color: 0, hoist: false, managed: false, mentionable: false, ...r });
  role({
    id: guildId,
    name: "@everyone",
    permissions: opts.everyonePermissions
      ? resolvePermissions(opts.everyonePermissions)
      : DEFAULT_EVERYONE_PERMISSIONS,
    position: 0,
  });
  role({
    id: adminRoleId,
    name: "Admin",
    permissions: opts.adminRolePermissions
      ? resolvePermissions(opts.adminRolePermissions)
      : DEFAULT_ADMIN_ROLE_PERMISSIONS,
    position: 2,
    hoist: true,
    color: 0xe74c3c,
  });
  role({
    id: botRoleId,
    name: fixtures.bot.username,
    permissions: opts.botRolePermissions
      ? resolvePermissions(opts.botRolePermissions)
      : DEFAULT_BOT_ROLE_PERMISSIONS,
    position: 1,
    managed: true,
    botId,
  });

  const user = (id: string, username: string, extra: Partial<FakeUser> = {}) =>
    world.users.set(id, { id, username, global_name: null, bot: false, dmsClosed: false, ...extra });
  user(botId, fixtures.bot.username, { bot: true });
  user(ownerId, "owner", { global_name: "Owner" });
  user(adminId, "admin", { global_name: "Admin" });
  user(memberId, "member", { global_name: "Member" });
  const member = (userId: string, roles: string[]) =>
    world.members.set(userId, { userId, roles, nick: null, joinedAt });
  member(botId, [botRoleId]);
  member(ownerId, []);
  member(adminId, [adminRoleId]);
  member(memberId, []);

  const channel = (c: Pick<FakeChannel, "id" | "type" | "name" | "position"> & Partial<FakeChannel>) =>
    world.channels.set(c.id, {
      parentId: null,
      topic: null,
      nsfw: false,
      rateLimitPerUser: 0,
      overwrites: [],
      guildId,
      lastMessageId: null,
      ...c,
    });
  channel({ id: categoryId, type: 4, name: "Text Channels", position: 0 });
  channel({ id: textId, type: 0, name: "general", position: 0, parentId: categoryId });
  channel({ id: text2Id, type: 0, name: "tts-output", position: 1, parentId: categoryId });
  channel({ id: voiceId, type: 2, name: "Voice", position: 2, bitrate: 64_000, userLimit: 0 });

  for (const extra of opts.roles ?? []) {
    const id = fixtureId();
    role({
      id,
      name: extra.name,
      permissions: resolvePermissions(extra.permissions ?? 0n),
      position: world.roles.size,
      mentionable: extra.mentionable ?? false,
    });
    fixtures.roles[extra.key] = { id, name: extra.name };
  }
  const roleRef = (ref: string): string => fixtures.roles[ref]?.id ?? ref;
  for (const extra of opts.users ?? []) {
    const id = fixtureId();
    user(id, extra.username, {
      global_name: extra.globalName ?? null,
      bot: extra.bot ?? false,
      dmsClosed: extra.dmsClosed ?? false,
    });
    if (extra.member !== false) member(id, (extra.roles ?? []).map(roleRef));
    fixtures.users[extra.key] = { id, username: extra.username };
  }
  const userRef = (ref: string): string =>
    ref === "bot" ? botId : (fixtures.users[ref]?.id ?? (ref === botId ? botId : ref));
  const overwriteOf = (spec: OverwriteSpec): Overwrite => {
    const roleId = fixtures.roles[spec.target]?.id;
    const isRole = spec.kind ? spec.kind === "role" : roleId !== undefined || world.roles.has(spec.target);
    return {
      id: isRole ? (roleId ?? spec.target) : userRef(spec.target),
      type: isRole ? 0 : 1,
      allow: resolvePermissions(spec.allow ?? 0n),
      deny: resolvePermissions(spec.deny ?? 0n),
    };
  };
  for (const extra of opts.channels ?? []) {
    const id = fixtureId();
    const type = extra.type ?? 0;
    const parentRef = extra.parent === undefined ? (type === 0 ? categoryId : null) : extra.parent;
    const overwrites = (extra.overwrites ?? []).map(overwriteOf);
    if (extra.botAllow !== undefined || extra.botDeny !== undefined) {
      overwrites.push({
        id: botId,
        type: 1,
        allow: resolvePermissions(extra.botAllow ?? 0n),
        deny: resolvePermissions(extra.botDeny ?? 0n),
      });
    }
    channel({
      id,
      type,
      name: extra.name,
      position: world.channels.size,
      parentId: parentRef === null ? null : (fixtures.channels[parentRef]?.id ?? parentRef),
      topic: extra.topic ?? null,
      nsfw: extra.nsfw ?? false,
      overwrites,
      ...(type === 2 || type === 13
        ? { bitrate: extra.bitrate ?? 64_000, userLimit: extra.userLimit ?? 0 }
        : {}),
    });
    fixtures.channels[extra.key] = { id, name: extra.name, type };
  }
  const channelRef = (ref: string): string => fixtures.channels[ref]?.id ?? ref;
  for (const [ref, spec] of Object.entries(opts.botPermissionOverwrites ?? {})) {
    setMemberOverwrite(world, channelRef(ref), botId, spec.allow, spec.deny);
  }
  for (const [userKey, channelKey] of Object.entries(opts.voiceStates ?? {})) {
    const userId = userRef(userKey);
    const channelId = channelRef(channelKey);
    if (!world.members.has(userId)) throw new Error(`fake discord: voice state for non-member ${userKey}`);
    if (!world.channels.has(channelId)) throw new Error(`fake discord: unknown voice channel ${channelKey}`);
    world.voiceStates.set(userId, newVoiceState(userId, channelId));
  }
  return { world, fixtures };
}

export function newVoiceState(userId: string, channelId: string): FakeVoiceState {
  return {
    userId,
    channelId,
    sessionId: randomHex(16),
    selfMute: false,
    selfDeaf: false,
    mute: false,
    deaf: false,
    suppress: false,
    selfVideo: false,
    selfStream: false,
  };
}

/** Replaces (or with both empty, removes) the member overwrite of `userId` on a channel. */
export function setMemberOverwrite(
  world: World,
  channelId: string,
  userId: string,
  allow: PermissionInput | undefined,
  deny: PermissionInput | undefined,
): FakeChannel {
  const channel = world.channels.get(channelId);
  if (!channel) throw new Error(`fake discord: unknown channel ${channelId}`);
  channel.overwrites = channel.overwrites.filter((o) => !(o.type === 1 && o.id === userId));
  const a = resolvePermissions(allow ?? 0n);
  const d = resolvePermissions(deny ?? 0n);
  if (a !== 0n || d !== 0n) channel.overwrites.push({ id: userId, type: 1, allow: a, deny: d });
  return channel;
}

export function permissionSubject(world: World): PermissionSubject {
  return {
    guildId: world.guild.id,
    ownerId: world.guild.ownerId,
    rolePermissions: new Map([...world.roles.values()].map((r) => [r.id, r.permissions])),
  };
}

/** A user's permissions in a channel (DMs: what Discord grants in DMs). */
export function permissionsIn(world: World, userId: string, channelId: string): bigint {
  const channel = world.channels.get(channelId);
  if (!channel) return 0n;
  if (channel.guildId === undefined) {
    // DM channels: view/send/history/attach/embed/mention/external emojis/reactions/voice messages.
    return (
      (1n << 10n) |
      (1n << 11n) |
      (1n << 16n) |
      (1n << 15n) |
      (1n << 14n) |
      (1n << 17n) |
      (1n << 18n) |
      (1n << 6n) |
      (1n << 46n)
    );
  }
  const member = world.members.get(userId);
  if (!member) return 0n;
  return channelPermissions(permissionSubject(world), userId, member.roles, channel.type, channel.overwrites);
}
