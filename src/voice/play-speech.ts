import type { SpeakOptions } from "../tts/speak-options.ts";
import type { SpeakService } from "../tts/speak-service.ts";
import { voiceRequest } from "./speech-source.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Text → a clip in a guild's voice queue: the member's and the guild's defaults, the guild's
 * pronunciation dictionary, guards and budget (all from the speak service), then the voice queue.
 */

export interface PlaySpeechInput {
  guildId: string;
  voiceChannelId: string;
  textChannelId: string;
  userId: string;
  options: SpeakOptions;
  /** Shown in `/queue` instead of the start of the text. */
  label?: string;
  /** Apply the per-member cooldown (default true; auto-read turns it off). */
  guard?: boolean;
}

export interface SpeechPlayback {
  play(input: PlaySpeechInput): Promise<{ position: number; joined: boolean; chars: number }>;
}

const LABEL_CHARS = 80;

/** The start of a text on one line, for lists. */
export function previewLabel(text: string, max = LABEL_CHARS): string {
  const line = text.replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length <= max ? line : `${chars.slice(0, max - 1).join("")}…`;
}

export function createSpeechPlayback(deps: { speak: SpeakService; voice: VoiceService }): SpeechPlayback {
  return {
    async play(input) {
      const { request, chars } = await deps.speak.planVoice({
        userId: input.userId,
        guildId: input.guildId,
        options: input.options,
        guard: input.guard,
      });
      const { position, joined } = await deps.voice.enqueue({
        guildId: input.guildId,
        voiceChannelId: input.voiceChannelId,
        textChannelId: input.textChannelId,
        userId: input.userId,
        label: input.label ?? previewLabel(request.text),
        request: voiceRequest(request),
        chars,
      });
      return { position, joined, chars };
    },
  };
}
