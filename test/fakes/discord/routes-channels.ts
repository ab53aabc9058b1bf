import { errors, issue } from "./errors.ts";
import { emitMessageCreate, emitMessageDelete, emitMessageUpdate } from "./events.ts";
import { createMessage, editMessage, type FakeMessage, toApiMessage } from "./messages.ts";
import { has, PERMISSIONS } from "./permissions.ts";
import { json, messagePayload, noContent, type Route, type RouteContext } from "./router.ts";
import { apiChannel, apiGuild, apiMember, apiRole, apiVoiceState } from "./serialize.ts";
import { notifyChange } from "./state.ts";
import { MESSAGE_FLAGS } from "./validate-message.ts";
import { type FakeChannel, permissionsIn } from "./world.ts";

/** Channel, message and guild routes used with the bot token, with Discord's permission checks. */

const CREATE_FLAGS =
  MESSAGE_FLAGS.SuppressEmbeds |
  MESSAGE_FLAGS.SuppressNotifications |
  MESSAGE_FLAGS.IsVoiceMessage |
  MESSAGE_FLAGS.IsComponentsV2;
const EDIT_FLAGS = MESSAGE_FLAGS.SuppressEmbeds | MESSAGE_FLAGS.IsComponentsV2;
const NON_TEXT = new Set([4, 14, 15, 16]);

function channelOf(ctx: RouteContext): FakeChannel {
  const channel = ctx.state.world.channels.get(ctx.params.channel!);
  if (!channel) throw errors.unknownChannel();
  return channel;
}

function botPerms(ctx: RouteContext, channel: FakeChannel): bigint {
  return permissionsIn(ctx.state.world, ctx.state.world.botId, channel.id);
}

function requireView(ctx: RouteContext, channel: FakeChannel): bigint {
  const perms = botPerms(ctx, channel);
  if (channel.guildId !== undefined && !has(perms, PERMISSIONS.ViewChannel)) throw errors.missingAccess();
  return perms;
}

/** How long Discord remembers a nonce for enforce_nonce ("the past few minutes"). */
const NONCE_WINDOW_MS = 5 * 60_000;

function visibleMessage(ctx: RouteContext, channel: FakeChannel): FakeMessage {
  const msg = ctx.state.store.get(ctx.params.message!);
  if (!msg || msg.deleted || msg.channel_id !== channel.id || (msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0) {
    throw errors.unknownMessage();
  }
  return msg;
}

function buildCtx(ctx: RouteContext, channel: FakeChannel, allowedFlags: number) {
  return {
    world: ctx.state.world,
    store: ctx.state.store,
    baseUrl: ctx.state.baseUrl,
    channelId: channel.id,
    authorId: ctx.state.world.botId,
    path: [] as const,
    allowedFlags,
    enforcePermissions: channel.guildId !== undefined,
  };
}

function snowflakeParam(value: string | undefined, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,20}$/.test(value)) throw errors.invalidForm([issue.type([name], "snowflake", value)]);
  return value;
}

const cmp = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

function parseEmoji(raw: string): { id: string | null; name: string } {
  const custom = /^(?:a:)?([\w~]{2,32}):(\d{15,21})$/.exec(raw);
  if (custom) return { id: custom[2]!, name: custom[1]! };
  if (/^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f)+$/u.test(raw))
    return { id: null, name: raw };
  throw errors.unknownEmoji();
}

export const channelRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/channels/:channel",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      requireView(ctx, channel);
      return json(200, apiChannel(ctx.state.world, channel));
    },
  },
  {
    method: "POST",
    pattern: "/channels/:channel/messages",
    auth: "bot",
    handle: (ctx) => {
      const { state } = ctx;
      const channel = channelOf(ctx);
      // A group DM (a user-installed app's private channel): the bot is not part of it.
      if (channel.type === 3) throw errors.missingAccess();
      if (channel.guildId === undefined) {
        const recipient = channel.recipientId ? state.world.users.get(channel.recipientId) : undefined;
        if (!recipient || recipient.dmsClosed || recipient.bot) throw errors.cannotDmUser();
      } else {
        const perms = requireView(ctx, channel);
        if (NON_TEXT.has(channel.type)) throw errors.nonTextChannel();
        if (!has(perms, PERMISSIONS.SendMessages)) throw errors.missingPermissions();
      }
      const { body, files } = messagePayload(ctx.req, state.attachmentSizeLimit);
      // enforce_nonce: a message by the same author with the same nonce in the last few minutes is
      // returned instead of creating a second one (Discord's documented deduplication).
      if (body.enforce_nonce === true && body.nonce !== undefined && body.nonce !== null) {
        const since = Date.now() - NONCE_WINDOW_MS;
        const twin = state.store
          .all()
          .find(
            (m) =>
              !m.deleted &&
              m.nonce === body.nonce &&
              (m.author as { id?: string }).id === state.world.botId &&
              Date.parse(m.timestamp) >= since,
          );
        if (twin) return json(200, toApiMessage(twin));
      }
      const msg = createMessage(buildCtx(ctx, channel, CREATE_FLAGS), body, files, {
        type: 0,
        source: "channel",
      });
      emitMessageCreate(state, msg);
      notifyChange(state);
      return json(200, toApiMessage(msg));
    },
  },
  {
    method: "GET",
    pattern: "/channels/:channel/messages",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      const perms = requireView(ctx, channel);
      const q = ctx.req.query;
      const limit = q.limit === undefined ? 50 : Number(q.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw errors.invalidForm([issue.range(["limit"], 1, 100)]);
      if (channel.guildId !== undefined && !has(perms, PERMISSIONS.ReadMessageHistory)) return json(200, []);
      const before = snowflakeParam(q.before, "before");
      const after = snowflakeParam(q.after, "after");
      const around = snowflakeParam(q.around, "around");
      let list = ctx.state.store
        .all()
        .filter((m) => m.channel_id === channel.id && !m.deleted && (m.flags & MESSAGE_FLAGS.Ephemeral) === 0)
        .sort((a, b) => cmp(b.id, a.id));
      if (around) {
        const older = list.filter((m) => cmp(m.id, around) <= 0).slice(0, Math.ceil(limit / 2));
        const newer = list.filter((m) => cmp(m.id, around) > 0).slice(-Math.floor(limit / 2));
        list = [...newer, ...older];
      } else if (after) {
        list = list.filter((m) => cmp(m.id, after) > 0).slice(-limit);
      } else {
        if (before) list = list.filter((m) => cmp(m.id, before) < 0);
        list = list.slice(0, limit);
      }
      return json(200, list.map(toApiMessage));
    },
  },
  {
    method: "GET",
    pattern: "/channels/:channel/messages/:message",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      const perms = requireView(ctx, channel);
      if (channel.guildId !== undefined && !has(perms, PERMISSIONS.ReadMessageHistory))
        throw errors.missingAccess();
      return json(200, toApiMessage(visibleMessage(ctx, channel)));
    },
  },
  {
    method: "PATCH",
    pattern: "/channels/:channel/messages/:message",
    auth: "bot",
    handle: (ctx) => {
      const { state } = ctx;
      const channel = channelOf(ctx);
      requireView(ctx, channel);
      const msg = visibleMessage(ctx, channel);
      const { body, files } = messagePayload(ctx.req, state.attachmentSizeLimit);
      if (msg.author.id !== state.world.botId) {
        // Others' messages: only the SUPPRESS_EMBEDS flag may change (with MANAGE_MESSAGES).
        throw errors.cannotEditOthers();
      }
      editMessage(buildCtx(ctx, channel, EDIT_FLAGS), msg, body, files);
      emitMessageUpdate(state, msg);
      notifyChange(state);
      return json(200, toApiMessage(msg));
    },
  },
  {
    method: "DELETE",
    pattern: "/channels/:channel/messages/:message",
    auth: "bot",
    handle: (ctx) => {
      const { state } = ctx;
      const channel = channelOf(ctx);
      const perms = requireView(ctx, channel);
      const msg = visibleMessage(ctx, channel);
      if (msg.author.id !== state.world.botId && !has(perms, PERMISSIONS.ManageMessages))
        throw errors.missingPermissions();
      msg.deleted = true;
      emitMessageDelete(state, msg);
      notifyChange(state);
      return noContent();
    },
  },
  {
    method: "POST",
    pattern: "/channels/:channel/typing",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      const perms = requireView(ctx, channel);
      if (channel.guildId !== undefined && !has(perms, PERMISSIONS.SendMessages))
        throw errors.missingPermissions();
      return noContent();
    },
  },
  {
    method: "PUT",
    pattern: "/channels/:channel/messages/:message/reactions/:emoji/@me",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      const perms = requireView(ctx, channel);
      const msg = visibleMessage(ctx, channel);
      const emoji = parseEmoji(ctx.params.emoji!);
      msg.reactions ??= [];
      const reactions = msg.reactions;
      const existing = reactions.find((r) => (r.emoji as { name: string }).name === emoji.name);
      if (channel.guildId !== undefined) {
        if (!has(perms, PERMISSIONS.ReadMessageHistory)) throw errors.missingPermissions();
        if (!existing && !has(perms, PERMISSIONS.AddReactions)) throw errors.missingPermissions();
      }
      if (existing) {
        if (!existing.me) existing.count = (existing.count as number) + 1;
        existing.me = true;
      } else
        reactions.push({
          count: 1,
          me: true,
          emoji,
          burst_colors: [],
          me_burst: false,
          count_details: { burst: 0, normal: 1 },
        });
      notifyChange(ctx.state);
      return noContent();
    },
  },
  {
    method: "DELETE",
    pattern: "/channels/:channel/messages/:message/reactions/:emoji/@me",
    auth: "bot",
    handle: (ctx) => {
      const channel = channelOf(ctx);
      requireView(ctx, channel);
      const msg = visibleMessage(ctx, channel);
      const emoji = parseEmoji(ctx.params.emoji!);
      msg.reactions = (msg.reactions ?? []).flatMap((r) => {
        if ((r.emoji as { name: string }).name !== emoji.name || !r.me) return [r];
        const count = (r.count as number) - 1;
        return count > 0 ? [{ ...r, me: false, count }] : [];
      });
      notifyChange(ctx.state);
      return noContent();
    },
  },
];

function guildOf(ctx: RouteContext): void {
  if (ctx.params.guild !== ctx.state.world.guild.id) throw errors.unknownGuild();
}

export const guildRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/guilds/:guild",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      return json(200, apiGuild(ctx.state.world, { withCounts: ctx.req.query.with_counts === "true" }));
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/channels",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      const world = ctx.state.world;
      return json(
        200,
        [...world.channels.values()].filter((c) => c.guildId !== undefined).map((c) => apiChannel(world, c)),
      );
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/roles",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      return json(200, [...ctx.state.world.roles.values()].map(apiRole));
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/members/search",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      const world = ctx.state.world;
      const query = (ctx.req.query.query ?? "").toLowerCase();
      if (!query) throw errors.invalidForm([issue.required(["query"])]);
      const limit = Math.min(1000, Math.max(1, Number(ctx.req.query.limit ?? 1)));
      const ids = [...world.members.keys()].filter((id) => {
        const u = world.users.get(id);
        return u?.username.toLowerCase().startsWith(query) || u?.global_name?.toLowerCase().startsWith(query);
      });
      return json(
        200,
        ids.slice(0, limit).map((id) => apiMember(world, id)),
      );
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/members",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      const world = ctx.state.world;
      const limit = ctx.req.query.limit === undefined ? 1 : Number(ctx.req.query.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw errors.invalidForm([issue.range(["limit"], 1, 1000)]);
      const after = ctx.req.query.after ?? "0";
      const ids = [...world.members.keys()].sort(cmp).filter((id) => cmp(id, after) > 0);
      return json(
        200,
        ids.slice(0, limit).map((id) => apiMember(world, id)),
      );
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/members/:user",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      const world = ctx.state.world;
      const userId = ctx.params.user === "@me" ? world.botId : ctx.params.user!;
      if (!world.members.has(userId)) throw errors.unknownMember();
      return json(200, apiMember(world, userId));
    },
  },
  {
    method: "GET",
    pattern: "/guilds/:guild/voice-states/:user",
    auth: "bot",
    handle: (ctx) => {
      guildOf(ctx);
      const world = ctx.state.world;
      const userId = ctx.params.user === "@me" ? world.botId : ctx.params.user!;
      const vs = world.voiceStates.get(userId);
      if (!vs) throw errors.unknownVoiceState();
      return json(200, apiVoiceState(world, vs, { withGuild: true }));
    },
  },
];
