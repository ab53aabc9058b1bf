import type { Sessions, VoiceHost } from "./session.ts";

/**
 * Voice-state events from the gateway, applied to the sessions: the bot moved or removed, the last
 * person leaving the bot's channel, the channel deleted.
 */

/** A member's voice move (from VOICE_STATE_UPDATE). */
export interface VoiceStateChange {
  guildId: string;
  userId: string;
  oldChannelId: string | null;
  newChannelId: string | null;
}

export function followVoiceState(sessions: Sessions, host: VoiceHost, change: VoiceStateChange): void {
  const session = sessions.get(change.guildId);
  if (!session) return;
  if (change.userId === host.botUserId()) {
    if (change.newChannelId === null) sessions.end(session, "kicked");
    else session.voiceChannelId = change.newChannelId;
    return;
  }
  if (change.oldChannelId === session.voiceChannelId && change.newChannelId !== session.voiceChannelId) {
    if (host.humansIn(change.guildId, session.voiceChannelId) === 0) sessions.end(session, "empty");
  }
}

export function followChannelDelete(sessions: Sessions, guildId: string, channelId: string): void {
  const session = sessions.get(guildId);
  if (session?.voiceChannelId === channelId) sessions.end(session, "channel-deleted");
}
