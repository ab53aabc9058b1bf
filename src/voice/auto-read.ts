import type { Logger } from "../logger.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import { type CleanContext, cleanForSpeech } from "../text/clean-text.ts";
import { type AutoReadMessage, describeAttachments, shouldAutoRead } from "./auto-read-filter.ts";
import { previewLabel, type SpeechPlayback } from "./play-speech.ts";
import { createSpeakerPrefix, type SpeakerPrefix } from "./speaker-prefix.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Auto-read: chat in the text channel bound by /join, from members listening in the bot's voice
 * channel, is cleaned up and queued like any other clip, in the author's own saved voice.
 */

export interface ChatMessage extends AutoReadMessage {
  /** The author's display name in the guild. */
  authorName: string;
  /** Names for the mentions in the message. */
  names: Pick<CleanContext, "userName" | "roleName" | "channelName">;
}

/** What is said for a message: "<name> said: …" when the speaker changed, a note for files only. */
export function spokenText(input: {
  text: string;
  attachments: string;
  name: string;
  prefix: string | undefined;
}): string {
  if (!input.text) return input.attachments ? `${input.name} ${input.attachments}.` : "";
  const said = input.prefix ? `${input.prefix}: ${input.text}` : input.text;
  return input.attachments ? `${said} (${input.attachments})` : said;
}

export interface AutoReader {
  /** Reads the message if it qualifies; never throws. Resolves to whether it was queued. */
  handle(message: ChatMessage): Promise<boolean>;
}

export function createAutoReader(deps: {
  voice: VoiceService;
  playback: SpeechPlayback;
  guildSettings: GuildSettingsStore;
  logger: Logger;
  prefix?: SpeakerPrefix;
  now?: () => number;
}): AutoReader {
  const prefix = deps.prefix ?? createSpeakerPrefix();
  const now = deps.now ?? Date.now;
  return {
    async handle(message) {
      const status = deps.voice.status(message.guildId);
      // Cheap checks first: most messages are in guilds or channels where nothing is bound.
      if (!status || status.textChannelId !== message.channelId) return false;
      try {
        const settings = await deps.guildSettings.get(message.guildId);
        if (!settings.voice.autoRead) return false;
        const decision = shouldAutoRead(message, {
          textChannelId: status.textChannelId,
          voiceChannelId: status.voiceChannelId,
          readBots: settings.voice.readBots,
        });
        if (!decision.read) {
          deps.logger.debug(
            { guild: message.guildId, reason: decision.reason },
            "auto-read skipped a message",
          );
          return false;
        }
        const text = cleanForSpeech(message.content, { ...message.names, now: now() });
        const attachments = describeAttachments(message.attachmentCount, message.stickerCount);
        if (!text && !attachments) return false;
        const spoken = spokenText({
          text,
          attachments,
          name: message.authorName,
          prefix: text
            ? prefix.prefix(message.guildId, message.authorId, message.authorName, now())
            : undefined,
        });
        await deps.playback.play({
          kind: "auto-read",
          // Access is the server's own opt-in (auto_read); the author's budget still applies.
          actor: { userId: message.authorId, guildId: message.guildId, roleIds: [], isManager: false },
          voiceChannelId: status.voiceChannelId,
          textChannelId: status.textChannelId,
          options: { text: spoken },
          label: previewLabel(`${message.authorName}: ${text || attachments}`),
        });
        return true;
      } catch (err) {
        // Full queue, spent budget, refused options: chat goes on; the member is not pinged about it.
        deps.logger.info(
          { err, guild: message.guildId, user: message.authorId },
          "auto-read could not queue a message",
        );
        return false;
      }
    },
  };
}
