import type { Narration } from "../jobs/narrate.ts";
import type { JobService } from "../jobs/service.ts";
import type { Logger } from "../logger.ts";
import type { RequestService } from "../requests/service.ts";
import type { PronunciationStore } from "../settings/pronunciation.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import type { UsageLedger } from "../settings/usage.ts";
import type { UserSettingsStore } from "../settings/user-settings.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import type { SpeakService } from "../speak/speak-service.ts";
import type { SpeechPlayback } from "../voice/play-speech.ts";
import type { VoiceService } from "../voice/voice-service.ts";
import type { DesignedVoices } from "../voices/designed-voices.ts";
import type { VoiceCatalog } from "../voices/voice-catalog.ts";
import type { VoicePreviews } from "../voices/voice-preview.ts";
import type { DraftStore } from "./drafts.ts";

/** What command handlers are given: domain services, built in app.ts and passed in. */
export interface BotContext {
  speak: SpeakService;
  voices: VoiceCatalog;
  /** Preview buttons of /voices: cached per voice and model, rate-limited, outside every budget. */
  previews: VoicePreviews;
  /** Members' designed voices (`/voice design`), per server. */
  designedVoices: DesignedVoices;
  users: UserSettingsStore;
  jobs: JobService;
  guildSettings: GuildSettingsStore;
  pronunciation: PronunciationStore;
  usage: UsageLedger;
  narration: Narration;
  /** Community narration requests (`/request`). */
  requests: RequestService;
  /** Voice channel sessions: join, leave, queue, skip, stop. */
  voice: VoiceService;
  /** Text → the guild's voice queue, with the member's defaults, guards and budget. */
  playback: SpeechPlayback;
  /** `/narrate` options waiting for the text from its modal. */
  narrateDrafts: DraftStore<NarrateDraft>;
  config: {
    provider: string;
    model: string;
    defaultVoice: string;
    syncMaxChars: number;
    /** Auto-read is configured (the Message Content intent is requested). */
    autoRead: boolean;
  };
  logger: Logger;
}

export interface NarrateDraft {
  channelId: string;
  options: Omit<SpeakOptions, "text">;
  uploadLimit: number;
  /** A multi-voice script's speakers and voices (`/narrate voices:`). */
  voices?: string | undefined;
}
