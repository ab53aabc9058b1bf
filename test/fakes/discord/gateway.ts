import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import {
  closeSockets,
  nextDispatch,
  readFrame,
  readyBody,
  sendFrame,
  type WirePayload,
} from "./gateway-wire.ts";
import { randomHex } from "./ids.ts";
import { has, PERMISSIONS } from "./permissions.ts";
import { apiMember, apiVoiceState, gatewayGuildCreate, type Json } from "./serialize.ts";
import { type FakeState, type GatewayOpRecord, notifyChange } from "./state.ts";
import { newVoiceState, permissionsIn } from "./world.ts";

/**
 * The gateway: HELLO → IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME with replay of missed
 * dispatches, per-session sequence numbers and intents, op 4 (voice state) and op 8 (members).
 * Plain JSON text frames (discord.js only asks for zlib-stream when zlib-sync is installed).
 */

export const INTENTS = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildModeration: 1 << 2,
  GuildExpressions: 1 << 3,
  GuildIntegrations: 1 << 4,
  GuildWebhooks: 1 << 5,
  GuildInvites: 1 << 6,
  GuildVoiceStates: 1 << 7,
  GuildPresences: 1 << 8,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  DirectMessageTyping: 1 << 14,
  MessageContent: 1 << 15,
  GuildScheduledEvents: 1 << 16,
  AutoModerationConfiguration: 1 << 20,
  AutoModerationExecution: 1 << 21,
  GuildMessagePolls: 1 << 24,
  DirectMessagePolls: 1 << 25,
} as const;
const ALL_INTENTS = Object.values(INTENTS).reduce((a, b) => a | b, 0);
export const PRIVILEGED_INTENTS = INTENTS.GuildMembers | INTENTS.GuildPresences | INTENTS.MessageContent;

export type GatewayPayload = WirePayload;

export interface GatewaySession {
  sessionId: string;
  intents: number;
  identify: Json;
  seq: number;
  /** Dispatches kept for RESUME. */
  buffer: GatewayPayload[];
  connection?: GatewayConnection;
  invalidated: boolean;
}

export interface GatewayConnection {
  ws: WebSocket;
  session?: GatewaySession;
  /** READY or RESUMED sent on this socket. */
  ready: boolean;
  heartbeats: number;
  query: Record<string, string>;
}

/** What `onGatewayOp` handlers get besides the payload's `d`. */
export interface GatewayOpContext {
  session: GatewaySession | undefined;
  /** Send a raw payload on this connection. */
  send(payload: { op: number; d: unknown; s?: number | null; t?: string | null }): void;
  /** Send a dispatch (op 0) to this session with the next sequence number. */
  dispatch(t: string, d: unknown): void;
  close(code: number, reason?: string): void;
}

export type GatewayOpHandler = (d: unknown, ctx: GatewayOpContext) => void | Promise<void>;

export interface DispatchOptions {
  /** Intent bit a session needs to receive this event (omit: every session). */
  intent?: number;
  /** Per-session payload (e.g. MESSAGE_CREATE without content when MESSAGE_CONTENT is missing). */
  transform?: (d: unknown, session: GatewaySession) => unknown;
}

export class Gateway {
  readonly wss = new WebSocketServer({ noServer: true });
  readonly sessions = new Map<string, GatewaySession>();
  readonly connections = new Set<GatewayConnection>();
  readonly handlers = new Map<number, Array<{ handler: GatewayOpHandler; replaceDefault: boolean }>>();
  readonly #state: FakeState;

  constructor(state: FakeState) {
    this.#state = state;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws, req));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? "/", "http://fake.invalid");
    const conn: GatewayConnection = {
      ws,
      ready: false,
      heartbeats: 0,
      query: Object.fromEntries(url.searchParams),
    };
    this.connections.add(conn);
    ws.on("close", () => {
      this.connections.delete(conn);
      if (conn.session?.connection === conn) conn.session.connection = undefined;
      notifyChange(this.#state);
    });
    ws.on("error", () => {});
    const version = conn.query.v;
    if (version !== undefined && version !== "10" && version !== "9") {
      ws.close(4012, "Invalid API version.");
      return;
    }
    if (conn.query.encoding !== undefined && conn.query.encoding !== "json") {
      ws.close(4002, "Error while decoding payload.");
      return;
    }
    ws.on("message", (data, isBinary) => void this.#onMessage(conn, data, isBinary));
    this.#send(conn, {
      op: 10,
      d: {
        heartbeat_interval: this.#state.opts.heartbeatIntervalMs,
        _trace: ['["gateway-fake",{"micros":0}]'],
      },
    });
  }

  #send(
    conn: GatewayConnection,
    payload: { op: number; d: unknown; s?: number | null; t?: string | null },
  ): void {
    sendFrame(conn.ws, payload);
  }

  /** Appends a dispatch to a session (sequence + replay buffer) and sends it when connected. */
  #dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    const payload = nextDispatch(session, t, d);
    const conn = session.connection;
    if (conn?.ready) this.#send(conn, payload);
  }

  /** Sends a dispatch to every identified session (connected now, or buffered for RESUME). */
  dispatch(t: string, d: unknown, opts: DispatchOptions = {}): void {
    for (const session of this.sessions.values()) {
      if (session.invalidated) continue;
      if (opts.intent !== undefined && (session.intents & opts.intent) === 0) continue;
      this.#dispatchTo(session, t, opts.transform ? opts.transform(d, session) : d);
    }
  }

  hasReadySession(): boolean {
    return [...this.sessions.values()].some((s) => !s.invalidated && s.connection?.ready === true);
  }

  onOp(op: number, handler: GatewayOpHandler, replaceDefault: boolean): () => void {
    const list = this.handlers.get(op) ?? [];
    const entry = { handler, replaceDefault };
    list.push(entry);
    this.handlers.set(op, list);
    return () => {
      const current = this.handlers.get(op) ?? [];
      this.handlers.set(
        op,
        current.filter((e) => e !== entry),
      );
    };
  }

  /** Closes every gateway socket with `code` (sessions stay resumable unless `invalidate`). */
  disconnectAll(code = 4000, reason = "fake discord: disconnect", invalidate = false): void {
    for (const conn of this.connections) {
      if (invalidate && conn.session) conn.session.invalidated = true;
      conn.ready = false;
      conn.ws.close(code, reason);
    }
  }

  /** Asks clients to reconnect and resume (op 7). */
  requestReconnect(): void {
    for (const conn of this.connections) this.#send(conn, { op: 7, d: null });
  }

  /** Sends INVALID_SESSION (op 9) to every connection. */
  invalidateSessions(resumable: boolean): void {
    for (const conn of this.connections) {
      if (!resumable && conn.session) conn.session.invalidated = true;
      this.#send(conn, { op: 9, d: resumable });
    }
  }

  /**
   * A session that a front (the sharded fleet fake, `fleet.ts`) owns instead of a socket: this
   * guild's dispatches go to `send`, and the front hands in the client's ops about this guild with
   * `relayOp`. It is ready at once and gets no READY (the front sends its own per shard).
   */
  attachRelay(intents: number, send: (payload: GatewayPayload) => void): GatewayConnection {
    const ws = {
      readyState: 1,
      OPEN: 1,
      send: (text: string) => send(JSON.parse(text) as GatewayPayload),
      close: () => {},
    } as unknown as WebSocket;
    const conn: GatewayConnection = { ws, ready: true, heartbeats: 0, query: {} };
    this.#openSession(conn, intents, { intents });
    return conn;
  }

  /** A new session on `conn`, kept for RESUME. */
  #openSession(conn: GatewayConnection, intents: number, identify: Json): GatewaySession {
    const session: GatewaySession = {
      sessionId: randomHex(16),
      intents,
      identify,
      seq: 0,
      buffer: [],
      connection: conn,
      invalidated: false,
    };
    this.sessions.set(session.sessionId, session);
    conn.session = session;
    return session;
  }

  /** A client's op for this guild, as if it came on the relay's socket. */
  relayOp(conn: GatewayConnection, payload: { op: number; d: unknown }): Promise<void> {
    return this.#onMessage(conn, Buffer.from(JSON.stringify(payload)), false);
  }

  close(): Promise<void> {
    return closeSockets(this.wss, this.connections);
  }

  #context(conn: GatewayConnection): GatewayOpContext {
    return {
      session: conn.session,
      send: (payload) => this.#send(conn, payload),
      dispatch: (t, d) => {
        if (conn.session) this.#dispatchTo(conn.session, t, d);
      },
      close: (code, reason) => conn.ws.close(code, reason),
    };
  }

  async #onMessage(conn: GatewayConnection, data: RawData, isBinary: boolean): Promise<void> {
    const payload = readFrame(conn.ws, data, isBinary);
    if (!payload) return;
    const op = payload.op;
    const record: GatewayOpRecord = {
      op,
      d: payload.d,
      at: Date.now(),
      ...(conn.session ? { sessionId: conn.session.sessionId } : {}),
    };
    this.#state.gatewayOps.push(record);
    const custom = this.handlers.get(op) ?? [];
    const replaced = custom.some((h) => h.replaceDefault);
    if (!replaced) {
      switch (op) {
        case 1:
          conn.heartbeats += 1;
          this.#send(conn, { op: 11, d: null });
          break;
        case 2:
          this.#identify(conn, payload.d);
          break;
        case 6:
          this.#resume(conn, payload.d);
          break;
        case 3:
        case 4:
        case 8:
        case 14:
        case 31:
          if (!conn.session) {
            conn.ws.close(4003, "Not authenticated.");
            return;
          }
          if (op === 4) this.#voiceStateUpdate(conn, payload.d, record);
          if (op === 8) this.#requestMembers(conn, payload.d);
          break;
        default:
          if (custom.length === 0) {
            conn.ws.close(4001, "Unknown opcode.");
            return;
          }
      }
    }
    for (const { handler } of custom) await handler(payload.d, this.#context(conn));
    notifyChange(this.#state);
  }

  #identify(conn: GatewayConnection, d: unknown): void {
    const state = this.#state;
    if (conn.session) {
      conn.ws.close(4005, "Already authenticated.");
      return;
    }
    const body = (d ?? {}) as Json;
    if (body.token !== state.opts.botToken) {
      conn.ws.close(4004, "Authentication failed.");
      return;
    }
    const intents = body.intents;
    if (
      typeof intents !== "number" ||
      !Number.isInteger(intents) ||
      intents < 0 ||
      (intents & ~ALL_INTENTS) !== 0
    ) {
      conn.ws.close(4013, "Invalid intent(s).");
      return;
    }
    if ((intents & PRIVILEGED_INTENTS & ~state.opts.privilegedIntents) !== 0) {
      conn.ws.close(4014, "Disallowed intent(s).");
      return;
    }
    const shard = body.shard;
    if (shard !== undefined && (!Array.isArray(shard) || shard[0] !== 0 || shard[1] !== 1)) {
      conn.ws.close(4010, "Invalid shard.");
      return;
    }
    if (typeof body.properties !== "object" || body.properties === null) {
      conn.ws.close(4002, "Error while decoding payload.");
      return;
    }
    if (state.sessionStartRemaining <= 0) {
      conn.ws.close(4004, "Authentication failed.");
      return;
    }
    state.sessionStartRemaining -= 1;
    const session = this.#openSession(conn, intents, body);
    conn.ready = true;
    const world = state.world;
    this.#dispatchTo(session, "READY", {
      ...readyBody(world, {
        sessionId: session.sessionId,
        guilds: [{ id: world.guild.id, unavailable: true }],
        resumeUrl: state.gatewayUrl,
        shard: [0, 1],
        applicationFlags: state.opts.applicationFlags,
      }),
      _trace: ['["gateway-fake",{"micros":0}]'],
    });
    this.#dispatchTo(
      session,
      "GUILD_CREATE",
      gatewayGuildCreate(world, { includeAllMembers: (intents & INTENTS.GuildPresences) !== 0 }),
    );
  }

  #resume(conn: GatewayConnection, d: unknown): void {
    const state = this.#state;
    const body = (d ?? {}) as Json;
    const session = typeof body.session_id === "string" ? this.sessions.get(body.session_id) : undefined;
    if (!session || session.invalidated || body.token !== state.opts.botToken) {
      this.#send(conn, { op: 9, d: false });
      return;
    }
    const seq = typeof body.seq === "number" ? body.seq : 0;
    if (seq > session.seq) {
      conn.ws.close(4007, "Invalid seq.");
      return;
    }
    const oldest = session.buffer[0]?.s ?? session.seq + 1;
    if (seq + 1 < oldest) {
      // Events the client missed are gone from the buffer: it must identify again.
      this.#send(conn, { op: 9, d: false });
      return;
    }
    if (session.connection && session.connection !== conn) {
      session.connection.ready = false;
      session.connection.ws.close(4000, "Session resumed elsewhere.");
    }
    session.connection = conn;
    conn.session = session;
    conn.ready = true;
    for (const payload of session.buffer) if ((payload.s ?? 0) > seq) this.#send(conn, payload);
    this.#dispatchTo(session, "RESUMED", { _trace: ['["gateway-fake",{"micros":0}]'] });
  }

  #voiceStateUpdate(conn: GatewayConnection, d: unknown, record: { ignoredReason?: string }): void {
    const world = this.#state.world;
    const body = (d ?? {}) as Json;
    if (body.guild_id !== world.guild.id) {
      record.ignoredReason = "unknown guild";
      return;
    }
    const botId = world.botId;
    const channelId = typeof body.channel_id === "string" ? body.channel_id : null;
    if (channelId !== null) {
      const channel = world.channels.get(channelId);
      if (!channel || (channel.type !== 2 && channel.type !== 13)) {
        record.ignoredReason = "not a voice channel";
        return;
      }
      const perms = permissionsIn(world, botId, channelId);
      if (!has(perms, PERMISSIONS.ViewChannel) || !has(perms, PERMISSIONS.Connect)) {
        record.ignoredReason = "missing CONNECT permission";
        return;
      }
      const occupants = [...world.voiceStates.values()].filter(
        (v) => v.channelId === channelId && v.userId !== botId,
      );
      if (
        (channel.userLimit ?? 0) > 0 &&
        occupants.length >= (channel.userLimit ?? 0) &&
        !has(perms, PERMISSIONS.MoveMembers)
      ) {
        record.ignoredReason = "channel full";
        return;
      }
      const vs = world.voiceStates.get(botId) ?? newVoiceState(botId, channelId);
      vs.channelId = channelId;
      vs.sessionId = conn.session?.sessionId ?? vs.sessionId;
      vs.selfMute = body.self_mute === true;
      vs.selfDeaf = body.self_deaf === true;
      world.voiceStates.set(botId, vs);
      this.dispatch("VOICE_STATE_UPDATE", apiVoiceState(world, vs, { withGuild: true }), {
        intent: INTENTS.GuildVoiceStates,
      });
      return;
    }
    const previous = world.voiceStates.get(botId);
    world.voiceStates.delete(botId);
    this.dispatch(
      "VOICE_STATE_UPDATE",
      {
        ...apiVoiceState(world, previous ?? newVoiceState(botId, ""), { withGuild: true }),
        channel_id: null,
        session_id: conn.session?.sessionId ?? previous?.sessionId,
      },
      { intent: INTENTS.GuildVoiceStates },
    );
  }

  #requestMembers(conn: GatewayConnection, d: unknown): void {
    const world = this.#state.world;
    const body = (d ?? {}) as Json;
    if (body.guild_id !== world.guild.id || !conn.session) return;
    const userIds = Array.isArray(body.user_ids)
      ? (body.user_ids as string[])
      : typeof body.user_ids === "string"
        ? [body.user_ids]
        : undefined;
    const query = typeof body.query === "string" ? body.query.toLowerCase() : "";
    const limit = typeof body.limit === "number" && body.limit > 0 ? body.limit : Number.POSITIVE_INFINITY;
    let ids = [...world.members.keys()];
    let notFound: string[] = [];
    if (userIds) {
      notFound = userIds.filter((id) => !world.members.has(id));
      ids = userIds.filter((id) => world.members.has(id));
    } else if (query) {
      ids = ids.filter((id) => world.users.get(id)?.username.toLowerCase().startsWith(query));
    }
    this.#dispatchTo(conn.session, "GUILD_MEMBERS_CHUNK", {
      guild_id: world.guild.id,
      members: ids.slice(0, limit).map((id) => apiMember(world, id)),
      chunk_index: 0,
      chunk_count: 1,
      not_found: notFound,
      ...(body.nonce !== undefined ? { nonce: body.nonce } : {}),
    });
  }
}
