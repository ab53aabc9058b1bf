import type { Logger } from "../logger.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import type { UserSettingsStore } from "../settings/user-settings.ts";
import { type CleanContext, cleanForSpeech } from "../text/clean-text.ts";
import { type AutoReadMessage, isReadChannel, shouldAutoRead } from "./auto-read-filter.ts";
import { describeFiles, namesSender, spokenMessage } from "./message-description.ts";
import { previewLabel, type SpeechPlayback } from "./play-speech.ts";
import { renderAnnouncement, type SpeakerNames, speakerName } from "./speaker-names.ts";
import { createSpeakerPrefix, type SpeakerPrefix } from "./speaker-prefix.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Auto-read: chat in the text channel bound by /join and in the voice channel's own chat, from
 * members listening in the bot's voice channel (see auto-read-filter.ts for every rule), is cleaned
 * up and queued like any other clip, in the author's own saved voice. Members who opted out with
 * `/voice read-me` are never read.
 */

export interface ChatMessage extends AutoReadMessage {
  /** The author's names; the server's `nameStyle` picks the one spoken. */
  speaker: SpeakerNames;
  /** Names for the mentions in the message. */
  names: Pick<CleanContext, "userName" | "roleName" | "channelName">;
}

export interface AutoReader {
  /** Reads the message if it qualifies; never throws. Resolves to whether it was queued. */
  handle(message: ChatMessage): Promise<boolean>;
}

export function createAutoReader(deps: {
  voice: VoiceService;
  playback: SpeechPlayback;
  guildSettings: Pick<GuildSettingsStore, "get">;
  users: Pick<UserSettingsStore, "get">;
  logger: Logger;
  prefix?: SpeakerPrefix;
  now?: () => number;
}): AutoReader {
  const prefix = deps.prefix ?? createSpeakerPrefix();
  const now = deps.now ?? Date.now;
  const skipped = (message: ChatMessage, reason: string) => {
    deps.logger.debug({ guild: message.guildId, reason }, "auto-read skipped a message");
    return false;
  };
  return {
    async handle(message) {
      const status = deps.voice.status(message.guildId);
      // Cheap checks first: most messages are in guilds or channels where nothing is bound.
      if (!status || !isReadChannel(message.channelId, status)) return false;
      try {
        const settings = (await deps.guildSettings.get(message.guildId)).reading;
        if (!settings.autoRead) return false;
        const decision = shouldAutoRead(message, { ...status, ...settings });
        if (!decision.read) return skipped(message, decision.reason);
        if ((await deps.users.get(message.authorId)).optedOut) return skipped(message, "opted out");

        const clean = (content: string) =>
          cleanForSpeech(content, { ...message.names, maxChars: settings.maxChars, now: now() });
        const describe = (files: ChatMessage["attachments"], stickers: ChatMessage["stickers"]) =>
          settings.describeFiles ? describeFiles(files ?? [], stickers ?? []) : "";
        const text = clean(message.content);
        const files = describe(message.attachments, message.stickers);
        const forward = message.forward && {
          text: clean(message.forward.content),
          files: describe(message.forward.attachments, message.forward.stickers),
        };
        const parts = { text, files, ...(forward ? { forward } : {}) };
        const name = speakerName(message.speaker, settings.nameStyle);
        let announcement: string | undefined;
        const at = now();
        if (namesSender(parts)) prefix.named(message.guildId, message.authorId, at);
        else if (text && name && prefix.shouldName(message.guildId, message.authorId, at)) {
          announcement = renderAnnouncement(settings.nameTemplate, name);
        }
        const spoken = spokenMessage({ name, announcement, ...parts });
        if (!spoken) return skipped(message, "nothing to say");

        const shownName = speakerName(message.speaker, "nickname") || "someone";
        await deps.playback.play({
          kind: "auto-read",
          // Access is the server's own opt-in (auto_read); the author's budget still applies.
          actor: { userId: message.authorId, guildId: message.guildId, roleIds: [], isManager: false },
          voiceChannelId: status.voiceChannelId,
          textChannelId: status.textChannelId,
          options: { text: spoken },
          label: previewLabel(`${shownName}: ${text || spoken}`),
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
