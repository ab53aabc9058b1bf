import { z } from "zod";
import type { AudioFormat } from "../audio/format.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * What each model and provider accepts. The option mappers consult this table so that a parameter is
 * sent only when the chosen model supports it, and an impossible combination is refused before any
 * request (from MiniMax's and the AI/ML API's documentation of each model).
 */

export const EMOTIONS = [
  "happy",
  "sad",
  "angry",
  "fearful",
  "disgusted",
  "surprised",
  "calm",
  "fluent",
  "whisper",
] as const;
/** `neutral` is the older name of `calm`; AI/ML API still uses it. Accepted as input, mapped per provider. */
export const EmotionSchema = z.enum([...EMOTIONS, "neutral"]);
export type Emotion = z.infer<typeof EmotionSchema>;

export const LANGUAGE_BOOSTS = [
  "Chinese",
  "Chinese,Yue",
  "English",
  "Arabic",
  "Russian",
  "Spanish",
  "French",
  "Portuguese",
  "German",
  "Turkish",
  "Dutch",
  "Ukrainian",
  "Vietnamese",
  "Indonesian",
  "Japanese",
  "Italian",
  "Korean",
  "Thai",
  "Polish",
  "Romanian",
  "Greek",
  "Czech",
  "Finnish",
  "Hindi",
  "Bulgarian",
  "Danish",
  "Hebrew",
  "Malay",
  "Persian",
  "Slovak",
  "Swedish",
  "Croatian",
  "Filipino",
  "Hungarian",
  "Norwegian",
  "Slovenian",
  "Catalan",
  "Nynorsk",
  "Tamil",
  "Afrikaans",
  "auto",
] as const;
export const LanguageBoostSchema = z.enum(LANGUAGE_BOOSTS);
export type LanguageBoost = z.infer<typeof LanguageBoostSchema>;

export const SOUND_EFFECTS = ["spacious_echo", "auditorium_echo", "lofi_telephone", "robotic"] as const;
export const SoundEffectSchema = z.enum(SOUND_EFFECTS);
export type SoundEffect = z.infer<typeof SoundEffectSchema>;

export { AUDIO_FORMATS, type AudioFormat, AudioFormatSchema } from "../audio/format.ts";

export const SAMPLE_RATES = [8000, 16000, 22050, 24000, 32000, 44100] as const;
export const BITRATES = [32000, 64000, 128000, 256000] as const;

export const MINIMAX_MODELS = [
  "speech-2.5-turbo-preview",
  "speech-2.5-hd-preview",
  "speech-2.8-hd",
  "speech-2.8-turbo",
  "speech-2.6-hd",
  "speech-2.6-turbo",
  "speech-02-hd",
  "speech-02-turbo",
  "speech-01-hd",
  "speech-01-turbo",
] as const;

/** Models the AI/ML API gateway fronts, without their `minimax/` prefix. */
export const AIMLAPI_MODELS = [
  "speech-2.5-turbo-preview",
  "speech-2.5-hd-preview",
  "speech-2.6-turbo",
  "speech-2.6-hd",
  "speech-2.8-turbo",
  "speech-2.8-hd",
] as const;

export interface ModelCapabilities {
  /** Emotion values MiniMax accepts for this model (`neutral` is mapped to `calm` before this check). */
  emotions: readonly Emotion[];
  /** Language-boost values this model does not accept. */
  unsupportedLanguages: readonly LanguageBoost[];
  /** `(laughs)`-style interjection tags are performed rather than read aloud. */
  interjections: boolean;
}

const SEVEN: readonly Emotion[] = ["happy", "sad", "angry", "fearful", "disgusted", "surprised", "calm"];

export function modelCapabilities(model: string): ModelCapabilities {
  if (model.startsWith("speech-2.6-")) {
    return { emotions: EMOTIONS, unsupportedLanguages: [], interjections: false };
  }
  if (model.startsWith("speech-2.8-")) {
    return { emotions: SEVEN, unsupportedLanguages: [], interjections: true };
  }
  if (model.startsWith("speech-01-") || model.startsWith("speech-02-")) {
    return { emotions: SEVEN, unsupportedLanguages: ["Persian", "Filipino", "Tamil"], interjections: false };
  }
  // speech-2.5 previews and models this table does not know yet: the conservative common set.
  return { emotions: SEVEN, unsupportedLanguages: [], interjections: false };
}

/** Formats each MiniMax mode (sync, stream, async) can produce. */
export const MINIMAX_FORMATS = {
  sync: ["mp3", "wav", "flac", "pcm"],
  stream: ["mp3", "flac", "pcm"],
  async: ["mp3", "flac", "pcm"],
} as const satisfies Record<string, readonly AudioFormat[]>;

/** Formats `voice_modify` (sound effects) works with, per mode. */
export const EFFECT_FORMATS = {
  sync: ["mp3", "wav", "flac"],
  stream: ["mp3"],
  async: ["mp3", "flac"],
} as const satisfies Record<string, readonly AudioFormat[]>;

export const AIMLAPI_FORMATS = ["mp3", "pcm", "flac"] as const satisfies readonly AudioFormat[];
export const AIMLAPI_EMOTIONS = [
  "happy",
  "sad",
  "angry",
  "fearful",
  "disgusted",
  "surprised",
  "neutral",
] as const;
export const AIMLAPI_MAX_CHARS = 5000;

/** Character limits of the MiniMax endpoints. */
export const MINIMAX_LIMITS = {
  /** Sync t2a_v2 requires fewer than 10,000 characters. */
  syncMaxChars: 9999,
  asyncTextMaxChars: 50_000,
  /** The API reference says < 100,000 for text_file_id (the guide says 1M); we keep to the lower one. */
  asyncFileMaxChars: 99_999,
} as const;

/** Whether the model can speak with this emotion ("neutral" is its calm). */
export function emotionFits(model: string, emotion: Emotion): boolean {
  return modelCapabilities(model).emotions.includes(emotion === "neutral" ? "calm" : emotion);
}

/** Throws a UserFacingError naming what the model accepts when it cannot do this emotion. */
export function assertEmotionFits(model: string, emotion: Emotion): void {
  if (emotionFits(model, emotion)) return;
  const allowed = modelCapabilities(model).emotions.join(", ");
  throw new UserFacingError(`The emotion "${emotion}" does not work with ${model}. It accepts: ${allowed}.`);
}
