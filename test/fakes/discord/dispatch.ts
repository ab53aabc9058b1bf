import { emitMessageCreate } from "./events.ts";
import { makeInteractionToken } from "./ids.ts";
import { createMessage, type FakeMessage, toApiMessage } from "./messages.ts";
import {
  addResolvedUser,
  buildOptions,
  type FakeUpload,
  type OptionValue,
  type RawOption,
  type ResolvedBuilder,
} from "./options.ts";
import { type PermissionInput, resolvePermissions } from "./permissions.ts";
import { apiChannel, apiMember, apiRole, apiUser, type Json } from "./serialize.ts";
import { type FakeState, type InteractionState, notifyChange, type ShownModal } from "./state.ts";
import { flattenComponents } from "./validate-components.ts";
import { permissionsIn } from "./world.ts";

/** Building complete INTERACTION_CREATE payloads and sending them over the gateway. */

export type UserRef = string | { id: string };

export interface BaseDispatchOptions {
  /** Invoking user (id or fixture user); default `fixtures.users.member`. */
  user?: UserRef;
  /** Default: the fixture text channel (components: the message's channel). */
  channelId?: string;
  /** Default: the fixture guild; `null` invokes from the user's DM with the bot. */
  guildId?: string | null;
  /** Default: the fake's current limit (10 MiB unless changed). */
  attachmentSizeLimit?: number;
  /** Invoking user's locale; default the fake's `locale` option ("en-US"). */
  locale?: string;
  /** Override `app_permissions` (default: the bot's computed permissions in the channel). */
  appPermissions?: PermissionInput;
  /** This interaction's acknowledgement deadline (default: the fake's `ackTimeoutMs`, 3000). */
  ackTimeoutMs?: number;
  /** This interaction's token lifetime (default: the fake's `tokenTtlMs`, 15 min). */
  tokenTtlMs?: number;
  /**
   * Which installation of the app authorises the interaction: `"guild"` (default, the bot added to the
   * server) or `"user"` (the member's own install, which is what DMs between members and group DMs need).
   */
  install?: "guild" | "user";
  /**
   * Where it happens: `"guild"` (default with a guild), `"botDm"` (default with `guildId: null`: the
   * user's DM with the bot) or `"privateChannel"` (a group DM the bot is not part of; user installs only).
   */
  context?: "guild" | "botDm" | "privateChannel";
}

const CONTEXT_TYPES = { guild: 0, botDm: 1, privateChannel: 2 } as const;
const INSTALL_TYPES = { guild: 0, user: 1 } as const;

export interface DispatchCommandOptions extends BaseDispatchOptions {
  /** Command name; `"config voice set"` is read as command, group, subcommand. */
  name: string;
  /** 1 slash (default), 2 user context menu, 3 message context menu. */
  type?: 1 | 2 | 3;
  subcommandGroup?: string;
  subcommand?: string;
  /** `{ text: "hi", speed: 1.5 }` or raw `[{ name, type, value }]`. */
  options?: Record<string, OptionValue> | RawOption[];
  /** Message context menu target: a stored message (or its id), or content for a new user message. */
  targetMessage?: string | FakeMessage | { content: string; authorId?: string };
  /** User context menu target. */
  targetUser?: UserRef;
  /** Extra `resolved` entries merged into `data.resolved`. */
  resolved?: Json;
}

export interface DispatchAutocompleteOptions extends BaseDispatchOptions {
  name: string;
  subcommandGroup?: string;
  subcommand?: string;
  /** Values typed so far; the focused one may be partial. */
  options?: Record<string, OptionValue> | RawOption[];
  /** Name of the option being typed. */
  focused: string;
}

export interface DispatchComponentOptions extends BaseDispatchOptions {
  customId: string;
  /** 2 button, 3 string select, 5 user, 6 role, 7 mentionable, 8 channel select; default from the message. */
  componentType?: number;
  values?: string[];
  /** The message the component sits on (stored message or id). */
  message: string | FakeMessage;
}

export interface DispatchModalSubmitOptions extends BaseDispatchOptions {
  /** The `custom_id` of a modal the bot showed (type 9 callback). */
  customId: string;
  /** Text input / select custom_id → value(s). */
  fields: Record<string, string | string[]>;
}

function userIdOf(state: FakeState, ref: UserRef | undefined): string {
  const id = ref === undefined ? state.fixtures.users.member.id : typeof ref === "string" ? ref : ref.id;
  if (!state.world.users.has(id)) throw new Error(`fake discord: unknown user ${id}`);
  return id;
}

/**
 * A group DM of the user with another member, which the bot is not part of (a user-installed app's
 * "private channel"): it can answer interactions there but not post messages.
 */
export function groupDmFor(state: FakeState, userId: string): string {
  return privateChannelFor(state, userId, 3);
}

export function dmChannelFor(state: FakeState, userId: string): string {
  return privateChannelFor(state, userId, 1);
}

/** The user's DM (type 1) or group DM (type 3) channel, made on first use. */
function privateChannelFor(state: FakeState, userId: string, type: 1 | 3): string {
  const world = state.world;
  const existing = [...world.channels.values()].find(
    (c) => c.guildId === undefined && c.type === type && c.recipientId === userId,
  );
  if (existing) return existing.id;
  const id = world.nextId();
  world.channels.set(id, {
    id,
    type,
    name: "",
    position: 0,
    parentId: null,
    topic: null,
    nsfw: false,
    rateLimitPerUser: 0,
    overwrites: [],
    recipientId: userId,
    lastMessageId: null,
  });
  return id;
}

interface Prepared {
  it: InteractionState;
  payload: Json;
}

function prepare(
  state: FakeState,
  opts: BaseDispatchOptions,
  type: number,
  defaults: { channelId?: string; guildId?: string | null } = {},
): Prepared {
  if (!state.gateway.hasReadySession()) {
    throw new Error(
      "fake discord: no identified gateway session — log the client in (and wait for ready) first",
    );
  }
  const world = state.world;
  const userId = userIdOf(state, opts.user);
  const guildId =
    opts.guildId !== undefined
      ? opts.guildId
      : defaults.guildId !== undefined
        ? defaults.guildId
        : world.guild.id;
  if (guildId !== null && guildId !== world.guild.id)
    throw new Error(`fake discord: unknown guild ${guildId}`);
  const install = opts.install ?? "guild";
  const where = opts.context ?? (guildId === null ? "botDm" : "guild");
  if ((where === "guild") !== (guildId !== null))
    throw new Error(`fake discord: context ${where} does not go with guildId ${guildId}`);
  if (where === "privateChannel" && install !== "user")
    throw new Error("fake discord: only a user-installed app can be used in a private channel");
  const channelId =
    where === "privateChannel"
      ? groupDmFor(state, userId)
      : guildId === null
        ? dmChannelFor(state, userId)
        : (opts.channelId ?? defaults.channelId ?? state.fixtures.channels.text.id);
  const channel = world.channels.get(channelId);
  if (!channel) throw new Error(`fake discord: unknown channel ${channelId}`);
  if (guildId !== null && !world.members.has(userId))
    throw new Error(`fake discord: ${userId} is not a member of the guild`);
  const id = world.nextId();
  const token = makeInteractionToken(id);
  const attachmentSizeLimit = opts.attachmentSizeLimit ?? state.attachmentSizeLimit;
  const appPermissions =
    opts.appPermissions !== undefined
      ? resolvePermissions(opts.appPermissions)
      : permissionsIn(world, world.botId, channelId);
  const partialChannel = apiChannel(world, channel, { permissionsFor: userId });
  delete partialChannel.permission_overwrites;
  const payload: Json = {
    id,
    application_id: world.applicationId,
    type,
    token,
    version: 1,
    ...(guildId !== null
      ? {
          guild_id: guildId,
          guild: { id: guildId, locale: world.guild.preferredLocale, features: [] },
          member: {
            ...apiMember(world, userId),
            permissions: permissionsIn(world, userId, channelId).toString(),
          },
          guild_locale: world.guild.preferredLocale,
        }
      : { user: apiUser(world, userId) }),
    channel_id: channelId,
    channel: partialChannel,
    app_permissions: appPermissions.toString(),
    locale: opts.locale ?? state.opts.locale,
    entitlements: [],
    // Discord names the installations that authorised the interaction: the server's ("0" in the bot's
    // DM) and/or the invoking user's own.
    authorizing_integration_owners: install === "user" ? { "1": userId } : { "0": guildId ?? "0" },
    context: CONTEXT_TYPES[where],
    attachment_size_limit: attachmentSizeLimit,
  };
  const it: InteractionState = {
    id,
    token,
    type,
    payload,
    install: INSTALL_TYPES[install],
    context: CONTEXT_TYPES[where],
    userId,
    channelId,
    guildId,
    attachmentSizeLimit,
    ackTimeoutMs: opts.ackTimeoutMs ?? state.opts.ackTimeoutMs,
    tokenTtlMs: opts.tokenTtlMs ?? state.opts.tokenTtlMs,
    dispatchedAt: 0,
    dispatchedAtMs: 0,
    callbacks: [],
    originalPending: false,
    followUpIds: [],
    expired: false,
  };
  return { it, payload };
}

function send(state: FakeState, prepared: Prepared): InteractionState {
  const { it, payload } = prepared;
  state.interactions.set(it.id, it);
  state.tokens.set(it.token, it);
  it.dispatchedAtMs = Date.now();
  it.dispatchedAt = performance.now();
  state.gateway.dispatch("INTERACTION_CREATE", payload);
  notifyChange(state);
  return it;
}

function splitName(name: string, opts: { subcommandGroup?: string; subcommand?: string; type?: number }) {
  const parts = name.trim().split(/\s+/);
  if ((opts.type ?? 1) !== 1 || parts.length === 1)
    return { command: name, group: opts.subcommandGroup, sub: opts.subcommand };
  if (parts.length === 2) return { command: parts[0]!, group: undefined, sub: parts[1] };
  return { command: parts[0]!, group: parts[1], sub: parts[2] };
}

function findCommand(
  state: FakeState,
  name: string,
  type: number,
  guildId: string | null,
  reach?: { install: number; context: number },
) {
  const def = state.commands.find(name, type, guildId);
  if (!def && state.commands.hasAny()) {
    const known = [...state.commands.scopes.values()].flat().map((c) => `${c.name} (type ${c.type})`);
    throw new Error(
      `fake discord: command "${name}" (type ${type}) is not registered; registered: ${known.join(", ")}`,
    );
  }
  if (def && reach) checkReach(def, name, reach);
  return def;
}

/**
 * Discord offers a global command only where its `integration_types` and `contexts` say (a command
 * without `contexts` goes everywhere its installation does), and a user's own install offers global
 * commands only: a member could not invoke it elsewhere, so a test that tries is wrong.
 */
function checkReach(
  def: { name: string; guild_id?: string; integration_types?: unknown; contexts?: unknown },
  name: string,
  reach: { install: number; context: number },
): void {
  if (def.guild_id !== undefined) {
    if (reach.install !== 0 || reach.context !== 0)
      throw new Error(
        `fake discord: command "${name}" is a server command; it is offered only in its server`,
      );
    return;
  }
  const types = Array.isArray(def.integration_types) ? (def.integration_types as number[]) : [0];
  const contexts = Array.isArray(def.contexts) ? (def.contexts as number[]) : [0, 1, 2];
  if (!types.includes(reach.install) || !contexts.includes(reach.context)) {
    throw new Error(
      `fake discord: command "${name}" is not offered there (integration_types ${JSON.stringify(types)}, ` +
        `contexts ${JSON.stringify(contexts)}; asked for install ${reach.install} in context ${reach.context})`,
    );
  }
}

/** Creates a message from a user (stored and sent as MESSAGE_CREATE). */
export function postUserMessage(
  state: FakeState,
  opts: { channelId?: string; userId?: string; content?: string; files?: FakeUpload[]; embeds?: unknown[] },
): FakeMessage {
  const channelId = opts.channelId ?? state.fixtures.channels.text.id;
  const authorId = opts.userId ?? state.fixtures.users.member.id;
  const files = (opts.files ?? []).map((f, index) => ({
    field: `files[${index}]`,
    index,
    filename: f.filename,
    contentType: f.contentType ?? "",
    bytes: Buffer.from(f.data),
  }));
  const msg = createMessage(
    {
      world: state.world,
      store: state.store,
      baseUrl: state.baseUrl,
      channelId,
      authorId,
      path: [],
      allowedFlags: 0,
      enforcePermissions: false,
    },
    { content: opts.content ?? "", ...(opts.embeds ? { embeds: opts.embeds } : {}) },
    files,
    { type: 0, source: "user" },
  );
  emitMessageCreate(state, msg);
  notifyChange(state);
  return msg;
}

export function dispatchCommand(state: FakeState, opts: DispatchCommandOptions): InteractionState {
  const type = opts.type ?? 1;
  const { command, group, sub } = splitName(opts.name, opts);
  const prepared = prepare(state, opts, 2);
  const { it, payload } = prepared;
  const def = findCommand(state, command, type, it.guildId, it);
  const data: Json = { id: def?.id ?? state.world.nextId(), name: command, type };
  if (def?.guild_id) data.guild_id = def.guild_id;
  if (type === 1) {
    const built = buildOptions({
      state,
      commandName: command,
      ...(def ? { def } : {}),
      ...(group ? { subcommandGroup: group } : {}),
      ...(sub ? { subcommand: sub } : {}),
      ...(opts.options ? { options: opts.options } : {}),
      ...(opts.resolved ? { resolved: opts.resolved } : {}),
      mode: "command",
      invokerId: it.userId,
      channelId: it.channelId,
    });
    if (built.options.length > 0) data.options = built.options;
    if (Object.keys(built.resolved).length > 0) data.resolved = built.resolved;
  } else if (type === 3) {
    const target = opts.targetMessage;
    if (target === undefined) throw new Error("fake discord: a message command needs targetMessage");
    let msg: FakeMessage | undefined;
    if (typeof target === "string") msg = state.store.get(target);
    else if ("id" in target && typeof target.id === "string") msg = state.store.get(target.id);
    else {
      const spec = target as { content: string; authorId?: string };
      msg = postUserMessage(state, {
        channelId: it.channelId,
        ...(spec.authorId ? { userId: spec.authorId } : {}),
        content: spec.content,
      });
    }
    if (!msg || msg.deleted) throw new Error("fake discord: unknown target message");
    data.target_id = msg.id;
    data.resolved = { ...((opts.resolved as object) ?? {}), messages: { [msg.id]: toApiMessage(msg) } };
  } else {
    const targetId = userIdOf(state, opts.targetUser);
    const r: ResolvedBuilder = { resolved: { ...((opts.resolved as object) ?? {}) } };
    addResolvedUser(state, r, targetId, it.channelId);
    data.target_id = targetId;
    data.resolved = r.resolved;
  }
  payload.data = data;
  it.name = [command, group, sub].filter(Boolean).join(" ");
  it.commandType = type;
  return send(state, prepared);
}

export function dispatchAutocomplete(state: FakeState, opts: DispatchAutocompleteOptions): InteractionState {
  const { command, group, sub } = splitName(opts.name, opts);
  const prepared = prepare(state, opts, 4);
  const { it, payload } = prepared;
  const def = findCommand(state, command, 1, it.guildId, it);
  const built = buildOptions({
    state,
    commandName: command,
    ...(def ? { def } : {}),
    ...(group ? { subcommandGroup: group } : {}),
    ...(sub ? { subcommand: sub } : {}),
    ...(opts.options ? { options: opts.options } : {}),
    focused: opts.focused,
    mode: "autocomplete",
    invokerId: it.userId,
    channelId: it.channelId,
  });
  payload.data = {
    id: def?.id ?? state.world.nextId(),
    name: command,
    type: 1,
    options: built.options,
    ...(def?.guild_id ? { guild_id: def.guild_id } : {}),
  };
  it.name = command;
  if (built.focusedType !== undefined) it.focusedType = built.focusedType;
  return send(state, prepared);
}

export function dispatchComponent(state: FakeState, opts: DispatchComponentOptions): InteractionState {
  const msg =
    typeof opts.message === "string" ? state.store.get(opts.message) : state.store.get(opts.message.id);
  if (!msg || msg.deleted) throw new Error("fake discord: the component's message does not exist (any more)");
  if (msg.author.id !== state.world.botId)
    throw new Error("fake discord: components only exist on the bot's messages");
  const component = flattenComponents(msg.components).find((c) => c.custom_id === opts.customId);
  if (!component) throw new Error(`fake discord: message ${msg.id} has no component "${opts.customId}"`);
  if (component.disabled === true) throw new Error(`fake discord: component "${opts.customId}" is disabled`);
  const componentType = opts.componentType ?? (component.type as number);
  if (componentType !== component.type)
    throw new Error(`fake discord: component "${opts.customId}" is type ${String(component.type)}`);
  const prepared = prepare(state, opts, 3, { channelId: msg.channel_id, guildId: msg.guild_id ?? null });
  const { it, payload } = prepared;
  const data: Json = { custom_id: opts.customId, component_type: componentType };
  if (typeof component.id === "number") data.id = component.id;
  if (componentType !== 2) {
    const values = opts.values ?? [];
    const min = typeof component.min_values === "number" ? component.min_values : 1;
    const max = typeof component.max_values === "number" ? component.max_values : 1;
    if (values.length < min || values.length > max)
      throw new Error(`fake discord: select "${opts.customId}" takes ${min}–${max} values`);
    if (componentType === 3) {
      const allowed = ((component.options ?? []) as Array<{ value: string }>).map((o) => o.value);
      for (const v of values)
        if (!allowed.includes(v))
          throw new Error(`fake discord: "${v}" is not an option of "${opts.customId}"`);
    } else {
      const r: ResolvedBuilder = { resolved: {} };
      for (const v of values) {
        if (componentType === 6 || (componentType === 7 && state.world.roles.has(v))) {
          const role = state.world.roles.get(v);
          if (!role) throw new Error(`fake discord: unknown role ${v}`);
          r.resolved.roles ??= {};
          r.resolved.roles[v] = apiRole(role);
        } else if (componentType === 8) {
          const channel = state.world.channels.get(v);
          if (!channel) throw new Error(`fake discord: unknown channel ${v}`);
          r.resolved.channels ??= {};
          r.resolved.channels[v] = apiChannel(state.world, channel, { permissionsFor: it.userId });
        } else addResolvedUser(state, r, v, it.channelId);
      }
      data.resolved = r.resolved;
    }
    data.values = values;
  }
  payload.data = data;
  payload.message = toApiMessage(msg);
  it.customId = opts.customId;
  it.sourceMessageId = msg.id;
  return send(state, prepared);
}

function latestModal(state: FakeState, customId: string, userId: string | undefined): ShownModal {
  for (let i = state.modals.length - 1; i >= 0; i--) {
    const m = state.modals[i]!;
    if (m.data.custom_id === customId && (userId === undefined || m.userId === userId)) return m;
  }
  throw new Error(`fake discord: no modal "${customId}" was shown${userId ? ` to ${userId}` : ""}`);
}

export function dispatchModalSubmit(state: FakeState, opts: DispatchModalSubmitOptions): InteractionState {
  const modal = latestModal(
    state,
    opts.customId,
    opts.user === undefined ? undefined : userIdOf(state, opts.user),
  );
  const remaining = new Set(Object.keys(opts.fields));
  const submitted = (modal.data.components as Json[]).map((c) => {
    const answer = (input: Json): Json => {
      const customId = input.custom_id as string;
      const given = opts.fields[customId];
      remaining.delete(customId);
      if (input.type === 4) {
        const value = given === undefined ? ((input.value as string | undefined) ?? "") : String(given);
        const required = input.required !== false;
        if (required && value.length === 0)
          throw new Error(`fake discord: modal field "${customId}" is required`);
        const max = typeof input.max_length === "number" ? input.max_length : 4000;
        const min = typeof input.min_length === "number" ? input.min_length : 0;
        if (value.length > max || (value.length > 0 && value.length < min))
          throw new Error(`fake discord: modal field "${customId}" must be ${min}–${max} characters`);
        return {
          type: 4,
          custom_id: customId,
          value,
          ...(typeof input.id === "number" ? { id: input.id } : {}),
        };
      }
      const values = given === undefined ? [] : Array.isArray(given) ? given : [given];
      return {
        type: input.type,
        custom_id: customId,
        values,
        ...(typeof input.id === "number" ? { id: input.id } : {}),
      };
    };
    if (c.type === 1)
      return {
        type: 1,
        components: (c.components as Json[]).map(answer),
        ...(typeof c.id === "number" ? { id: c.id } : {}),
      };
    if (c.type === 18)
      return {
        type: 18,
        component: answer(c.component as Json),
        ...(typeof c.id === "number" ? { id: c.id } : {}),
      };
    return { type: c.type, ...(typeof c.id === "number" ? { id: c.id } : {}) };
  });
  if (remaining.size > 0)
    throw new Error(`fake discord: modal "${opts.customId}" has no field(s) ${[...remaining].join(", ")}`);
  const source = modal.sourceMessageId ? state.store.get(modal.sourceMessageId) : undefined;
  const prepared = prepare(state, { ...opts, user: opts.user ?? modal.userId }, 5, {
    channelId: modal.channelId,
    guildId: modal.guildId,
  });
  const { it, payload } = prepared;
  payload.data = { custom_id: opts.customId, components: submitted };
  if (source && !source.deleted) {
    payload.message = toApiMessage(source);
    it.sourceMessageId = source.id;
  }
  it.customId = opts.customId;
  return send(state, prepared);
}
