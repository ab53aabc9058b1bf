import { UnsupportedOptionError } from "../../speech/errors.ts";
import {
  type AudioFormat,
  EFFECT_FORMATS,
  type Emotion,
  MINIMAX_FORMATS,
  MINIMAX_LIMITS,
  modelCapabilities,
} from "../../speech/models.ts";
import { type SpeechRequest, type SpeechSettings, SpeechSettingsSchema } from "../../speech/types.ts";

/**
 * Provider-neutral settings → MiniMax wire JSON. Pure: no I/O, no defaults invented. A parameter is
 * sent only when the caller set it and the model/mode supports it; impossible combinations are
 * refused here, before any request, with a message a user can act on.
 */

type Mode = "sync" | "stream" | "async";

const MODE_LABEL: Record<Mode, string> = {
  sync: "for a normal (non-streaming) request",
  stream: "when streaming",
  async: "for a long-text (async) job",
};

export interface VoiceSettingWire {
  voice_id: string;
  speed?: number;
  vol?: number;
  pitch?: number;
  emotion?: Exclude<Emotion, "neutral">;
  /** Sync name of the normalisation switch. */
  text_normalization?: boolean;
  /** Async name of the same switch. */
  english_normalization?: boolean;
}

export interface AudioSettingWire {
  format: AudioFormat;
  /** Sync key. */
  sample_rate?: number;
  /** Async key. */
  audio_sample_rate?: number;
  bitrate?: number;
  channel?: 1 | 2;
}

interface CommonBody {
  model: string;
  voice_setting: VoiceSettingWire;
  audio_setting: AudioSettingWire;
  language_boost?: string;
  voice_modify?: { sound_effects: string };
  pronunciation_dict?: { tone: string[] };
}

export interface SyncT2aBody extends CommonBody {
  text: string;
  stream: boolean;
  stream_options?: { exclude_aggregated_audio: boolean };
  output_format?: "hex" | "url";
}

export interface AsyncT2aBody extends CommonBody {
  text?: string;
  /** An int64 in MiniMax's schema; a JSON string is reportedly rejected with 2013. */
  text_file_id?: number;
}

export interface SyncBodyOptions {
  stream: boolean;
  /** Non-streaming only: `url` returns a signed URL instead of hex. */
  outputFormat?: "hex" | "url";
  /** Streaming only; default true, so the final event does not repeat the whole audio. */
  excludeAggregated?: boolean;
}

export type AsyncInput = { text: string } | { fileId: string };

const quoteList = (values: readonly string[]): string => values.join(", ");

/** Characters as MiniMax counts them (code points, not UTF-16 units). */
export function countChars(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Range checks of the shared schema, rephrased as an option error (callers may pass unparsed data). */
function checkRanges(settings: SpeechSettings): void {
  const parsed = SpeechSettingsSchema.safeParse(settings);
  if (parsed.success) return;
  const issue = parsed.error.issues[0]!;
  const option = issue.path.join(".") || "settings";
  const value = issue.path.reduce<unknown>(
    (v, key) => (typeof v === "object" && v !== null ? (v as Record<PropertyKey, unknown>)[key] : undefined),
    settings,
  );
  throw new UnsupportedOptionError(
    option,
    `Invalid ${option} ${JSON.stringify(value)}: ${issue.message}.`,
    "minimax",
  );
}

function checkText(text: string, mode: Mode): void {
  if (text.trim().length === 0) {
    throw new UnsupportedOptionError("text", "There is no text to speak.", "minimax");
  }
  const limit = mode === "async" ? MINIMAX_LIMITS.asyncTextMaxChars : MINIMAX_LIMITS.syncMaxChars;
  const n = countChars(text);
  if (n > limit) {
    const advice = mode === "async" ? "split it or upload it as a file" : "use a long-text (async) job";
    throw new UnsupportedOptionError(
      "text",
      `The text has ${n} characters; MiniMax accepts at most ${limit} ${MODE_LABEL[mode]} — ${advice}.`,
      "minimax",
    );
  }
}

function commonBody(settings: SpeechSettings, mode: Mode): CommonBody {
  checkRanges(settings);
  const { model } = settings;
  const caps = modelCapabilities(model);
  const format = settings.format ?? "mp3";

  const formats: readonly AudioFormat[] = MINIMAX_FORMATS[mode];
  if (!formats.includes(format)) {
    throw new UnsupportedOptionError(
      "format",
      `Format "${format}" is not available ${MODE_LABEL[mode]} with ${model}; choose one of ${quoteList(formats)}.`,
      "minimax",
    );
  }

  const voice: VoiceSettingWire = { voice_id: settings.voiceId };
  if (settings.speed !== undefined) voice.speed = settings.speed;
  if (settings.volume !== undefined) voice.vol = settings.volume;
  if (settings.pitch !== undefined) voice.pitch = settings.pitch;
  if (settings.emotion !== undefined) {
    // `neutral` is what MiniMax called `calm` before speech-2.6.
    const emotion = settings.emotion === "neutral" ? "calm" : settings.emotion;
    if (!caps.emotions.includes(emotion)) {
      throw new UnsupportedOptionError(
        "emotion",
        `Emotion "${settings.emotion}" is not supported by ${model}; it accepts ${quoteList(caps.emotions)}.`,
        "minimax",
      );
    }
    voice.emotion = emotion;
  }
  if (settings.textNormalization !== undefined) {
    if (mode === "async") voice.english_normalization = settings.textNormalization;
    else voice.text_normalization = settings.textNormalization;
  }

  const audio: AudioSettingWire = { format };
  if (settings.sampleRate !== undefined) {
    if (mode === "async") audio.audio_sample_rate = settings.sampleRate;
    else audio.sample_rate = settings.sampleRate;
  }
  // Bitrate only means something for mp3; for other formats it is not sent at all.
  if (settings.bitrate !== undefined && format === "mp3") audio.bitrate = settings.bitrate;
  if (settings.channels !== undefined) audio.channel = settings.channels;
  // MiniMax's async schema defaults to 2 channels while its prose says 1; always say which.
  else if (mode === "async") audio.channel = 1;

  const body: CommonBody = { model, voice_setting: voice, audio_setting: audio };

  if (settings.languageBoost !== undefined) {
    if (caps.unsupportedLanguages.includes(settings.languageBoost)) {
      throw new UnsupportedOptionError(
        "languageBoost",
        `Language boost "${settings.languageBoost}" is not supported by ${model} ` +
          `(it lacks ${quoteList(caps.unsupportedLanguages)}); use a speech-2.6 or speech-2.8 model, or "auto".`,
        "minimax",
      );
    }
    body.language_boost = settings.languageBoost;
  }

  if (settings.soundEffect !== undefined) {
    const effectFormats: readonly AudioFormat[] = EFFECT_FORMATS[mode];
    if (!effectFormats.includes(format)) {
      throw new UnsupportedOptionError(
        "soundEffect",
        `Sound effect "${settings.soundEffect}" cannot be applied to ${format} audio ${MODE_LABEL[mode]}; ` +
          `effects work with ${quoteList(effectFormats)}.`,
        "minimax",
      );
    }
    body.voice_modify = { sound_effects: settings.soundEffect };
  }

  if (settings.pronunciation !== undefined && settings.pronunciation.length > 0) {
    body.pronunciation_dict = { tone: [...settings.pronunciation] };
  }
  return body;
}

/** Body of `POST /v1/t2a_v2`, streaming or not. */
export function toSyncBody(req: SpeechRequest, opts: SyncBodyOptions): SyncT2aBody {
  const mode: Mode = opts.stream ? "stream" : "sync";
  checkText(req.text, mode);
  const { text, ...settings } = req;
  const body: SyncT2aBody = { ...commonBody(settings, mode), text, stream: opts.stream };
  if (opts.stream) {
    // Streaming is always hex; output_format would be rejected or ignored.
    if (opts.excludeAggregated ?? true) body.stream_options = { exclude_aggregated_audio: true };
  } else if (opts.outputFormat !== undefined) {
    body.output_format = opts.outputFormat;
  }
  return body;
}

/** `text_file_id` as the JSON integer MiniMax wants; refuses ids a JS number cannot carry exactly. */
export function fileIdToWire(fileId: string): number {
  const n = /^\d+$/.test(fileId) ? Number(fileId) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UnsupportedOptionError(
      "fileId",
      `File id "${fileId}" is not an integer this client can send exactly (max ${Number.MAX_SAFE_INTEGER}).`,
      "minimax",
    );
  }
  return n;
}

/** Body of `POST /v1/t2a_async_v2`. */
export function toAsyncBody(input: AsyncInput, settings: SpeechSettings): AsyncT2aBody {
  if ("text" in input) {
    checkText(input.text, "async");
    return { ...commonBody(settings, "async"), text: input.text };
  }
  return { ...commonBody(settings, "async"), text_file_id: fileIdToWire(input.fileId) };
}
