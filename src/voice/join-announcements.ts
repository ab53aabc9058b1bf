import type { Logger } from "../logger.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import type { UserSettingsStore } from "../settings/user-settings.ts";
import { previewLabel, type SpeechPlayback } from "./play-speech.ts";
import { type SpeakerNames, speakerName, subjectOf } from "./speaker-names.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Spoken join and leave announcements ("Bob joined", "Bob left") in the bot's voice channel, when a
 * server turns `join_announcements` on (off by default). Not announced: bots, members who opted out
 * of being read, members with the server's ignored role, a stage channel's audience (while the
 * server ignores it), and the same announcement for the same member within half a minute, so
 * someone whose connection flaps is heard joining and leaving once, not on every reconnect.
 *
 * The announcements are the server's own: they are spoken in the server's default voice and their
 * characters count against the server's budgets, under the bot's own id, never the member's.
 */

export const ANNOUNCE_REPEAT_GAP_MS = 30_000;
/** Members remembered for the repeat gap at most (oldest first out). */
const REMEMBERED_MAX = 2000;

export interface VoiceMove {
  guildId: string;
  userId: string;
  oldChannelId: string | null;
  newChannelId: string | null;
  isBot: boolean;
  speaker: SpeakerNames;
  roleIds: readonly string[] | null;
  /** In a stage channel's audience (suppressed) before the move; a leave is judged by this. */
  audienceBefore: boolean;
  /** In a stage channel's audience after the move; a join is judged by this. */
  audienceAfter: boolean;
}

export interface JoinAnnouncer {
  /** Announces the move if it qualifies; never throws. Resolves to whether a clip was queued. */
  handle(move: VoiceMove): Promise<boolean>;
}

export function announcementFor(
  move: Pick<VoiceMove, "oldChannelId" | "newChannelId">,
  botChannelId: string,
): "joined" | "left" | undefined {
  if (move.oldChannelId === move.newChannelId) return undefined;
  if (move.newChannelId === botChannelId) return "joined";
  if (move.oldChannelId === botChannelId) return "left";
  return undefined;
}

export function createJoinAnnouncer(deps: {
  voice: Pick<VoiceService, "status">;
  playback: SpeechPlayback;
  guildSettings: Pick<GuildSettingsStore, "get">;
  users: Pick<UserSettingsStore, "get">;
  botUserId: () => string | undefined;
  logger: Logger;
  now?: () => number;
  repeatGapMs?: number;
}): JoinAnnouncer {
  const now = deps.now ?? Date.now;
  const gapMs = deps.repeatGapMs ?? ANNOUNCE_REPEAT_GAP_MS;
  const lastAnnounced = new Map<string, number>();

  function recentlyAnnounced(key: string, at: number): boolean {
    const last = lastAnnounced.get(key);
    if (last !== undefined && at - last >= 0 && at - last < gapMs) return true;
    lastAnnounced.delete(key);
    lastAnnounced.set(key, at);
    for (const oldest of lastAnnounced.keys()) {
      if (lastAnnounced.size <= REMEMBERED_MAX) break;
      lastAnnounced.delete(oldest);
    }
    return false;
  }

  return {
    async handle(move) {
      const status = deps.voice.status(move.guildId);
      if (!status) return false;
      const what = announcementFor(move, status.voiceChannelId);
      const botId = deps.botUserId();
      if (!what || move.isBot || !botId || move.userId === botId) return false;
      try {
        const settings = await deps.guildSettings.get(move.guildId);
        if (!settings.voice.joinAnnouncements) return false;
        const reading = settings.reading;
        if (reading.ignoredRoleId && move.roleIds?.includes(reading.ignoredRoleId)) return false;
        const audience = what === "joined" ? move.audienceAfter : move.audienceBefore;
        if (audience && reading.ignoreAudience) return false;
        if ((await deps.users.get(move.userId)).optedOut) return false;
        if (recentlyAnnounced(`${move.guildId}:${move.userId}:${what}`, now())) return false;
        const text = `${subjectOf(speakerName(move.speaker, reading.nameStyle))} ${what}`;
        await deps.playback.play({
          kind: "auto-read",
          actor: { userId: botId, guildId: move.guildId, roleIds: [], isManager: false },
          voiceChannelId: status.voiceChannelId,
          textChannelId: status.textChannelId,
          options: { text },
          label: previewLabel(`${speakerName(move.speaker, "nickname") || "someone"} ${what}`),
        });
        return true;
      } catch (err) {
        deps.logger.info({ err, guild: move.guildId, user: move.userId }, "could not announce a voice move");
        return false;
      }
    },
  };
}
