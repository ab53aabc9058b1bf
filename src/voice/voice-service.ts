import { randomUUID } from "node:crypto";
import {
  type DiscordGatewayAdapterCreator,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
  VoiceConnectionDisconnectReason,
  VoiceConnectionStatus,
} from "@discordjs/voice";
import type { Logger } from "../logger.ts";
import type { SpeechRequest } from "../speech/types.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { createDaveWatch, type DaveWatch } from "./dave-watch.ts";
import {
  type ClipReservation,
  createGuildPlayer,
  type GuildPlayer,
  type NowPlaying,
  type PlayItem,
} from "./guild-player.ts";
import type { QueueLimits } from "./queue.ts";
import type { SourceOutcome, SpeechSource } from "./speech-source.ts";

/**
 * Voice channels: one session per guild (a connection, its player and queue, the text channel it is
 * bound to), kept alive through drops and cleaned up on every way out: /leave, an empty channel, an
 * idle timeout, a kick, a deleted channel.
 */

/** What the voice layer needs from the Discord client, kept small so the service has no Client. */
export interface VoiceHost {
  adapterCreator(guildId: string): DiscordGatewayAdapterCreator | undefined;
  /** Members in the channel who are not bots. */
  humansIn(guildId: string, channelId: string): number;
  botUserId(): string | undefined;
  /** A short notice in a text channel (never pings anyone). */
  post(channelId: string, content: string): Promise<void>;
}

export interface VoiceOptions {
  limits: QueueLimits;
  /** Leave after this long with nothing to play. */
  idleMs: number;
  /** How long a join may take before it is reported as failed. */
  connectTimeoutMs: number;
  /** DAVE session recoveries within a minute that make the bot rejoin with a fresh handshake. */
  daveFailureRejoin: number;
}

export interface VoiceServiceDeps {
  host: VoiceHost;
  openSource(request: SpeechRequest): SpeechSource;
  logger: Logger;
  options: VoiceOptions;
  /** Told how many voice channels the bot is in whenever that changes. */
  onSessions?(count: number): void;
  /** Told when a clip's synthesis has settled: bill it, or report a failure. */
  onSettled?(outcome: SourceOutcome, item: PlayItem & { guildId: string; textChannelId: string }): void;
}

export type LeaveReason = "command" | "empty" | "idle" | "kicked" | "channel-deleted" | "failed" | "shutdown";

export interface VoiceStatus {
  voiceChannelId: string;
  textChannelId: string;
  nowPlaying: NowPlaying | undefined;
  upcoming: PlayItem[];
  connected: boolean;
}

export interface EnqueueInput {
  guildId: string;
  voiceChannelId: string;
  textChannelId: string;
  userId: string;
  label: string;
  request: SpeechRequest;
  chars: number;
  /**
   * Characters held for the clip by the request planner (required: a clip cannot reach the provider
   * without one); settled when its synthesis ends, released if it never plays.
   */
  reservation: ClipReservation;
}

export interface VoiceService {
  /** Joins (or moves to) a channel and binds the text channel; resolves once the connection is ready. */
  join(input: { guildId: string; voiceChannelId: string; textChannelId: string }): Promise<{
    moved: boolean;
    already: boolean;
  }>;
  /** Leaves; false when the bot was not in voice there. */
  leave(guildId: string, reason?: LeaveReason): boolean;
  /** Joins if needed, then queues. Position 0 means it plays now. */
  enqueue(input: EnqueueInput): Promise<{ position: number; joined: boolean }>;
  skip(guildId: string): PlayItem | undefined;
  stop(guildId: string): number;
  status(guildId: string): VoiceStatus | undefined;
  /** Feed of member voice moves (from VOICE_STATE_UPDATE). */
  onVoiceState(change: {
    guildId: string;
    userId: string;
    oldChannelId: string | null;
    newChannelId: string | null;
  }): void;
  onChannelDelete(guildId: string, channelId: string): void;
  /** Leaves every channel (shutdown). */
  destroyAll(): void;
  /** Voice channels the bot is in now. */
  sessionCount(): number;
}

interface Session {
  guildId: string;
  voiceChannelId: string;
  textChannelId: string;
  connection: VoiceConnection;
  player: GuildPlayer;
  idleTimer: NodeJS.Timeout | undefined;
  leaving: boolean;
  dave: DaveWatch;
  ready: Promise<void>;
}

const MOVE_GRACE_MS = 5000;
const REJOIN_ATTEMPTS = 5;

const LEAVE_NOTICES: Partial<Record<LeaveReason, string>> = {
  empty: "Everyone left the voice channel, so I left too.",
  idle: "Nothing to read for a while, so I left the voice channel. Use /join or /speak play:true to call me back.",
  kicked: "I was disconnected from the voice channel.",
  "channel-deleted": "The voice channel was deleted, so I left.",
  failed: "I lost the voice connection and could not get it back. Use /join to try again.",
};

export function createVoiceService(deps: VoiceServiceDeps): VoiceService {
  const { host, logger, options } = deps;
  const sessions = new Map<string, Session>();

  function notify(session: Session, reason: LeaveReason): void {
    const notice = LEAVE_NOTICES[reason];
    if (!notice) return;
    host.post(session.textChannelId, notice).catch((err: unknown) => {
      logger.debug({ err, channel: session.textChannelId }, "could not post a voice notice");
    });
  }

  function end(session: Session, reason: LeaveReason): void {
    if (session.leaving) return;
    session.leaving = true;
    if (sessions.get(session.guildId) === session) sessions.delete(session.guildId);
    deps.onSessions?.(sessions.size);
    clearTimeout(session.idleTimer);
    session.player.destroy();
    if (session.connection.state.status !== VoiceConnectionStatus.Destroyed) session.connection.destroy();
    logger.info(
      { guild: session.guildId, channel: session.voiceChannelId, reason },
      "left the voice channel",
    );
    notify(session, reason);
  }

  function startIdleTimer(session: Session): void {
    clearTimeout(session.idleTimer);
    session.idleTimer = setTimeout(() => end(session, "idle"), options.idleMs);
    session.idleTimer.unref();
  }

  function supervise(session: Session): void {
    const { connection } = session;
    connection.on("stateChange", (_old, state) => {
      if (session.leaving) return;
      if (state.status === VoiceConnectionStatus.Destroyed) {
        end(session, "failed");
        return;
      }
      if (state.status !== VoiceConnectionStatus.Disconnected) return;
      if (state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014) {
        // 4014: moved to another channel (a new connection follows) or removed from voice.
        entersState(connection, VoiceConnectionStatus.Connecting, MOVE_GRACE_MS).catch(() => {
          if (!session.leaving && connection.state.status === VoiceConnectionStatus.Disconnected) {
            end(session, "kicked");
          }
        });
        return;
      }
      if (connection.rejoinAttempts < REJOIN_ATTEMPTS) {
        const delay = (connection.rejoinAttempts + 1) * 1000;
        logger.warn(
          { guild: session.guildId, attempt: connection.rejoinAttempts + 1, reason: state.reason },
          "voice connection dropped; rejoining",
        );
        setTimeout(() => {
          if (!session.leaving && connection.state.status === VoiceConnectionStatus.Disconnected) {
            connection.rejoin();
          }
        }, delay).unref();
      } else {
        end(session, "failed");
      }
    });
    connection.on("error", (err) => {
      logger.warn({ err, guild: session.guildId }, "voice connection error");
    });
    connection.on("debug", (message) => {
      if (!session.dave.observe(message, Date.now())) return;
      logger.warn({ guild: session.guildId }, "repeated DAVE decryption failures; rejoining voice");
      rejoinFresh(session);
    });
  }

  function connect(guildId: string, channelId: string): VoiceConnection {
    const adapterCreator = host.adapterCreator(guildId);
    if (!adapterCreator)
      throw new UserFacingError("I cannot reach this server's voice right now. Try again.");
    return joinVoiceChannel({
      guildId,
      channelId,
      adapterCreator,
      selfDeaf: true,
      debug: true,
    });
  }

  /** Settles when the connection is ready; awaited only by whoever reports the join. */
  function whenReady(connection: VoiceConnection): Promise<void> {
    const ready = entersState(connection, VoiceConnectionStatus.Ready, options.connectTimeoutMs).then(
      () => undefined,
    );
    ready.catch(() => undefined);
    return ready;
  }

  function create(guildId: string, voiceChannelId: string, textChannelId: string): Session {
    const connection = connect(guildId, voiceChannelId);
    const session: Session = {
      guildId,
      voiceChannelId,
      textChannelId,
      connection,
      idleTimer: undefined,
      leaving: false,
      dave: createDaveWatch({ threshold: options.daveFailureRejoin, windowMs: 60_000 }),
      ready: whenReady(connection),
      // The callbacks run only once clips play, after `session` is assigned.
      player: createGuildPlayer(connection, {
        guildId,
        openSource: deps.openSource,
        limits: options.limits,
        logger,
        onIdle: () => startIdleTimer(session),
        onBusy: () => clearTimeout(session.idleTimer),
      }),
    };
    sessions.set(guildId, session);
    deps.onSessions?.(sessions.size);
    supervise(session);
    startIdleTimer(session);
    return session;
  }

  /**
   * A new voice server handshake (and so a new DAVE group session) without leaving the channel: the
   * same op 4 the library itself sends after an unexpected close.
   */
  function rejoinFresh(session: Session): void {
    session.connection.rejoin();
  }

  function ensureSession(input: { guildId: string; voiceChannelId: string; textChannelId: string }): {
    session: Session;
    joined: boolean;
    moved: boolean;
  } {
    const existing = sessions.get(input.guildId);
    if (existing && existing.voiceChannelId === input.voiceChannelId) {
      return { session: existing, joined: false, moved: false };
    }
    if (existing) {
      const busy = existing.player.nowPlaying() !== undefined || existing.player.upcoming().length > 0;
      if (busy && host.humansIn(input.guildId, existing.voiceChannelId) > 0) {
        throw new UserFacingError(
          `I am already speaking in <#${existing.voiceChannelId}>. Join that channel, or use /stop there first.`,
        );
      }
      // Moving keeps the connection, player and queue; leaving and joining again would race the
      // "left voice" state update of the old channel against the new session.
      existing.voiceChannelId = input.voiceChannelId;
      existing.textChannelId = input.textChannelId;
      existing.connection.rejoin({ channelId: input.voiceChannelId, selfDeaf: true, selfMute: false });
      existing.ready = whenReady(existing.connection);
      return { session: existing, joined: true, moved: true };
    }
    return {
      session: create(input.guildId, input.voiceChannelId, input.textChannelId),
      joined: true,
      moved: false,
    };
  }

  async function awaitReady(session: Session): Promise<void> {
    try {
      await session.ready;
    } catch (err) {
      logger.warn(
        { err, guild: session.guildId, channel: session.voiceChannelId },
        "could not connect to voice",
      );
      end(session, "shutdown");
      throw new UserFacingError(
        `I could not connect to <#${session.voiceChannelId}> in time. Check that I may connect there, then try again.`,
      );
    }
  }

  return {
    async join(input) {
      const { session, joined, moved } = ensureSession(input);
      session.textChannelId = input.textChannelId;
      await awaitReady(session);
      return { moved, already: !joined };
    },
    leave(guildId, reason = "command") {
      const session = sessions.get(guildId);
      if (!session) return false;
      end(session, reason);
      return true;
    },
    async enqueue(input) {
      let ensured: ReturnType<typeof ensureSession>;
      try {
        ensured = ensureSession(input);
      } catch (err) {
        await input.reservation.release();
        throw err;
      }
      const { session, joined } = ensured;
      const item: PlayItem = {
        id: randomUUID(),
        userId: input.userId,
        label: input.label,
        request: input.request,
        chars: input.chars,
        reservation: input.reservation,
        queuedAt: Date.now(),
        onSettled: (outcome, settled) =>
          deps.onSettled?.(outcome, {
            ...settled,
            guildId: input.guildId,
            textChannelId: session.textChannelId,
          }),
      };
      // Queued before the connection is ready: synthesis and joining overlap.
      let position: number;
      try {
        position = session.player.enqueue(item);
      } catch (err) {
        // Refused (the queue is full): nothing will be synthesised. Once queued, the player owns the
        // reservation: a clip dropped unheard releases it, one cut off mid-synthesis settles it.
        await input.reservation.release();
        throw err;
      }
      if (joined) await awaitReady(session);
      return { position, joined };
    },
    skip: (guildId) => sessions.get(guildId)?.player.skip(),
    stop: (guildId) => sessions.get(guildId)?.player.stop() ?? 0,
    status(guildId) {
      const session = sessions.get(guildId);
      if (!session) return undefined;
      return {
        voiceChannelId: session.voiceChannelId,
        textChannelId: session.textChannelId,
        nowPlaying: session.player.nowPlaying(),
        upcoming: session.player.upcoming(),
        connected: session.connection.state.status === VoiceConnectionStatus.Ready,
      };
    },
    onVoiceState(change) {
      const session = sessions.get(change.guildId);
      if (!session) return;
      if (change.userId === host.botUserId()) {
        if (change.newChannelId === null) end(session, "kicked");
        else session.voiceChannelId = change.newChannelId;
        return;
      }
      if (change.oldChannelId === session.voiceChannelId && change.newChannelId !== session.voiceChannelId) {
        if (host.humansIn(change.guildId, session.voiceChannelId) === 0) end(session, "empty");
      }
    },
    onChannelDelete(guildId, channelId) {
      const session = sessions.get(guildId);
      if (session?.voiceChannelId === channelId) end(session, "channel-deleted");
    },
    sessionCount: () => sessions.size,
    destroyAll() {
      for (const session of [...sessions.values()]) end(session, "shutdown");
    },
  };
}
