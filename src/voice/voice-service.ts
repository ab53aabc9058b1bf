import { randomUUID } from "node:crypto";
import { VoiceConnectionStatus } from "@discordjs/voice";
import type { SpeechRequest } from "../speech/types.ts";
import type { ClipReservation, NowPlaying, PlayItem } from "./guild-player.ts";
import { createSessions, type LeaveReason, type SessionDeps } from "./session.ts";
import type { SourceOutcome } from "./speech-source.ts";
import { followChannelDelete, followVoiceState, type VoiceStateChange } from "./voice-events.ts";

/**
 * Voice channels: one session per guild (a connection, its player and queue, the text channel it is
 * bound to), kept alive through drops and cleaned up on every way out: /leave, an empty channel, an
 * idle timeout, a kick, a deleted channel.
 *
 * The parts: session.ts (a session's life: open, move, ready, end), reconnect.ts (drops, moves,
 * DAVE failures), voice-events.ts (voice-state and channel-delete events); this file joins, queues
 * and reports.
 */

export type { LeaveReason, VoiceHost, VoiceOptions } from "./session.ts";

export interface VoiceServiceDeps extends SessionDeps {
  /** Told when a clip's synthesis has settled: bill it, or report a failure. */
  onSettled?(outcome: SourceOutcome, item: PlayItem & { guildId: string; textChannelId: string }): void;
}

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
  onVoiceState(change: VoiceStateChange): void;
  onChannelDelete(guildId: string, channelId: string): void;
  /** Leaves every channel (shutdown). */
  destroyAll(): void;
  /** Voice channels the bot is in now. */
  sessionCount(): number;
}

export function createVoiceService(deps: VoiceServiceDeps): VoiceService {
  const sessions = createSessions(deps);

  return {
    async join(input) {
      const { session, joined, moved } = sessions.ensure(input);
      session.textChannelId = input.textChannelId;
      await sessions.awaitReady(session);
      return { moved, already: !joined };
    },
    leave(guildId, reason = "command") {
      const session = sessions.get(guildId);
      if (!session) return false;
      sessions.end(session, reason);
      return true;
    },
    async enqueue(input) {
      let ensured: ReturnType<typeof sessions.ensure>;
      try {
        ensured = sessions.ensure(input);
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
      if (joined) await sessions.awaitReady(session);
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
    onVoiceState: (change) => followVoiceState(sessions, deps.host, change),
    onChannelDelete: (guildId, channelId) => followChannelDelete(sessions, guildId, channelId),
    sessionCount: () => sessions.count(),
    destroyAll() {
      for (const session of sessions.all()) sessions.end(session, "shutdown");
    },
  };
}
