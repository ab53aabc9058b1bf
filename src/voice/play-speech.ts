import type { GuildSettingsStore } from "../settings/settings.ts";
import type { Actor, RequestPlanner } from "../speak/planner.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { type BacklogSpeedSettings, backlogSpeed } from "./backlog-speed.ts";
import { voiceRequest } from "./speech-source.ts";
import type { VoiceService } from "./voice-service.ts";

/**
 * Text → a clip in a guild's voice queue. The request planner decides it (defaults, dictionary,
 * access, cooldown) and reserves its characters at queue time, so 25 queued clips cannot all pass
 * the same remaining budget; the clip settles the reservation when its synthesis ends.
 *
 * When the server turned on the backlog speed-up and its queue is long, the clip is requested faster
 * (backlog-speed.ts); its characters, and so its budget, are the same.
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

export interface PlaySpeechResult {
  /** 0 when it plays at once. */
  position: number;
  joined: boolean;
  chars: number;
  /**
   * The speed the clip was raised to because the queue is long (say 1.3, to be told as "1.3×");
   * absent when the backlog changed nothing.
   */
  backlogSpeed?: number;
}

export interface SpeechPlayback {
  play(input: PlaySpeechInput): Promise<PlaySpeechResult>;
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
  /** The server's backlog speed-up settings; without it clips play at their own speed. */
  guildSettings?: Pick<GuildSettingsStore, "get">;
}): SpeechPlayback {
  /** The clip's speed for the queue as it is now, when the backlog makes it faster. */
  function fasterForBacklog(
    guildId: string,
    settings: BacklogSpeedSettings | undefined,
    speed: number | undefined,
  ): number | undefined {
    if (!settings?.backlogSpeedup) return undefined;
    const waiting = deps.voice.status(guildId)?.upcoming.length ?? 0;
    const chosen = backlogSpeed(waiting, settings, speed);
    return chosen !== speed ? chosen : undefined;
  }

  return {
    async play(input) {
      const planned = await deps.planner.speech({
        kind: input.kind ?? "voice",
        actor: input.actor,
        options: input.options,
      });
      try {
        const { request } = planned.plan;
        const backlog = (await deps.guildSettings?.get(planned.guildId))?.voice;
        const reservation = await planned.reserve();
        // The queue's length is read right before queueing (nothing awaited in between).
        const faster = fasterForBacklog(planned.guildId, backlog, request.speed);
        const clip = voiceRequest(request);
        if (faster !== undefined) clip.speed = faster;
        // The voice service owns the reservation from here (released if the clip never plays).
        const { position, joined } = await deps.voice.enqueue({
          guildId: planned.guildId,
          voiceChannelId: input.voiceChannelId,
          textChannelId: input.textChannelId,
          userId: input.actor.userId,
          label: input.label ?? previewLabel(request.text),
          request: clip,
          chars: planned.chars,
          reservation,
        });
        return faster === undefined
          ? { position, joined, chars: planned.chars }
          : { position, joined, chars: planned.chars, backlogSpeed: faster };
      } finally {
        planned.done();
      }
    },
  };
}
