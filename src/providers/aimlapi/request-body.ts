import { UnsupportedOptionError } from "../../speech/errors.ts";
import {
  AIMLAPI_EMOTIONS,
  type AIMLAPI_FORMATS,
  AIMLAPI_MAX_CHARS,
  AIMLAPI_MODELS,
  type AudioFormat,
  type Emotion,
} from "../../speech/models.ts";
import type { SpeechRequest } from "../../speech/types.ts";
import type { AimlModelId, AimlTtsBody } from "./schemas.ts";

/** What we ask the gateway for when the request leaves it open (MiniMax's own defaults, made explicit). */
export const AIML_DEFAULT_SAMPLE_RATE = 32000;
export const AIML_DEFAULT_CHANNELS = 1;
/** The gateway's `vol` starts at 0.01 where MiniMax's is (0, 10]. */
const MIN_VOLUME = 0.01;
const MAX_VOICE_ID = 64;

type AimlFormat = (typeof AIMLAPI_FORMATS)[number];
type AimlEmotion = (typeof AIMLAPI_EMOTIONS)[number];

const unsupported = (option: string, message: string) =>
  new UnsupportedOptionError(option, message, "aimlapi");

/** The gateway has no `wav`: we ask for raw PCM and the provider adds the WAV header itself. */
export function aimlWireFormat(format: AudioFormat): AimlFormat {
  return format === "wav" ? "pcm" : format;
}

export function aimlModelId(model: string): AimlModelId {
  const bare = model.startsWith("minimax/") ? model.slice("minimax/".length) : model;
  const known = AIMLAPI_MODELS.find((m) => m === bare);
  if (!known) {
    throw unsupported(
      "model",
      `The AI/ML API offers ${AIMLAPI_MODELS.join(", ")}; "${model}" is not one of them.`,
    );
  }
  return `minimax/${known}`;
}

/** The gateway still speaks the older emotion set: `calm` is called `neutral`, the 2.6-only ones are missing. */
export function aimlEmotion(emotion: Emotion): AimlEmotion {
  const mapped = emotion === "calm" ? "neutral" : emotion;
  const known = AIMLAPI_EMOTIONS.find((e) => e === mapped);
  if (!known) {
    throw unsupported(
      "emotion",
      `The AI/ML API does not offer the "${emotion}" emotion; choose one of ${AIMLAPI_EMOTIONS.join(", ")} (calm = neutral).`,
    );
  }
  return known;
}

/**
 * SpeechRequest → `/v1/tts` body. Throws UnsupportedOptionError before any request when the gateway
 * cannot honour it. Texts over the per-request limit are the caller's to split (`synthesizeLong`).
 */
export function toAimlBody(req: SpeechRequest): AimlTtsBody {
  const model = aimlModelId(req.model);
  if (req.text.trim() === "") throw unsupported("text", "There is no text to speak.");
  if (req.text.length > AIMLAPI_MAX_CHARS) {
    throw unsupported(
      "text",
      `The text is ${req.text.length} characters; the AI/ML API takes at most ${AIMLAPI_MAX_CHARS} per request.`,
    );
  }
  if (req.voiceId.length > MAX_VOICE_ID) {
    throw unsupported("voice", `The AI/ML API accepts voice ids of at most ${MAX_VOICE_ID} characters.`);
  }

  const voice: AimlTtsBody["voice_setting"] = { voice_id: req.voiceId };
  if (req.speed !== undefined) voice.speed = req.speed;
  if (req.volume !== undefined) voice.vol = Math.max(MIN_VOLUME, req.volume);
  if (req.pitch !== undefined) voice.pitch = req.pitch;
  if (req.emotion !== undefined) voice.emotion = aimlEmotion(req.emotion);
  if (req.textNormalization !== undefined) voice.text_normalization = req.textNormalization;

  const format = aimlWireFormat(req.format);
  // Sample rate and channels are always explicit: the provider labels (and WAV-wraps) the bytes with them.
  const audio: AimlTtsBody["audio_setting"] = {
    sample_rate: req.sampleRate ?? AIML_DEFAULT_SAMPLE_RATE,
    format,
    channel: req.channels ?? AIML_DEFAULT_CHANNELS,
  };
  if (req.bitrate !== undefined && format === "mp3") audio.bitrate = req.bitrate;

  const body: AimlTtsBody = { model, text: req.text, voice_setting: voice, audio_setting: audio };
  if (req.languageBoost !== undefined) body.language_boost = req.languageBoost;
  if (req.soundEffect !== undefined) {
    // MiniMax applies voice effects to mp3, wav and flac only, and wav reaches it as pcm here.
    if (format === "pcm") {
      throw unsupported("soundEffect", "Sound effects through the AI/ML API need the mp3 or flac format.");
    }
    body.voice_modify = { sound_effects: req.soundEffect };
  }
  if (req.pronunciation !== undefined && req.pronunciation.length > 0) {
    body.pronunciation_dict = { tone: [...req.pronunciation] };
  }
  return body;
}
