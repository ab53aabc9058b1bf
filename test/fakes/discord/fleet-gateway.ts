import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { GatewayConnection, GatewayPayload } from "./gateway.ts";
import { closeSockets, nextDispatch, readFrame, readyBody, sendFrame } from "./gateway-wire.ts";
import { randomHex } from "./ids.ts";
import { gatewayGuildCreate, type Json } from "./serialize.ts";
import type { FakeDiscord } from "./server.ts";

/**
 * The sharded gateway of the fleet fake (`fleet.ts`): IDENTIFY with `shard: [id, count]`, READY and
 * GUILD_CREATE for the guilds of that shard only (`(guild_id >> 22) % count`), and every guild's
 * dispatches routed to the sessions of its shard. The identify rate is enforced as Discord documents
 * it: one IDENTIFY per rate-limit bucket (`shard_id % max_concurrency`) per window (5 s); an IDENTIFY
 * that breaks it is answered op 9 Invalid Session with `d: false`. A shard id outside the count is
 * closed 4010 "Invalid shard", and a count below what the guilds need 4011 "Sharding required".
 */

export interface IdentifyRecord {
  shardId: number;
  shardCount: number;
  bucket: number;
  at: number;
  /** False: answered op 9 (identify rate broken) or closed (bad shard / count). */
  accepted: boolean;
  reason?: "rate" | "invalid shard" | "sharding required";
}

export interface FleetGatewayOptions {
  botToken: string;
  heartbeatIntervalMs: number;
  maxConcurrency: number;
  /** Discord's window is 5000 ms; benches shorten it (and scale the figures). */
  identifyWindowMs: number;
  /** The smallest shard count accepted (4011 below it). */
  requiredShards: number;
  gatewayUrl: () => string;
}

interface FrontSession {
  sessionId: string;
  shard: [number, number];
  intents: number;
  seq: number;
  buffer: GatewayPayload[];
  conn?: FrontConnection;
  invalidated: boolean;
}

interface FrontConnection {
  ws: WebSocket;
  session?: FrontSession;
  ready: boolean;
}

/** The shard a guild's events go to: Discord's `(guild_id >> 22) % num_shards`. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

export class FleetGateway {
  readonly wss = new WebSocketServer({ noServer: true });
  readonly sessions = new Map<string, FrontSession>();
  readonly connections = new Set<FrontConnection>();
  /** Every IDENTIFY, accepted or not, in arrival order. */
  readonly identifies: IdentifyRecord[] = [];
  /** Ops received from clients (op, d, shard of the connection). */
  readonly ops: { op: number; d: unknown; at: number; shard?: [number, number] }[] = [];
  readonly #members: FakeDiscord[];
  readonly #relays = new Map<string, { member: FakeDiscord; conn: GatewayConnection }>();
  readonly #lastIdentify = new Map<number, number>();
  readonly #opts: FleetGatewayOptions;

  constructor(members: FakeDiscord[], opts: FleetGatewayOptions) {
    this.#members = members;
    this.#opts = opts;
    for (const member of members) {
      const guildId = member.fixtures.guild.id;
      const conn = member.state.gateway.attachRelay(0, (payload) => this.#fromGuild(guildId, payload));
      this.#relays.set(guildId, { member, conn });
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.#onConnection(ws));
  }

  /** Sessions currently connected and ready, with their shard. */
  readySessions(): { sessionId: string; shard: [number, number] }[] {
    return [...this.sessions.values()]
      .filter((s) => !s.invalidated && s.conn?.ready === true)
      .map((s) => ({ sessionId: s.sessionId, shard: s.shard }));
  }

  /** Drops every socket of the sessions of one shard (4000: the client resumes), as when a shard dies. */
  disconnectShard(shardId: number, code = 4000, invalidate = false): void {
    for (const conn of this.connections) {
      if (conn.session?.shard[0] !== shardId) continue;
      if (invalidate) conn.session.invalidated = true;
      conn.ready = false;
      conn.ws.close(code, "fake discord: shard disconnected");
    }
  }

  close(): Promise<void> {
    return closeSockets(this.wss, this.connections);
  }

  #onConnection(ws: WebSocket): void {
    const conn: FrontConnection = { ws, ready: false };
    this.connections.add(conn);
    ws.on("close", () => {
      this.connections.delete(conn);
      if (conn.session?.conn === conn) conn.session.conn = undefined;
    });
    ws.on("error", () => {});
    ws.on("message", (data, isBinary) => void this.#onMessage(conn, data, isBinary));
    this.#send(conn, { op: 10, d: { heartbeat_interval: this.#opts.heartbeatIntervalMs } });
  }

  #send(conn: FrontConnection, payload: { op: number; d: unknown; s?: number | null; t?: string | null }) {
    sendFrame(conn.ws, payload);
  }

  #dispatchTo(session: FrontSession, t: string, d: unknown): void {
    const payload = nextDispatch(session, t, d);
    if (session.conn?.ready) this.#send(session.conn, payload);
  }

  /** A member guild's dispatch: to every live session of that guild's shard (as Discord does). */
  #fromGuild(guildId: string, payload: GatewayPayload): void {
    if (payload.op !== 0 || payload.t === null) return;
    for (const session of this.sessions.values()) {
      if (session.invalidated) continue;
      if (shardOf(guildId, session.shard[1]) !== session.shard[0]) continue;
      this.#dispatchTo(session, payload.t, payload.d);
    }
  }

  async #onMessage(conn: FrontConnection, data: RawData, isBinary: boolean): Promise<void> {
    const payload = readFrame(conn.ws, data, isBinary);
    if (!payload) return;
    const op = payload.op;
    this.ops.push({
      op,
      d: payload.d,
      at: Date.now(),
      ...(conn.session ? { shard: conn.session.shard } : {}),
    });
    switch (op) {
      case 1:
        this.#send(conn, { op: 11, d: null });
        return;
      case 2:
        this.#identify(conn, payload.d);
        return;
      case 6:
        this.#resume(conn, payload.d);
        return;
      case 3:
      case 4:
      case 8:
      case 14:
      case 31: {
        if (!conn.session) {
          conn.ws.close(4003, "Not authenticated.");
          return;
        }
        const guildId = (payload.d as Json | null)?.guild_id;
        const relay = typeof guildId === "string" ? this.#relays.get(guildId) : undefined;
        // Discord ignores ops about a guild that is not on the connection's shard.
        if (relay && shardOf(guildId as string, conn.session.shard[1]) === conn.session.shard[0]) {
          await relay.member.state.gateway.relayOp(relay.conn, { op, d: payload.d });
        }
        return;
      }
      default:
        conn.ws.close(4001, "Unknown opcode.");
    }
  }

  #identify(conn: FrontConnection, d: unknown): void {
    if (conn.session) {
      conn.ws.close(4005, "Already authenticated.");
      return;
    }
    const body = (d ?? {}) as Json;
    if (body.token !== this.#opts.botToken) {
      conn.ws.close(4004, "Authentication failed.");
      return;
    }
    const intents = body.intents;
    if (typeof intents !== "number" || !Number.isInteger(intents) || intents < 0) {
      conn.ws.close(4013, "Invalid intent(s).");
      return;
    }
    const shard = body.shard ?? [0, 1];
    const valid =
      Array.isArray(shard) &&
      shard.length === 2 &&
      shard.every((n) => Number.isInteger(n)) &&
      shard[1] >= 1 &&
      shard[0] >= 0 &&
      shard[0] < shard[1];
    const now = Date.now();
    if (!valid) {
      this.identifies.push({
        shardId: -1,
        shardCount: -1,
        bucket: -1,
        at: now,
        accepted: false,
        reason: "invalid shard",
      });
      conn.ws.close(4010, "Invalid shard.");
      return;
    }
    const [shardId, shardCount] = shard as [number, number];
    const bucket = shardId % this.#opts.maxConcurrency;
    const record: IdentifyRecord = { shardId, shardCount, bucket, at: now, accepted: false };
    this.identifies.push(record);
    if (shardCount < this.#opts.requiredShards) {
      record.reason = "sharding required";
      conn.ws.close(4011, "Sharding required.");
      return;
    }
    const last = this.#lastIdentify.get(bucket);
    if (last !== undefined && now - last < this.#opts.identifyWindowMs) {
      // Discord: "you can only identify max_concurrency shards per 5 seconds" per bucket; a faster
      // login gets op 9 with d: false, and the client must identify again later.
      record.reason = "rate";
      this.#send(conn, { op: 9, d: false });
      return;
    }
    this.#lastIdentify.set(bucket, now);
    record.accepted = true;
    const session: FrontSession = {
      sessionId: randomHex(16),
      shard: [shardId, shardCount],
      intents,
      seq: 0,
      buffer: [],
      conn,
      invalidated: false,
    };
    this.sessions.set(session.sessionId, session);
    conn.session = session;
    conn.ready = true;
    const mine = this.#members.filter((m) => shardOf(m.fixtures.guild.id, shardCount) === shardId);
    for (const member of mine) {
      const relay = this.#relays.get(member.fixtures.guild.id);
      if (relay?.conn.session) relay.conn.session.intents = intents;
    }
    const primary = this.#members[0]!;
    const world = primary.state.world;
    this.#dispatchTo(
      session,
      "READY",
      readyBody(world, {
        sessionId: session.sessionId,
        guilds: mine.map((m) => ({ id: m.fixtures.guild.id, unavailable: true as const })),
        resumeUrl: this.#opts.gatewayUrl(),
        shard: [shardId, shardCount],
        applicationFlags: primary.state.opts.applicationFlags,
      }),
    );
    for (const member of mine) {
      this.#dispatchTo(
        session,
        "GUILD_CREATE",
        gatewayGuildCreate(member.state.world, { includeAllMembers: (intents & (1 << 8)) !== 0 }),
      );
    }
  }

  #resume(conn: FrontConnection, d: unknown): void {
    const body = (d ?? {}) as Json;
    const session = typeof body.session_id === "string" ? this.sessions.get(body.session_id) : undefined;
    if (!session || session.invalidated || body.token !== this.#opts.botToken) {
      this.#send(conn, { op: 9, d: false });
      return;
    }
    const seq = typeof body.seq === "number" ? body.seq : 0;
    const oldest = session.buffer[0]?.s ?? session.seq + 1;
    if (seq > session.seq || seq + 1 < oldest) {
      this.#send(conn, { op: 9, d: false });
      return;
    }
    if (session.conn && session.conn !== conn) {
      session.conn.ready = false;
      session.conn.ws.close(4000, "Session resumed elsewhere.");
    }
    session.conn = conn;
    conn.session = session;
    conn.ready = true;
    for (const payload of session.buffer) if ((payload.s ?? 0) > seq) this.#send(conn, payload);
    this.#dispatchTo(session, "RESUMED", {});
  }
}
