import { z } from "zod";
import type { VoiceDefaults } from "../settings/voice-defaults.ts";
import {
  assertEmotionFits,
  type Emotion,
  EmotionSchema,
  emotionFits,
  LanguageBoostSchema,
  SoundEffectSchema,
} from "../speech/models.ts";
import { PitchSchema, SpeedSchema, VolumeSchema } from "../speech/ranges.ts";
import type { SpeechRequest, SpeechSettings } from "../speech/types.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * `/speak` options → a provider request. Precedence for every setting: the option given now, then the
 * member's saved defaults, then the guild's defaults, then the bot's configuration.
 */

export const SPEAK_FORMATS = ["mp3", "wav", "flac", "voice"] as const;
export type SpeakFormat = (typeof SPEAK_FORMATS)[number];

/** Slash command STRING options hold at most 6000 characters. */
export const MAX_SPEAK_TEXT = 6000;

export const SpeakOptionsSchema = z.object({
  text: z.string(),
  voice: z.string().trim().min(1).max(256).optional(),
  model: z.string().trim().min(1).optional(),
  speed: SpeedSchema.optional(),
  pitch: PitchSchema.optional(),
  volume: VolumeSchema.optional(),
  emotion: EmotionSchema.optional(),
  language: LanguageBoostSchema.optional(),
  effect: SoundEffectSchema.optional(),
  format: z.enum(SPEAK_FORMATS).optional(),
  private: z.boolean().optional(),
  play: z.boolean().optional(),
});
export type SpeakOptions = z.infer<typeof SpeakOptionsSchema>;

export interface SpeakPlan {
  request: SpeechRequest;
  /** A native Discord voice message (Ogg/Opus) rather than a file. */
  voiceMessage: boolean;
  ephemeral: boolean;
  play: boolean;
}

/** Voice messages are built from raw PCM: 24 kHz is exactly half of Discord's 48 kHz, so resampling is clean. */
export const VOICE_MESSAGE_SOURCE = { format: "pcm", sampleRate: 24000, channels: 1 } as const;

/** Voice and audio settings from options, then saved defaults, then configuration. Text-independent. */
export function resolveSettings(input: {
  options: Omit<SpeakOptions, "text">;
  user?: VoiceDefaults;
  guild?: VoiceDefaults;
  config: { model: string; voice: string };
}): SpeechSettings {
  const { options: o, user = {}, guild = {}, config } = input;
  const model = o.model ?? user.model ?? guild.model ?? config.model;
  const format = o.format ?? "mp3";
  const settings: SpeechSettings = {
    model,
    voiceId: o.voice ?? user.voice ?? guild.voice ?? config.voice,
    speed: o.speed ?? user.speed ?? guild.speed,
    pitch: o.pitch ?? user.pitch ?? guild.pitch,
    volume: o.volume,
    emotion: pickEmotion(model, o.emotion, user.emotion ?? guild.emotion),
    languageBoost: o.language ?? user.language ?? guild.language,
    soundEffect: o.effect,
    ...(format === "voice" ? VOICE_MESSAGE_SOURCE : { format }),
  };
  // Unset fields stay absent so the provider's own defaults apply and cache keys stay canonical.
  for (const key of Object.keys(settings) as (keyof SpeechSettings)[]) {
    if (settings[key] === undefined) delete settings[key];
  }
  return settings;
}

export function planSpeech(input: {
  options: SpeakOptions;
  user?: VoiceDefaults;
  guild?: VoiceDefaults;
  config: { model: string; voice: string };
}): SpeakPlan {
  const o = input.options;
  const text = o.text.trim();
  if (text === "") throw new UserFacingError("There is nothing to say: the text is empty.");
  const chars = [...text].length;
  if (chars > MAX_SPEAK_TEXT) {
    throw new UserFacingError(`The text has ${chars} characters; /speak takes at most ${MAX_SPEAK_TEXT}.`);
  }
  const request: SpeechRequest = { text, ...resolveSettings(input) };
  return {
    request,
    voiceMessage: o.format === "voice",
    ephemeral: o.private ?? false,
    play: o.play ?? false,
  };
}

/**
 * An emotion typed now must suit the model (a clear refusal otherwise); a saved default that does not
 * suit the model chosen now is dropped silently rather than failing every request.
 */
function pickEmotion(
  model: string,
  given: Emotion | undefined,
  saved: Emotion | undefined,
): Emotion | undefined {
  if (given !== undefined) {
    assertEmotionFits(model, given);
    return given;
  }
  return saved !== undefined && emotionFits(model, saved) ? saved : undefined;
}
