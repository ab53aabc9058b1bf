import type { Logger } from "../logger.ts";
import type { SpeakService } from "../tts/speak-service.ts";
import type { UserSettingsStore } from "../tts/user-settings.ts";
import type { VoiceCatalog } from "../tts/voice-catalog.ts";

/** What command handlers are given: domain services, built in app.ts and passed in. */
export interface BotContext {
  speak: SpeakService;
  voices: VoiceCatalog;
  users: UserSettingsStore;
  config: {
    provider: string;
    model: string;
    defaultVoice: string;
    syncMaxChars: number;
  };
  logger: Logger;
}
