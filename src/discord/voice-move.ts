import type { VoiceState } from "discord.js";
import type { VoiceMove } from "../voice/join-announcements.ts";
import { isStageAudience, roleIdsOf, speakerNamesOf } from "./chat-message.ts";

/**
 * A VOICE_STATE_UPDATE as the join announcer sees it. Undefined when the member is not known (no
 * member object came with the event).
 */
export function toVoiceMove(before: VoiceState, after: VoiceState): VoiceMove | undefined {
  const member = after.member ?? before.member;
  if (!member) return undefined;
  return {
    guildId: after.guild.id,
    userId: after.id,
    oldChannelId: before.channelId,
    newChannelId: after.channelId,
    isBot: member.user.bot,
    speaker: speakerNamesOf(member.user, member),
    roleIds: roleIdsOf(member),
    audienceBefore: isStageAudience(before),
    audienceAfter: isStageAudience(after),
  };
}
