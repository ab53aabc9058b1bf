import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CommandRegistry, type StoredCommand } from "./commands.ts";
import {
  type DispatchAutocompleteOptions,
  type DispatchCommandOptions,
  type DispatchComponentOptions,
  type DispatchModalSubmitOptions,
  dispatchAutocomplete,
  dispatchCommand,
  dispatchComponent,
  dispatchModalSubmit,
  postUserMessage,
} from "./dispatch.ts";
import { DiscordError, errors } from "./errors.ts";
import {
  type DispatchOptions,
  Gateway,
  type GatewayOpHandler,
  INTENTS,
  PRIVILEGED_INTENTS,
} from "./gateway.ts";
import { AutocompleteHandle, InteractionHandle } from "./handles.ts";
import {
  decodePath,
  flattenHeaders,
  parseMultipart,
  type RecordedRequest,
  type Reply,
  readBody,
  sendReply,
  splitApiPrefix,
} from "./http.ts";
import { makeBotToken } from "./ids.ts";
import { type FakeMessage, MessageStore } from "./messages.ts";
import type { PermissionInput } from "./permissions.ts";
import { isBotAuthorized, matchRoute, type Route } from "./router.ts";
import { appRoutes } from "./routes-app.ts";
import { channelRoutes, guildRoutes } from "./routes-channels.ts";
import { interactionRoutes } from "./routes-interactions.ts";
import { apiChannel, apiMember, apiVoiceState } from "./serialize.ts";
import {
  createBus,
  type FakeDiscordOptions,
  type FakeState,
  type FaultRule,
  type GatewayOpRecord,
  type MessagePredicate,
  MiB,
  notifyChange,
  waitFor,
} from "./state.ts";
import { postRichUserMessage, type UserMessageOptions } from "./user-messages.ts";
import { MESSAGE_FLAGS } from "./validate-message.ts";
import { buildWorld, type Fixtures, newVoiceState, setMemberOverwrite } from "./world.ts";

/**
 * A protocol-faithful fake Discord (REST under /api/v10 + gateway WebSocket on the same port) for
 * end-to-end tests with the real discord.js client:
 *
 *   const fake = await startFakeDiscord();
 *   const client = new Client({ intents, rest: { api: fake.apiUrl } });
 *   await client.login(fake.botToken);
 *   const it = fake.dispatchCommand({ name: "speak", options: { text: "hi" } });
 *   const reply = await it.waitForResponse();
 *   await client.destroy(); await fake.close();   // destroy the client first
 */

const ROUTES: Route[] = [...appRoutes, ...interactionRoutes, ...channelRoutes, ...guildRoutes];

export interface FaultOptions {
  method?: string;
  /** Matched against the route after `/api/vN` (string: exact or prefix match; or a RegExp). */
  path?: string | RegExp;
  status: number;
  /** Body; default Discord's shape for the status (429: retry_after 0.05 s). */
  json?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests fail (default 1). */
  times?: number;
  /**
   * 429 only: seconds to wait (default 0.05). Sent as `retry_after` and as the Retry-After header
   * (Discord rounds the header up to whole seconds; the fake keeps it short for fast tests).
   */
  retryAfter?: number;
}

export interface VoiceStateOptions {
  selfMute?: boolean;
  selfDeaf?: boolean;
  mute?: boolean;
  deaf?: boolean;
  /**
   * Stage channels: true for the audience, false for speakers. Default on joining a stage: true
   * (members join a stage as audience), and always false in other voice channels.
   */
  suppress?: boolean;
}

function faultMatches(rule: FaultRule, req: RecordedRequest): boolean {
  if (rule.method && rule.method.toUpperCase() !== req.method) return false;
  if (rule.path === undefined) return true;
  if (typeof rule.path === "string") return req.route === rule.path || req.route.startsWith(rule.path);
  return rule.path.test(req.route);
}

function faultReply(rule: FaultRule): Reply {
  if (rule.status === 429) {
    const seconds = rule.retryAfter ?? 0.05;
    return {
      status: 429,
      json: rule.json ?? { message: "You are being rate limited.", retry_after: seconds, global: false },
      headers: { "retry-after": String(seconds), "x-ratelimit-scope": "user", ...(rule.headers ?? {}) },
    };
  }
  return {
    status: rule.status,
    json: rule.json ?? { message: `${rule.status}: fake discord fault`, code: 0 },
    ...(rule.headers ? { headers: rule.headers } : {}),
  };
}

export class FakeDiscord {
  /** `http://127.0.0.1:PORT/api` — pass as `rest.api`. */
  readonly apiUrl: string;
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  /** `ws://127.0.0.1:PORT/gateway`. */
  readonly gatewayUrl: string;
  readonly port: number;
  readonly botToken: string;
  readonly fixtures: Fixtures;
  /** The HTTP server (REST + gateway upgrades), for extensions. */
  readonly server: Server;
  /** Errors thrown inside the fake itself (answered 500); tests can assert it stays empty. */
  readonly internalErrors: Error[] = [];
  readonly #state: FakeState;

  constructor(state: FakeState, server: Server, port: number) {
    this.#state = state;
    this.server = server;
    this.port = port;
    this.apiUrl = state.apiUrl;
    this.baseUrl = state.baseUrl;
    this.gatewayUrl = state.gatewayUrl;
    this.botToken = state.opts.botToken;
    this.fixtures = state.fixtures;
  }

  /** Internal state, for extensions (voice) — not a stable API. */
  get state(): FakeState {
    return this.#state;
  }

  /** Every REST request, in arrival order. */
  get requests(): RecordedRequest[] {
    return this.#state.requests;
  }

  /** Every gateway payload received from clients (`op`, `d`, time). */
  get gatewayOps(): GatewayOpRecord[] {
    return this.#state.gatewayOps;
  }

  get attachmentSizeLimit(): number {
    return this.#state.attachmentSizeLimit;
  }

  // ——— interactions ———

  dispatchCommand(opts: DispatchCommandOptions): InteractionHandle {
    return new InteractionHandle(this.#state, dispatchCommand(this.#state, opts));
  }

  dispatchAutocomplete(opts: DispatchAutocompleteOptions): AutocompleteHandle {
    return new AutocompleteHandle(this.#state, dispatchAutocomplete(this.#state, opts));
  }

  dispatchComponent(opts: DispatchComponentOptions): InteractionHandle {
    return new InteractionHandle(this.#state, dispatchComponent(this.#state, opts));
  }

  dispatchModalSubmit(opts: DispatchModalSubmitOptions): InteractionHandle {
    return new InteractionHandle(this.#state, dispatchModalSubmit(this.#state, opts));
  }

  /** Global commands, or a guild's commands. */
  registeredCommands(guildId?: string): StoredCommand[] {
    return this.#state.commands.list(guildId ?? "global");
  }

  /** Forgets the global commands, or a guild's: as after a new application or a wiped guild. */
  clearCommands(guildId?: string): void {
    this.#state.commands.scopes.delete(guildId ?? "global");
  }

  // ——— messages ———

  message(id: string): FakeMessage | undefined {
    return this.#state.store.get(id);
  }

  /** Messages in a channel, oldest first (deleted ones only with `includeDeleted`). */
  messagesIn(
    channelId: string,
    opts: { includeDeleted?: boolean; includeEphemeral?: boolean } = {},
  ): FakeMessage[] {
    return this.#state.store
      .all()
      .filter(
        (m) =>
          m.channel_id === channelId &&
          (opts.includeDeleted || !m.deleted) &&
          (opts.includeEphemeral !== false || (m.flags & MESSAGE_FLAGS.Ephemeral) === 0),
      );
  }

  allMessages(): FakeMessage[] {
    return this.#state.store.all();
  }

  /** The first (existing or future) non-deleted message matching; re-checked on every change. */
  waitForMessage(predicate: MessagePredicate, timeoutMs = 5000): Promise<FakeMessage> {
    return waitFor(
      this.#state,
      () => this.#state.store.all().find((m) => !m.deleted && predicate(m)),
      timeoutMs,
      "a matching message",
    );
  }

  /** The first answered request matching. */
  waitForRequest(predicate: (req: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    return waitFor(
      this.#state,
      () => this.#state.requests.find((r) => r.status !== undefined && predicate(r)),
      timeoutMs,
      "a matching request",
    );
  }

  /** Bytes of a stored message's attachment. */
  attachmentBytes(messageId: string, index = 0): Buffer {
    const msg = this.#state.store.get(messageId);
    const att = msg?.attachments[index];
    if (!att) throw new Error(`fake discord: message ${messageId} has no attachment #${index}`);
    const stored = this.#state.store.attachmentBytes.get(att.id);
    if (!stored) throw new Error(`fake discord: bytes of attachment ${att.id} are gone`);
    return stored.bytes;
  }

  /**
   * A message from a user (default: the member fixture in the text channel), sent as MESSAGE_CREATE.
   * `channelId` may be a voice or stage channel (its own text chat); `stickers`, `forwardOf` and
   * `voiceMessage` build what only members can send (see user-messages.ts).
   */
  postUserMessage(opts: UserMessageOptions): FakeMessage {
    if (opts.stickers !== undefined || opts.forwardOf !== undefined || opts.voiceMessage !== undefined) {
      return postRichUserMessage(this.#state, opts);
    }
    return postUserMessage(this.#state, opts);
  }

  // ——— world changes (with the gateway events Discord would send) ———

  /** Moves a member into a voice channel (or out with `null`) and sends VOICE_STATE_UPDATE. */
  setVoiceState(userId: string, channelId: string | null, opts: VoiceStateOptions = {}): void {
    const world = this.#state.world;
    if (!world.members.has(userId)) throw new Error(`fake discord: ${userId} is not a member`);
    if (channelId === null) {
      const previous = world.voiceStates.get(userId);
      if (!previous) return;
      world.voiceStates.delete(userId);
      this.#state.gateway.dispatch(
        "VOICE_STATE_UPDATE",
        { ...apiVoiceState(world, previous, { withGuild: true }), channel_id: null },
        { intent: INTENTS.GuildVoiceStates },
      );
    } else {
      const channel = world.channels.get(channelId);
      if (!channel || (channel.type !== 2 && channel.type !== 13))
        throw new Error(`fake discord: ${channelId} is not a voice channel`);
      const vs = world.voiceStates.get(userId) ?? newVoiceState(userId, channelId);
      const moved = vs.channelId !== channelId || !world.voiceStates.has(userId);
      vs.channelId = channelId;
      if (channel.type !== 13) vs.suppress = false;
      else if (opts.suppress !== undefined) vs.suppress = opts.suppress;
      else if (moved) vs.suppress = true;
      if (opts.selfMute !== undefined) vs.selfMute = opts.selfMute;
      if (opts.selfDeaf !== undefined) vs.selfDeaf = opts.selfDeaf;
      if (opts.mute !== undefined) vs.mute = opts.mute;
      if (opts.deaf !== undefined) vs.deaf = opts.deaf;
      world.voiceStates.set(userId, vs);
      this.#state.gateway.dispatch("VOICE_STATE_UPDATE", apiVoiceState(world, vs, { withGuild: true }), {
        intent: INTENTS.GuildVoiceStates,
      });
    }
    notifyChange(this.#state);
  }

  /** Sets (or clears, with both empty) the bot's member overwrite on a channel; sends CHANNEL_UPDATE. */
  setBotPermissions(channelId: string, spec: { allow?: PermissionInput; deny?: PermissionInput }): void {
    this.setMemberPermissions(channelId, this.#state.world.botId, spec);
  }

  setMemberPermissions(
    channelId: string,
    userId: string,
    spec: { allow?: PermissionInput; deny?: PermissionInput },
  ): void {
    const world = this.#state.world;
    const channel = setMemberOverwrite(world, channelId, userId, spec.allow, spec.deny);
    this.#state.gateway.dispatch("CHANNEL_UPDATE", apiChannel(world, channel), { intent: INTENTS.Guilds });
    notifyChange(this.#state);
  }

  /** Adds a member (GUILD_MEMBER_ADD); returns the new user's id. */
  addMember(opts: {
    username: string;
    globalName?: string;
    /** Server nickname. */
    nick?: string;
    roles?: string[];
    bot?: boolean;
  }): string {
    const world = this.#state.world;
    const id = world.nextId();
    world.users.set(id, {
      id,
      username: opts.username,
      global_name: opts.globalName ?? null,
      bot: opts.bot ?? false,
      dmsClosed: false,
    });
    world.members.set(id, {
      userId: id,
      roles: opts.roles ?? [],
      nick: opts.nick ?? null,
      joinedAt: new Date().toISOString(),
    });
    this.#state.gateway.dispatch(
      "GUILD_MEMBER_ADD",
      { ...apiMember(world, id), guild_id: world.guild.id },
      { intent: INTENTS.GuildMembers },
    );
    notifyChange(this.#state);
    return id;
  }

  /** Adds a guild channel (CHANNEL_CREATE); returns its id. */
  addChannel(opts: {
    name: string;
    type?: number;
    parentId?: string | null;
    userLimit?: number;
    bitrate?: number;
  }): string {
    const world = this.#state.world;
    const id = world.nextId();
    const type = opts.type ?? 0;
    world.channels.set(id, {
      id,
      type,
      name: opts.name,
      position: world.channels.size,
      parentId: opts.parentId ?? null,
      topic: null,
      nsfw: false,
      rateLimitPerUser: 0,
      overwrites: [],
      guildId: world.guild.id,
      lastMessageId: null,
      ...(type === 2 || type === 13
        ? { bitrate: opts.bitrate ?? 64_000, userLimit: opts.userLimit ?? 0 }
        : {}),
    });
    this.#state.gateway.dispatch("CHANNEL_CREATE", apiChannel(world, world.channels.get(id)!), {
      intent: INTENTS.Guilds,
    });
    notifyChange(this.#state);
    return id;
  }

  /** `attachment_size_limit` of later interactions and the per-file limit of channel messages. */
  setAttachmentSizeLimit(bytes: number): void {
    this.#state.attachmentSizeLimit = bytes;
  }

  // ——— gateway ———

  /** Sends any dispatch (op 0) to identified sessions. */
  dispatchEvent(type: string, data: unknown, opts: DispatchOptions = {}): void {
    this.#state.gateway.dispatch(type, data, opts);
    notifyChange(this.#state);
  }

  /**
   * Runs `handler` for every payload with this op from a client, after the fake's own handling
   * (or instead of it with `replaceDefault`). Returns an unsubscribe function.
   */
  onGatewayOp(op: number, handler: GatewayOpHandler, opts: { replaceDefault?: boolean } = {}): () => void {
    return this.#state.gateway.onOp(op, handler, opts.replaceDefault ?? false);
  }

  /** Drops every gateway socket (default 4000: clients resume). */
  disconnectGateway(code = 4000, opts: { invalidateSessions?: boolean } = {}): void {
    this.#state.gateway.disconnectAll(code, "fake discord: disconnect", opts.invalidateSessions ?? false);
  }

  /** Sends op 7 RECONNECT. */
  requestReconnect(): void {
    this.#state.gateway.requestReconnect();
  }

  /** Sends op 9 INVALID_SESSION. */
  invalidateSession(resumable = false): void {
    this.#state.gateway.invalidateSessions(resumable);
  }

  /** Sessions that identified (for assertions on intents, sequence numbers…). */
  gatewaySessions() {
    return [...this.#state.gateway.sessions.values()].map((s) => ({
      sessionId: s.sessionId,
      intents: s.intents,
      seq: s.seq,
      connected: s.connection?.ready === true,
      identify: s.identify,
    }));
  }

  waitForGatewayOp(op: number, timeoutMs = 5000): Promise<GatewayOpRecord> {
    return waitFor(
      this.#state,
      () => this.#state.gatewayOps.find((o) => o.op === op),
      timeoutMs,
      `gateway op ${op}`,
    );
  }

  // ——— faults and lifecycle ———

  /** Makes the next matching REST request(s) fail with `status` (429 comes with retry_after). */
  failNext(rule: FaultOptions): void {
    this.#state.faults.push({ ...rule, times: rule.times ?? 1 });
  }

  /** Forgets requests, messages, interactions, modals and gateway ops; keeps fixtures, commands and sessions. */
  reset(): void {
    const s = this.#state;
    s.requests.length = 0;
    s.gatewayOps.length = 0;
    s.store.clear();
    s.interactions.clear();
    s.tokens.clear();
    s.modals.length = 0;
    s.faults.length = 0;
    this.internalErrors.length = 0;
    for (const channel of s.world.channels.values()) channel.lastMessageId = null;
    notifyChange(s);
  }

  /** Closes gateway sockets (code 1000) and the HTTP server. Destroy the discord.js client first. */
  async close(): Promise<void> {
    await this.#state.gateway.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** @internal */
  async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const state = this.#state;
    const rawUrl = req.url ?? "/";
    const queryIndex = rawUrl.indexOf("?");
    const rawPath = queryIndex >= 0 ? rawUrl.slice(0, queryIndex) : rawUrl;
    const path = decodePath(rawPath);
    const { route, apiVersion } = splitApiPrefix(path);
    const { body, size } = await readBody(req);
    const headers = flattenHeaders(req);
    const record: RecordedRequest = {
      seq: state.requests.length + 1,
      method: req.method ?? "GET",
      path,
      route,
      rawPath,
      ...(apiVersion !== undefined ? { apiVersion } : {}),
      query: Object.fromEntries(new URL(rawUrl, "http://fake.invalid").searchParams),
      headers,
      bodySize: size,
      at: Date.now(),
    };
    const contentType = headers["content-type"] ?? "";
    if (size > 0 && size <= state.opts.maxRequestBytes) {
      if (contentType.startsWith("multipart/form-data")) {
        const mp = await parseMultipart(contentType, body);
        if (mp) record.multipart = mp;
      } else if (contentType.startsWith("application/json")) {
        try {
          record.json = JSON.parse(body.toString("utf8"));
        } catch {
          record.invalidJson = true;
        }
      }
    }
    state.requests.push(record);
    let reply: Reply;
    try {
      reply = await this.#route(record, size);
    } catch (error) {
      if (error instanceof DiscordError) reply = { status: error.status, json: error.body };
      else {
        const err = error instanceof Error ? error : new Error(String(error));
        this.internalErrors.push(err);
        reply = { status: 500, json: { message: `500: fake discord error: ${err.message}`, code: 0 } };
      }
    }
    record.status = reply.status;
    if (reply.json !== undefined) record.response = reply.json;
    sendReply(res, reply);
    notifyChange(state);
  }

  async #route(record: RecordedRequest, size: number): Promise<Reply> {
    const state = this.#state;
    const att = /^\/(?:ephemeral-)?attachments\/(\d+)\/(\d+)\/[^/]+$/.exec(record.path);
    if (att && record.method === "GET") {
      const stored = state.store.attachmentBytes.get(att[2]!);
      if (!stored || stored.channelId !== att[1]) {
        return {
          status: 404,
          raw: { bytes: Buffer.from("This content is no longer available."), contentType: "text/plain" },
        };
      }
      return {
        status: 200,
        raw: { bytes: stored.bytes, contentType: stored.contentType ?? "application/octet-stream" },
      };
    }
    if (
      !record.path.startsWith("/api/") ||
      (record.apiVersion !== undefined && record.apiVersion !== 10 && record.apiVersion !== 9)
    ) {
      throw errors.notFound();
    }
    const fault = state.faults.find((f) => f.times > 0 && faultMatches(f, record));
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) state.faults.splice(state.faults.indexOf(fault), 1);
      return faultReply(fault);
    }
    if (size > state.opts.maxRequestBytes) throw errors.requestTooLarge();
    const match = matchRoute(ROUTES, record.method, record.route);
    if (!match) throw errors.notFound();
    if ("methodNotAllowed" in match) throw errors.methodNotAllowed();
    if (match.route.auth === "bot" && !isBotAuthorized(state, record)) throw errors.unauthorized();
    return match.route.handle({ state, req: record, params: match.params });
  }
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const { world, fixtures } = buildWorld(options);
  const host = options.host ?? "127.0.0.1";
  const server = createServer();
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host}:${port}`;
  const state = {
    opts: {
      host,
      port,
      botToken: options.botToken ?? makeBotToken(world.botId),
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      ackTimeoutMs: options.ackTimeoutMs ?? 3000,
      tokenTtlMs: options.tokenTtlMs ?? 15 * 60_000,
      maxRequestBytes: options.maxRequestBytes ?? 25 * MiB,
      locale: options.locale ?? "en-US",
      privilegedIntents: options.privilegedIntents ?? PRIVILEGED_INTENTS,
      applicationFlags: options.applicationFlags ?? (1 << 15) | (1 << 19),
    },
    world,
    fixtures,
    store: new MessageStore(),
    commands: new CommandRegistry(world.applicationId, world.nextId),
    interactions: new Map(),
    tokens: new Map(),
    modals: [],
    requests: [],
    gatewayOps: [],
    faults: [],
    attachmentSizeLimit: options.attachmentSizeLimit ?? 10 * MiB,
    sessionStartRemaining: 1000,
    baseUrl,
    apiUrl: `${baseUrl}/api`,
    gatewayUrl: `ws://${host}:${port}/gateway`,
    bus: createBus(),
  } as Omit<FakeState, "gateway"> as FakeState;
  state.gateway = new Gateway(state);
  const fake = new FakeDiscord(state, server, port);
  server.on("request", (req, res) => {
    fake.handleHttp(req, res).catch((error: unknown) => {
      fake.internalErrors.push(error instanceof Error ? error : new Error(String(error)));
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/gateway" || path === "/gateway/" || path === "/")
      state.gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  return fake;
}
