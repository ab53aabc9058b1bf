import { basePermissions } from "./permissions.ts";
import {
  type FakeChannel,
  type FakeRole,
  type FakeVoiceState,
  permissionSubject,
  permissionsIn,
  type World,
} from "./world.ts";

/** Discord JSON shapes of the world's objects (users, members, roles, channels, guild, voice states). */

export type Json = Record<string, unknown>;

export function apiUser(world: World, userId: string): Json {
  const u = world.users.get(userId);
  if (!u) throw new Error(`fake discord: unknown user ${userId}`);
  return {
    id: u.id,
    username: u.username,
    discriminator: "0",
    global_name: u.global_name,
    avatar: null,
    avatar_decoration_data: null,
    banner: null,
    accent_color: null,
    public_flags: 0,
    flags: 0,
    ...(u.bot ? { bot: true } : {}),
  };
}

/** A guild member; `withUser: false` gives the partial member of interaction `resolved.members`. */
export function apiMember(
  world: World,
  userId: string,
  opts: { withUser?: boolean; channelId?: string } = {},
): Json {
  const m = world.members.get(userId);
  if (!m) throw new Error(`fake discord: ${userId} is not a member`);
  const member: Json = {
    roles: [...m.roles],
    nick: m.nick,
    avatar: null,
    banner: null,
    joined_at: m.joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
    unusual_dm_activity_until: null,
  };
  if (opts.withUser !== false) member.user = apiUser(world, userId);
  if (opts.channelId) member.permissions = permissionsIn(world, userId, opts.channelId).toString();
  return member;
}

export function apiRole(role: FakeRole): Json {
  return {
    id: role.id,
    name: role.name,
    color: role.color,
    colors: { primary_color: role.color, secondary_color: null, tertiary_color: null },
    hoist: role.hoist,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.managed,
    mentionable: role.mentionable,
    flags: 0,
    ...(role.botId ? { tags: { bot_id: role.botId } } : {}),
  };
}

export function apiChannel(world: World, channel: FakeChannel, opts: { permissionsFor?: string } = {}): Json {
  if (channel.guildId === undefined) {
    return {
      id: channel.id,
      // 1 a DM with the bot, 3 a group DM (private channel).
      type: channel.type === 3 ? 3 : 1,
      last_message_id: channel.lastMessageId,
      flags: 0,
      recipients: channel.recipientId ? [apiUser(world, channel.recipientId)] : [],
    };
  }
  const out: Json = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    parent_id: channel.parentId,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
    nsfw: channel.nsfw,
    flags: 0,
  };
  if (channel.type !== 4) {
    out.last_message_id = channel.lastMessageId;
    out.rate_limit_per_user = channel.rateLimitPerUser;
  }
  if (channel.type === 0 || channel.type === 5 || channel.type === 15) out.topic = channel.topic;
  if (channel.type === 2 || channel.type === 13) {
    out.bitrate = channel.bitrate ?? 64_000;
    out.user_limit = channel.userLimit ?? 0;
    out.rtc_region = null;
    out.video_quality_mode = 1;
  }
  if (opts.permissionsFor) out.permissions = permissionsIn(world, opts.permissionsFor, channel.id).toString();
  return out;
}

export function apiVoiceState(world: World, vs: FakeVoiceState, opts: { withGuild?: boolean } = {}): Json {
  const out: Json = {
    channel_id: vs.channelId,
    user_id: vs.userId,
    session_id: vs.sessionId,
    deaf: vs.deaf,
    mute: vs.mute,
    self_deaf: vs.selfDeaf,
    self_mute: vs.selfMute,
    self_video: vs.selfVideo,
    self_stream: vs.selfStream,
    suppress: vs.suppress,
    request_to_speak_timestamp: null,
  };
  if (opts.withGuild) {
    out.guild_id = world.guild.id;
    if (world.members.has(vs.userId)) out.member = apiMember(world, vs.userId);
  }
  return out;
}

/** The REST guild object (`GET /guilds/{id}`): no channels, members or voice states. */
export function apiGuild(world: World, opts: { withCounts?: boolean } = {}): Json {
  const g = world.guild;
  const out: Json = {
    id: g.id,
    name: g.name,
    icon: null,
    icon_hash: null,
    splash: null,
    discovery_splash: null,
    owner_id: g.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: 1,
    default_message_notifications: 1,
    explicit_content_filter: 2,
    roles: [...world.roles.values()].map(apiRole),
    emojis: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: g.systemChannelId,
    system_channel_flags: 0,
    rules_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: g.premiumTier,
    premium_subscription_count: 0,
    preferred_locale: g.preferredLocale,
    public_updates_channel_id: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: 0,
    stickers: [],
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
    incidents_data: null,
  };
  if (opts.withCounts) {
    out.approximate_member_count = world.members.size;
    out.approximate_presence_count = 0;
  }
  return out;
}

/**
 * GUILD_CREATE. Without the GUILD_PRESENCES intent Discord only includes the bot's own member and
 * members in voice channels; the rest arrive with interactions, events or REST fetches.
 */
export function gatewayGuildCreate(world: World, opts: { includeAllMembers: boolean }): Json {
  const inVoice = new Set(world.voiceStates.keys());
  const memberIds = [...world.members.keys()].filter(
    (id) => opts.includeAllMembers || id === world.botId || inVoice.has(id),
  );
  const botMember = world.members.get(world.botId);
  return {
    ...apiGuild(world),
    unavailable: false,
    joined_at: botMember?.joinedAt ?? world.guild.createdAt,
    large: false,
    lazy: true,
    member_count: world.members.size,
    channels: [...world.channels.values()]
      .filter((c) => c.guildId !== undefined)
      .map((c) => apiChannel(world, c)),
    threads: [],
    members: memberIds.map((id) => apiMember(world, id)),
    voice_states: [...world.voiceStates.values()].map((vs) => apiVoiceState(world, vs)),
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    embedded_activities: [],
    activity_instances: [],
    application_command_counts: {},
    home_header: null,
    hub_type: null,
    latest_onboarding_question_id: null,
    inventory_settings: null,
    version: Date.now(),
  };
}

export function botBasePermissions(world: World): bigint {
  const m = world.members.get(world.botId);
  return basePermissions(permissionSubject(world), world.botId, m?.roles ?? []);
}
