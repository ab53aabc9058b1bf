import {
  type DiscordGatewayAdapterCreator,
  entersState,
  joinVoiceChannel,
  type VoiceConnection,
  VoiceConnectionStatus,
} from "@discordjs/voice";
import type { Logger } from "../logger.ts";
import type { SpeechRequest } from "../speech/types.ts";
import { channelMention } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { createDaveWatch, type DaveWatch } from "./dave-watch.ts";
import { createGuildPlayer, type GuildPlayer } from "./guild-player.ts";
import type { QueueLimits } from "./queue.ts";
import { supervise } from "./reconnect.ts";
import type { SpeechSource } from "./speech-source.ts";

/**
 * The life of a voice session, one per guild (a connection, its player and queue, the text channel
 * it is bound to): opened on a join, moved along with the bot, waited for until ready, and ended
 * once on every way out (/leave, an empty channel, an idle timeout, a kick, a deleted channel, a
 * connection that cannot come back, shutdown), with a notice in its text channel.
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

export type LeaveReason =
  | "command"
  | "empty"
  | "idle"
  | "kicked"
  | "channel-deleted"
  | "failed"
  | "dave-required"
  | "dave-failed"
  | "shutdown";

export interface Session {
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

export interface SessionDeps {
  host: VoiceHost;
  openSource(request: SpeechRequest): SpeechSource;
  logger: Logger;
  options: VoiceOptions;
  /** Told how many voice channels the bot is in whenever that changes. */
  onSessions?(count: number): void;
}

export interface Sessions {
  get(guildId: string): Session | undefined;
  /** Every session now (a copy: ending them one by one is safe). */
  all(): Session[];
  count(): number;
  /**
   * The guild's session in the voice channel: the one already there, the guild's session moved
   * there, or a new one. Refused while the bot is speaking to people in another channel.
   */
  ensure(input: { guildId: string; voiceChannelId: string; textChannelId: string }): {
    session: Session;
    joined: boolean;
    moved: boolean;
  };
  /** Resolves once the connection is ready; otherwise ends the session and refuses (UserFacingError). */
  awaitReady(session: Session): Promise<void>;
  /** Ends the session once: player and connection destroyed, the leave logged and noticed. */
  end(session: Session, reason: LeaveReason): void;
}

const LEAVE_NOTICES: Partial<Record<LeaveReason, string>> = {
  empty: "Everyone left the voice channel, so I left too.",
  idle: "Nothing to read for a while, so I left the voice channel. Use /join or /speak play:true to call me back.",
  kicked: "I was disconnected from the voice channel.",
  "channel-deleted": "The voice channel was deleted, so I left.",
  failed: "I lost the voice connection and could not get it back. Use /join to try again.",
  "dave-required":
    "I could not join the voice channel: Discord requires end-to-end encrypted voice (DAVE) in a version I do not support. A server admin needs to update me.",
  "dave-failed":
    "I left the voice channel because its end-to-end encryption (DAVE) kept failing for me, even after reconnecting. Use /join to try again.",
};

export function createSessions(deps: SessionDeps): Sessions {
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

  function open(guildId: string, voiceChannelId: string, textChannelId: string): Session {
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
    supervise(session, { logger, end });
    startIdleTimer(session);
    return session;
  }

  /**
   * Moving keeps the connection, player and queue; leaving and joining again would race the "left
   * voice" state update of the old channel against the new session.
   */
  function move(session: Session, voiceChannelId: string, textChannelId: string): void {
    session.voiceChannelId = voiceChannelId;
    session.textChannelId = textChannelId;
    session.connection.rejoin({ channelId: voiceChannelId, selfDeaf: true, selfMute: false });
    session.ready = whenReady(session.connection);
  }

  return {
    get: (guildId) => sessions.get(guildId),
    all: () => [...sessions.values()],
    count: () => sessions.size,
    ensure(input) {
      const existing = sessions.get(input.guildId);
      if (existing && existing.voiceChannelId === input.voiceChannelId) {
        return { session: existing, joined: false, moved: false };
      }
      if (existing) {
        const busy = existing.player.nowPlaying() !== undefined || existing.player.upcoming().length > 0;
        if (busy && host.humansIn(input.guildId, existing.voiceChannelId) > 0) {
          throw new UserFacingError(
            `I am already speaking in ${channelMention(existing.voiceChannelId)}. Join that channel, or use /stop there first.`,
          );
        }
        move(existing, input.voiceChannelId, input.textChannelId);
        return { session: existing, joined: true, moved: true };
      }
      return {
        session: open(input.guildId, input.voiceChannelId, input.textChannelId),
        joined: true,
        moved: false,
      };
    },
    async awaitReady(session) {
      try {
        await session.ready;
      } catch (err) {
        logger.warn(
          { err, guild: session.guildId, channel: session.voiceChannelId },
          "could not connect to voice",
        );
        end(session, "shutdown");
        throw new UserFacingError(
          `I could not connect to ${channelMention(session.voiceChannelId)} in time. Check that I may connect there, then try again.`,
        );
      }
    },
    end,
  };
}
