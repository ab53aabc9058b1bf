import { randomBytes, randomInt } from "node:crypto";
import type { FakeDiscord } from "../discord/index.ts";
import { has, PERMISSIONS } from "../discord/permissions.ts";
import { permissionsIn } from "../discord/world.ts";
import type { DaveControl } from "./dave/control.ts";
import { VOICE_CLOSE, VOICE_OPS } from "./protocol.ts";
import { type Json, type PacketInfo, VoiceSession } from "./session.ts";

/**
 * The voice server's bookkeeping: tokens issued in VOICE_SERVER_UPDATE, sessions by SSRC, the checks
 * Discord makes on IDENTIFY and RESUME, and what a session learns from the main gateway's world
 * (the bot left or moved, other users came and went).
 */

export type Outcome = { ok: true; session: VoiceSession } | { ok: false; code: number; reason: string };

export type FailKind = "identify" | "resume";

export interface RegistryOptions {
  modes: readonly string[];
  heartbeatIntervalMs: number;
  onPacket: (session: VoiceSession, info: PacketInfo) => void;
  changed: () => void;
  dave: DaveControl;
}

export class SessionRegistry {
  readonly discord: FakeDiscord;
  readonly options: RegistryOptions;
  readonly sessions: VoiceSession[] = [];
  /** Latest token per guild: only that one identifies. */
  readonly issuedTokens = new Map<string, string>();
  readonly #bySsrc = new Map<number, VoiceSession>();
  readonly #failures: Array<{ kind: FailKind; code: number }> = [];
  /** Users whose own voice connection is down: still in the channel, but not on the voice server. */
  readonly offline = new Set<string>();

  constructor(discord: FakeDiscord, options: RegistryOptions) {
    this.discord = discord;
    this.options = options;
  }

  get #world() {
    return this.discord.state.world;
  }

  issueToken(guildId: string): string {
    const token = randomBytes(8).toString("hex");
    this.issuedTokens.set(guildId, token);
    return token;
  }

  failNext(kind: FailKind, code: number): void {
    this.#failures.push({ kind, code });
  }

  #takeFailure(kind: FailKind): Outcome | undefined {
    const index = this.#failures.findIndex((f) => f.kind === kind);
    if (index < 0) return undefined;
    const [failure] = this.#failures.splice(index, 1);
    return { ok: false, code: failure!.code, reason: `fake voice: ${kind} failed on purpose` };
  }

  identify(d: Json): Outcome {
    const forced = this.#takeFailure("identify");
    if (forced) return forced;
    const { server_id: guildId, user_id: userId, session_id: sessionId, token } = d;
    const dave = d.max_dave_protocol_version ?? 0;
    if (
      typeof guildId !== "string" ||
      typeof userId !== "string" ||
      typeof sessionId !== "string" ||
      typeof token !== "string" ||
      typeof dave !== "number"
    ) {
      return { ok: false, code: VOICE_CLOSE.FailedToDecode, reason: "Failed to decode payload" };
    }
    const world = this.#world;
    if (this.issuedTokens.get(guildId) !== token || userId !== world.botId) {
      return { ok: false, code: VOICE_CLOSE.AuthenticationFailed, reason: "Authentication failed" };
    }
    const voiceState = world.voiceStates.get(userId);
    if (!voiceState || voiceState.sessionId !== sessionId) {
      return { ok: false, code: VOICE_CLOSE.SessionNoLongerValid, reason: "Session is no longer valid" };
    }
    const daveSettings = this.options.dave;
    if (daveSettings.enabled && dave < daveSettings.minProtocolVersion) {
      // Since March 2026 Discord turns away clients without (a recent enough) DAVE.
      daveSettings.refusals += 1;
      return { ok: false, code: VOICE_CLOSE.DaveRequired, reason: "E2EE/DAVE protocol required" };
    }
    for (const old of this.sessions) {
      if (!old.ended && old.guildId === guildId && old.userId === userId) {
        this.end(old, VOICE_CLOSE.SessionNoLongerValid, "superseded by a new IDENTIFY");
      }
    }
    const session = new VoiceSession({
      ordinal: this.sessions.length + 1,
      guildId,
      channelId: voiceState.channelId,
      userId,
      sessionId,
      token,
      identify: d,
      ssrc: this.#newSsrc(),
      maxDaveProtocolVersion: dave,
    });
    this.sessions.push(session);
    this.#bySsrc.set(session.ssrc, session);
    return { ok: true, session };
  }

  resume(d: Json): Outcome {
    const forced = this.#takeFailure("resume");
    if (forced) return forced;
    const session = this.sessions.find(
      (s) => !s.ended && s.guildId === d.server_id && s.sessionId === d.session_id && s.token === d.token,
    );
    if (!session)
      return { ok: false, code: VOICE_CLOSE.SessionNoLongerValid, reason: "Session is no longer valid" };
    return { ok: true, session };
  }

  #newSsrc(): number {
    for (;;) {
      const ssrc = randomInt(1, 2 ** 32 - 1);
      if (!this.sessions.some((s) => s.ssrc === ssrc)) return ssrc;
    }
  }

  /** Starts the DAVE side of a session at SELECT PROTOCOL (undefined when the fake declines DAVE). */
  daveFor(session: VoiceSession): { version: number; begin(): void } | undefined {
    const control = this.options.dave;
    if (!control.enabled) return undefined;
    session.dave?.close();
    const call = control.createCall({
      userId: session.userId,
      channelId: () => session.channelId,
      sendJson: (op, d) => session.sendSequenced(op, d),
      sendBinary: (op, payload) => session.sendBinarySequenced(op, payload),
      present: () => this.#others(session),
    });
    session.dave = call;
    const version = call.negotiate(session.maxDaveProtocolVersion);
    return { version, begin: () => call.begin() };
  }

  /** The session sending with this SSRC, unless it has ended. */
  bySsrc(ssrc: number): VoiceSession | undefined {
    return this.#bySsrc.get(ssrc);
  }

  active(guildId?: string): VoiceSession[] {
    return this.sessions.filter((s) => !s.ended && (guildId === undefined || s.guildId === guildId));
  }

  end(session: VoiceSession, code: number, reason: string): void {
    if (session.ended) return;
    session.ended = true;
    session.endReason = reason;
    this.#bySsrc.delete(session.ssrc);
    session.link?.close(code, reason);
    session.dispose();
    this.options.changed();
  }

  /** Whether Discord would forward this session's audio to the channel right now. */
  isAudible(session: VoiceSession): boolean {
    const world = this.#world;
    const voiceState = world.voiceStates.get(session.userId);
    if (!voiceState || voiceState.channelId !== session.channelId) return false;
    if (voiceState.mute || voiceState.suppress) return false;
    return has(permissionsIn(world, session.userId, session.channelId), PERMISSIONS.Speak);
  }

  /** Follows the world after any change of the fake Discord: leaves end sessions, moves retarget them. */
  syncWithWorld(): void {
    const world = this.#world;
    for (const session of this.active()) {
      const voiceState = world.voiceStates.get(session.userId);
      if (!voiceState) {
        this.end(session, VOICE_CLOSE.Disconnected, "Disconnected: the bot left the voice channel");
        continue;
      }
      session.channelId = voiceState.channelId;
      this.announceClients(session);
      session.dave?.sync();
    }
  }

  /** CLIENTS_CONNECT / CLIENT_DISCONNECT for the other users in the session's channel. */
  announceClients(session: VoiceSession): void {
    const present = new Set(this.#others(session));
    const joined = [...present].filter((id) => !session.announcedClients.has(id));
    const left = [...session.announcedClients].filter((id) => !present.has(id));
    for (const id of left) {
      session.announcedClients.delete(id);
      session.sendSequenced(VOICE_OPS.ClientDisconnect, { user_id: id });
    }
    if (joined.length > 0) {
      for (const id of joined) session.announcedClients.add(id);
      session.sendSequenced(VOICE_OPS.ClientsConnect, { user_ids: joined });
    }
  }

  /** The other users connected to the voice server in the session's channel. */
  #others(session: VoiceSession): string[] {
    return [...this.#world.voiceStates.values()]
      .filter(
        (v) =>
          v.channelId === session.channelId && v.userId !== session.userId && !this.offline.has(v.userId),
      )
      .map((v) => v.userId);
  }

  disposeAll(): void {
    for (const session of this.sessions) session.dispose();
  }
}
