import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { RawData, WebSocket } from "ws";
import { CLIENT_BINARY_OPS, parseClientFrame } from "./dave/framing.ts";
import { VOICE_CLOSE, VOICE_GATEWAY_VERSION, VOICE_OPS } from "./protocol.ts";
import type { SessionRegistry } from "./registry.ts";
import type { Json, SessionLink, VoiceSession } from "./session.ts";

/**
 * One voice websocket, v8: HELLO on connect; IDENTIFY → READY; SELECT PROTOCOL → SESSION DESCRIPTION;
 * heartbeats with `seq_ack`; RESUME → missed messages again, then RESUMED. Closes with Discord's codes
 * when a client breaks the protocol, and with 4009 when heartbeats stop for two intervals.
 */

/** Timer jitter of a busy test process must not look like a dead client. */
const HEARTBEAT_SLACK_MS = 250;

export interface VoiceSocketRecord {
  ordinal: number;
  /** `performance.now()`. */
  openedAt: number;
  query: Record<string, string>;
  /** Every message from the client (`op` undefined for unparsable frames; binary DAVE frames carry their op). */
  received: Array<{ op: number | undefined; d: unknown; at: number }>;
  /** How this socket got its session, if it did. */
  kind?: "identify" | "resume";
  session?: VoiceSession;
  closeCode?: number;
  closeReason?: string;
  closedBy?: "server" | "client";
}

export interface SocketEnv {
  registry: SessionRegistry;
  udpPort: number;
  host: string;
}

interface Refusal {
  code: number;
  reason: string;
}

const ALREADY_AUTHENTICATED: Refusal = {
  code: VOICE_CLOSE.AlreadyAuthenticated,
  reason: "Already authenticated",
};

/** Client ops this fake understands; anything else closes with 4001. */
const KNOWN_OPS = new Set<number>([
  VOICE_OPS.Identify,
  VOICE_OPS.SelectProtocol,
  VOICE_OPS.Heartbeat,
  VOICE_OPS.Speaking,
  VOICE_OPS.Resume,
  VOICE_OPS.DaveTransitionReady,
  VOICE_OPS.DaveMlsInvalidCommitWelcome,
]);

export class VoiceSocket {
  readonly record: VoiceSocketRecord;
  readonly #ws: WebSocket;
  readonly #env: SocketEnv;
  readonly #link: SessionLink;
  #session?: VoiceSession;
  #heartbeatTimer?: NodeJS.Timeout;

  constructor(ws: WebSocket, req: IncomingMessage, ordinal: number, env: SocketEnv) {
    this.#ws = ws;
    this.#env = env;
    const url = new URL(req.url ?? "/", "https://fake.invalid");
    this.record = {
      ordinal,
      openedAt: performance.now(),
      query: Object.fromEntries(url.searchParams),
      received: [],
    };
    this.#link = {
      sendText: (text) => this.#sendText(text),
      sendBinary: (data) => this.#sendBinary(data),
      close: (code, reason) => this.close(code, reason),
    };
    ws.on("error", () => {});
    ws.on("close", (code, reason) => this.#onClose(code, reason.toString()));
    if (this.record.query.v !== VOICE_GATEWAY_VERSION) {
      // Discord still serves v4–v7; this fake implements only v8, so it refuses rather than pretend.
      this.close(VOICE_CLOSE.BadRequest, `fake voice speaks only v${VOICE_GATEWAY_VERSION}`);
      return;
    }
    ws.on("message", (data, isBinary) => this.#onMessage(data, isBinary));
    this.#send({ op: VOICE_OPS.Hello, d: { v: 8, heartbeat_interval: this.#interval } });
    this.#armHeartbeatTimeout();
  }

  get #interval(): number {
    return this.#env.registry.options.heartbeatIntervalMs;
  }

  get session(): VoiceSession | undefined {
    return this.#session;
  }

  close(code: number, reason: string): void {
    if (this.record.closedBy) return;
    this.record.closedBy = "server";
    this.record.closeCode = code;
    this.record.closeReason = reason;
    this.#detach(code);
    this.#ws.close(code, reason);
  }

  #send(payload: { op: number; d: unknown }): void {
    this.#sendText(JSON.stringify(payload));
  }

  #sendText(text: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(text);
  }

  #sendBinary(data: Buffer): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(data, { binary: true });
  }

  #armHeartbeatTimeout(): void {
    clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = setTimeout(
      () => {
        const session = this.#session;
        this.close(VOICE_CLOSE.SessionTimeout, "Session timed out");
        if (session) this.#env.registry.end(session, VOICE_CLOSE.SessionTimeout, "heartbeats stopped");
      },
      this.#interval * 2 + HEARTBEAT_SLACK_MS,
    );
    this.#heartbeatTimer.unref();
  }

  #onClose(code: number, reason: string): void {
    clearTimeout(this.#heartbeatTimer);
    if (!this.record.closedBy) {
      this.record.closedBy = "client";
      this.record.closeCode = code;
      this.record.closeReason = reason;
    }
    this.#detach(this.record.closeCode ?? code);
    this.#env.registry.options.changed();
  }

  #attach(session: VoiceSession): void {
    if (session.link && session.link !== this.#link) {
      session.link.close(VOICE_CLOSE.SessionNoLongerValid, "Session resumed on another connection");
    }
    this.#session = session;
    this.record.session = session;
    session.link = this.#link;
    session.closed = false;
  }

  #detach(code: number): void {
    const session = this.#session;
    if (!session || session.link !== this.#link) return;
    session.link = undefined;
    session.closed = true;
    session.closeCode = code;
    session.closeCodes.push(code);
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const at = performance.now();
    if (isBinary) {
      this.#onBinary(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), at);
      this.#env.registry.options.changed();
      return;
    }
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(data.toString());
    } catch {
      this.record.received.push({ op: undefined, d: data.toString(), at });
      this.close(VOICE_CLOSE.FailedToDecode, "Failed to decode payload");
      return;
    }
    const op = typeof payload.op === "number" ? payload.op : undefined;
    this.record.received.push({ op, d: payload.d, at });
    if (op === undefined) {
      this.close(VOICE_CLOSE.FailedToDecode, "Failed to decode payload");
    } else if (!KNOWN_OPS.has(op)) {
      this.close(VOICE_CLOSE.UnknownOpcode, "Unknown opcode");
    } else {
      this.#handle(op, payload.d, at);
    }
    this.#env.registry.options.changed();
  }

  /** DAVE's client binary frames: `op:u8 payload` (key package 26, commit/welcome 28). */
  #onBinary(data: Buffer, at: number): void {
    const frame = parseClientFrame(data);
    this.record.received.push({ op: frame?.op, d: data, at });
    const session = this.#session;
    if (!frame) this.close(VOICE_CLOSE.FailedToDecode, "Failed to decode payload");
    else if (!CLIENT_BINARY_OPS.has(frame.op)) this.close(VOICE_CLOSE.UnknownOpcode, "Unknown opcode");
    else if (!session) this.close(VOICE_CLOSE.NotAuthenticated, "Not authenticated");
    else session.dave?.fromBotBinary(frame.op, frame.payload);
  }

  #handle(op: number, d: unknown, at: number): void {
    const refusal = this.#route(op, d, at);
    if (refusal) this.close(refusal.code, refusal.reason);
  }

  #route(op: number, d: unknown, at: number): Refusal | undefined {
    const body = (typeof d === "object" && d !== null ? d : {}) as Json;
    // Heartbeats are fine before IDENTIFY: a client may start its interval as soon as HELLO arrives.
    if (op === VOICE_OPS.Heartbeat) return this.#heartbeat(d, body);
    if (op === VOICE_OPS.Identify) return this.#identify(body);
    if (op === VOICE_OPS.Resume) return this.#resume(body);
    const session = this.#session;
    if (!session) return { code: VOICE_CLOSE.NotAuthenticated, reason: "Not authenticated" };
    if (op === VOICE_OPS.SelectProtocol) return this.#selectProtocol(session, body);
    if (op === VOICE_OPS.Speaking) {
      session.speaking.push({ at, speaking: Number(body.speaking), delay: body.delay, ssrc: body.ssrc });
    }
    if (op === VOICE_OPS.DaveTransitionReady || op === VOICE_OPS.DaveMlsInvalidCommitWelcome) {
      session.dave?.fromBotJson(op, body);
    }
    return undefined;
  }

  #heartbeat(d: unknown, body: Json): undefined {
    this.#armHeartbeatTimeout();
    if (typeof body.seq_ack === "number" && this.#session) this.#session.lastSeqAck = body.seq_ack;
    if (this.#session) this.#session.heartbeats += 1;
    this.#send({ op: VOICE_OPS.HeartbeatAck, d: { t: typeof d === "object" && d !== null ? body.t : d } });
    return undefined;
  }

  #identify(body: Json): Refusal | undefined {
    if (this.#session) return ALREADY_AUTHENTICATED;
    const registry = this.#env.registry;
    const outcome = registry.identify(body);
    if (!outcome.ok) return outcome;
    const session = outcome.session;
    this.record.kind = "identify";
    this.#attach(session);
    session.sendSequenced(VOICE_OPS.Ready, {
      ssrc: session.ssrc,
      ip: this.#env.host,
      port: this.#env.udpPort,
      modes: registry.options.modes,
      // Discord documents this field as erroneous (HELLO's interval is the real one); a bogus value
      // exposes clients that read it.
      heartbeat_interval: 1,
    });
    registry.announceClients(session);
    return undefined;
  }

  #selectProtocol(session: VoiceSession, body: Json): Refusal | undefined {
    if (body.protocol !== "udp") return { code: VOICE_CLOSE.UnknownProtocol, reason: "Unknown protocol" };
    const data = (typeof body.data === "object" && body.data !== null ? body.data : {}) as Json;
    if (typeof data.address !== "string" || typeof data.port !== "number" || typeof data.mode !== "string") {
      return { code: VOICE_CLOSE.FailedToDecode, reason: "Failed to decode payload" };
    }
    if (!this.#env.registry.options.modes.includes(data.mode)) {
      return { code: VOICE_CLOSE.UnknownEncryptionMode, reason: "Unknown encryption mode" };
    }
    const secretKey = new Uint8Array(randomBytes(32));
    session.selectProtocol = body;
    const dave = this.#env.registry.daveFor(session);
    session.describe(data.mode, secretKey, dave?.version ?? 0);
    session.sendSequenced(VOICE_OPS.SessionDescription, {
      audio_codec: "opus",
      media_session_id: randomBytes(16).toString("hex"),
      mode: data.mode,
      secret_key: [...secretKey],
      dave_protocol_version: dave?.version ?? 0,
    });
    // The external sender package and the rest of the handshake follow SESSION DESCRIPTION.
    dave?.begin();
    return undefined;
  }

  #resume(body: Json): Refusal | undefined {
    if (this.#session) return ALREADY_AUTHENTICATED;
    const outcome = this.#env.registry.resume(body);
    if (!outcome.ok) return outcome;
    const session = outcome.session;
    this.record.kind = "resume";
    this.#attach(session);
    const ack = typeof body.seq_ack === "number" ? body.seq_ack : -1;
    for (const message of session.outbox) {
      if (message.seq <= ack) continue;
      session.replayed += 1;
      if (message.binary) this.#sendBinary(message.binary);
      else if (message.text) this.#sendText(message.text);
    }
    session.resumed += 1;
    this.#send({ op: VOICE_OPS.Resumed, d: null });
    return undefined;
  }
}
