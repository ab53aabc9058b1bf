import type { Actor, RequestPlanner } from "../speak/planner.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { voiceRequest } from "./speech-source.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Text → a clip in a guild's voice queue. The request planner decides it (defaults, dictionary,
 * access, cooldown) and reserves its characters at queue time, so 25 queued clips cannot all pass
 * the same remaining budget; the clip settles the reservation when its synthesis ends.
 */

export interface PlaySpeechInput {
  /** `voice` (/speak play), `read-aloud`, or `auto-read` (no cooldown: chat paces itself). */
  kind?: "voice" | "read-aloud" | "auto-read";
  actor: Actor & { guildId: string };
  voiceChannelId: string;
  textChannelId: string;
  options: SpeakOptions;
  /** Shown in `/queue` instead of the start of the text. */
  label?: string;
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

export function createSpeechPlayback(deps: {
  planner: Pick<RequestPlanner, "speech">;
  voice: VoiceService;
}): SpeechPlayback {
  return {
    async play(input) {
      const planned = await deps.planner.speech({
        kind: input.kind ?? "voice",
        actor: input.actor,
        options: input.options,
      });
      try {
        const { request } = planned.plan;
        const reservation = await planned.reserve();
        // The voice service owns the reservation from here (released if the clip never plays).
        const { position, joined } = await deps.voice.enqueue({
          guildId: planned.guildId,
          voiceChannelId: input.voiceChannelId,
          textChannelId: input.textChannelId,
          userId: input.actor.userId,
          label: input.label ?? previewLabel(request.text),
          request: voiceRequest(request),
          chars: planned.chars,
          reservation,
        });
        return { position, joined, chars: planned.chars };
      } finally {
        planned.done();
      }
    },
  };
}
