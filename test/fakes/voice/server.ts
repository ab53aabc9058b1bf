import { EventEmitter, once } from "node:events";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { waitUntil } from "../common/wait.ts";
import type { FakeDiscord } from "../discord/index.ts";
import { fakeVoiceCertificate, trustFakeVoiceCertificate } from "./certificate.ts";
import { DaveControl, type DaveOptions } from "./dave/control.ts";
import { DEFAULT_MODES, DEFAULT_VOICE_HEARTBEAT_MS, VOICE_CLOSE } from "./protocol.ts";
import { type FailKind, SessionRegistry } from "./registry.ts";
import type { PacketInfo, VoiceSession } from "./session.ts";
import { installSignalling } from "./signalling.ts";
import { VoiceUdp } from "./udp.ts";
import { VoiceSocket, type VoiceSocketRecord } from "./voice-socket.ts";

const HOST = "127.0.0.1";

export interface FakeVoiceOptions {
  /** Encryption modes READY offers, in order (default AES-GCM then XChaCha20, as Discord lists them). */
  modes?: readonly string[];
  /** HELLO's heartbeat_interval (default 13750 ms); two intervals without a heartbeat close with 4009. */
  heartbeatIntervalMs?: number;
  /** Token to put in VOICE_SERVER_UPDATE instead of the issued one (see `FakeVoice.tokenOverride`). */
  tokenOverride?: (issued: string) => string;
  /** Called for every decrypted RTP packet, like `on("packet")`. */
  onPacket?: (session: VoiceSession, info: PacketInfo) => void;
  /** Trust the certificate in this process (default true). */
  trustCertificate?: boolean;
  /** DAVE (end-to-end encryption), on by default as on Discord since March 2026; `false` declines it. */
  dave?: DaveOptions | false;
}

export interface WaitForAudioOptions {
  guildId?: string;
  /** Decoded audio at least this long. */
  minDurationMs?: number;
  /** And no packet (audio or silence) for this long. */
  quietMs?: number;
  timeoutMs?: number;
}

export type FakeVoiceEvents = { packet: [session: VoiceSession, info: PacketInfo] };

export class FakeVoice extends EventEmitter<FakeVoiceEvents> {
  /** `127.0.0.1:PORT`, as VOICE_SERVER_UPDATE carries it. */
  readonly endpoint: string;
  readonly port: number;
  readonly udpPort: number;
  /** Errors thrown by `packet` listeners (kept so a bad listener cannot kill the UDP handler). */
  readonly internalErrors: Error[] = [];
  /**
   * While set, VOICE_SERVER_UPDATE carries this instead of the issued token, so IDENTIFY fails with
   * 4004 and @discordjs/voice rejoins (and fails again) until it is cleared.
   */
  tokenOverride: ((issued: string) => string) | undefined;
  /** DAVE switches, simulated members' settings, faults, and every call's delivery service. */
  readonly dave: DaveControl;

  readonly #registry: SessionRegistry;
  readonly #discord: FakeDiscord;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #udp: VoiceUdp;
  readonly #sockets = new Set<VoiceSocket>();
  readonly #records: VoiceSocketRecord[] = [];
  readonly #bus = new EventEmitter();
  #uninstall: () => void = () => {};

  /** @internal use `startFakeVoice`. */
  constructor(parts: {
    discord: FakeDiscord;
    registry: SessionRegistry;
    server: Server;
    udp: VoiceUdp;
    options: FakeVoiceOptions;
  }) {
    super();
    this.#bus.setMaxListeners(0);
    this.#discord = parts.discord;
    this.#registry = parts.registry;
    this.#server = parts.server;
    this.#udp = parts.udp;
    this.port = (parts.server.address() as AddressInfo).port;
    this.udpPort = parts.udp.port;
    this.endpoint = `${HOST}:${this.port}`;
    this.tokenOverride = parts.options.tokenOverride;
    this.dave = parts.registry.options.dave;
    this.#wss = new WebSocketServer({ server: parts.server });
    this.#wss.on("connection", (ws, req) => {
      const socket = new VoiceSocket(ws, req, this.#records.length + 1, {
        registry: this.#registry,
        udpPort: this.udpPort,
        host: HOST,
      });
      this.#records.push(socket.record);
      this.#sockets.add(socket);
      ws.on("close", () => this.#sockets.delete(socket));
      this.changed();
    });
  }

  /** @internal */
  install(): void {
    this.#uninstall = installSignalling(this.#discord, this.#registry, {
      endpoint: this.endpoint,
      tokenFor: (issued) => this.tokenOverride?.(issued) ?? issued,
    });
  }

  /** @internal */
  changed(): void {
    this.#bus.emit("change");
  }

  /** @internal */
  notePacket(session: VoiceSession, info: PacketInfo, onPacket?: FakeVoiceOptions["onPacket"]): void {
    try {
      onPacket?.(session, info);
      this.emit("packet", session, info);
    } catch (error) {
      this.internalErrors.push(error instanceof Error ? error : new Error(String(error)));
    }
    this.changed();
  }

  /** Every session that identified, oldest first. */
  get sessions(): VoiceSession[] {
    return this.#registry.sessions;
  }

  /** Every voice websocket, with what it received and how it closed. */
  get connections(): VoiceSocketRecord[] {
    return this.#records;
  }

  /** UDP datagrams that matched no live session. */
  get strayPackets(): number {
    return this.#udp.strayPackets;
  }

  /** The token the fake expects in IDENTIFY for a guild (the latest it issued). */
  issuedToken(guildId?: string): string | undefined {
    return this.#registry.issuedTokens.get(guildId ?? this.#discord.state.world.guild.id);
  }

  /** The newest session that can still be resumed. */
  activeSession(guildId?: string): VoiceSession | undefined {
    return this.#registry.active(guildId).at(-1);
  }

  waitForSession(
    predicate: (s: VoiceSession) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<VoiceSession> {
    return waitUntil(this.#bus, () => this.sessions.find(predicate), {
      timeoutMs,
      what: "a voice session",
      fake: "fake voice",
    });
  }

  /** The first websocket closed with `code` (or matching), including ones closed already. */
  waitForClose(
    match: number | ((r: VoiceSocketRecord) => boolean),
    timeoutMs = 5000,
  ): Promise<VoiceSocketRecord> {
    const test = typeof match === "number" ? (r: VoiceSocketRecord) => r.closeCode === match : match;
    return waitUntil(this.#bus, () => this.#records.find((r) => r.closeCode !== undefined && test(r)), {
      timeoutMs,
      what: "a voice websocket to close",
      fake: "fake voice",
    });
  }

  /** A session that has received audio (long enough, and quiet for `quietMs` if given). */
  waitForAudio(opts: WaitForAudioOptions = {}): Promise<VoiceSession> {
    const { guildId, minDurationMs = 0, quietMs, timeoutMs = 10_000 } = opts;
    const check = () =>
      this.sessions.find(
        (s) =>
          (guildId === undefined || s.guildId === guildId) &&
          s.packets > 0 &&
          s.durationMs() >= minDurationMs &&
          (quietMs === undefined || performance.now() - (s.lastPacketAt ?? 0) >= quietMs),
      );
    return waitUntil(this.#bus, check, {
      timeoutMs,
      what: `audio (${minDurationMs} ms${quietMs === undefined ? "" : `, then ${quietMs} ms quiet`})`,
      fake: "fake voice",
      ...(quietMs === undefined ? {} : { pollMs: Math.max(5, Math.min(20, quietMs / 4)) }),
    });
  }

  /**
   * Disconnects the bot as a moderator would: VOICE_STATE_UPDATE with channel_id null on the main
   * gateway, then the voice websocket closes with 4014.
   */
  kick(guildId?: string): void {
    const world = this.#discord.state.world;
    if (guildId !== undefined && guildId !== world.guild.id)
      throw new Error(`fake voice: unknown guild ${guildId}`);
    this.#discord.setVoiceState(world.botId, null);
    for (const session of this.#registry.active(world.guild.id)) {
      this.#registry.end(session, VOICE_CLOSE.Disconnected, "Disconnected: kicked");
    }
  }

  /**
   * Closes the live voice websockets with `code` (4015: the voice server crashed) without ending their
   * sessions, so a client can RESUME. Returns the sessions dropped.
   */
  drop(code: number = VOICE_CLOSE.VoiceServerCrashed, guildId?: string): VoiceSession[] {
    const dropped = this.#registry.active(guildId).filter((s) => s.link);
    for (const session of dropped) session.link?.close(code, "fake voice: connection dropped");
    return dropped;
  }

  /**
   * A member's own voice connection drops (CLIENT_DISCONNECT, and with DAVE a removal from the group)
   * while their voice state stays, as when their client crashes; `reconnectMember` brings them back.
   */
  disconnectMember(userId: string): void {
    this.#registry.offline.add(userId);
    this.#registry.syncWithWorld();
  }

  reconnectMember(userId: string): void {
    this.#registry.offline.delete(userId);
    this.#registry.syncWithWorld();
  }

  /** Makes the next IDENTIFY or RESUME fail with `code` (default 4006, session no longer valid). */
  failNext(kind: FailKind, code: number = VOICE_CLOSE.SessionNoLongerValid): void {
    this.#registry.failNext(kind, code);
  }

  /** Stops answering op 4 and closes everything. Destroy voice connections first, or they will retry. */
  async close(): Promise<void> {
    this.#uninstall();
    for (const socket of this.#sockets) socket.close(1001, "fake voice: shutting down");
    const deadline = Date.now() + 1000;
    while (this.#sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    await this.#udp.close();
    this.#registry.disposeAll();
  }
}

export async function startFakeVoice(
  discord: FakeDiscord,
  options: FakeVoiceOptions = {},
): Promise<FakeVoice> {
  if (options.trustCertificate !== false) trustFakeVoiceCertificate();
  const modes = options.modes ?? DEFAULT_MODES;
  if (modes.length === 0) throw new Error("fake voice: offer at least one encryption mode");
  let voice: FakeVoice | undefined;
  const registry = new SessionRegistry(discord, {
    modes,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? DEFAULT_VOICE_HEARTBEAT_MS,
    onPacket: (session, info) => voice?.notePacket(session, info, options.onPacket),
    changed: () => voice?.changed(),
    dave: new DaveControl(options.dave === false ? { enabled: false } : (options.dave ?? {}), () =>
      voice?.changed(),
    ),
  });
  const server = createServer(fakeVoiceCertificate());
  server.listen(0, HOST);
  await once(server, "listening");
  const udp = await VoiceUdp.bind(HOST, registry);
  voice = new FakeVoice({ discord, registry, server, udp, options });
  voice.install();
  return voice;
}
