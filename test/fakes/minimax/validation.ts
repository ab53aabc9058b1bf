import { z } from "zod";
import {
  BITRATES,
  EFFECT_FORMATS,
  EMOTIONS,
  LANGUAGE_BOOSTS,
  MINIMAX_FORMATS,
  MINIMAX_MODELS,
  modelCapabilities,
  SAMPLE_RATES,
  SOUND_EFFECTS,
} from "../../../src/speech/models.ts";
import type { FakeAudioFormat } from "../audio/tone.ts";
import { type BaseRespError, baseRespError, invalidParams } from "./codes.ts";

/**
 * Strict on values, lenient on names — like MiniMax: a speed of 3 or an emotion the model lacks is
 * refused with 2013, while a misspelt or foreign field (async's `sample_rate`) is silently dropped
 * (zod's default `strip`), so a client using the wrong key gets defaults instead of an error.
 */

export type SynthesisMode = "sync" | "stream" | "async";

export interface SynthesisParams {
  mode: SynthesisMode;
  model: string;
  /** Inline text; async requests may instead name an uploaded file. */
  text: string | undefined;
  textFileId: number | undefined;
  /** The voice whose tone the audio uses (first mixed voice when `voice_id` is empty). */
  voiceId: string;
  speed: number;
  vol: number;
  pitch: number;
  emotion: string | undefined;
  languageBoost: string | undefined;
  format: FakeAudioFormat;
  sampleRate: number;
  bitrate: number;
  channels: 1 | 2;
  outputFormat: "hex" | "url";
  subtitles: boolean;
  excludeAggregatedAudio: boolean;
}

const int100 = z.number().int().min(-100).max(100).nullish();

const voiceSettingShape = {
  voice_id: z.string(),
  speed: z.number().min(0.5).max(2).nullish(),
  vol: z.number().gt(0).max(10).nullish(),
  pitch: z.number().int().min(-12).max(12).nullish(),
  emotion: z.enum(EMOTIONS).nullish(),
  latex_read: z.boolean().nullish(),
};

const commonShape = {
  model: z.string(),
  pronunciation_dict: z
    .object({ tone: z.array(z.string().regex(/^[^/]+\/.+$/, "entries must look like original/replacement")) })
    .nullish(),
  language_boost: z.enum(LANGUAGE_BOOSTS).nullish(),
  voice_modify: z
    .object({
      pitch: int100,
      intensity: int100,
      timbre: int100,
      sound_effects: z.enum(SOUND_EFFECTS).nullish(),
    })
    .nullish(),
  aigc_watermark: z.boolean().nullish(),
};

const sampleRate = z.literal([...SAMPLE_RATES]).nullish();
const bitrate = z.literal([...BITRATES]).nullish();
const channel = z.literal([1, 2]).nullish();

const SyncBody = z.object({
  ...commonShape,
  text: z.string(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ exclude_aggregated_audio: z.boolean().nullish() }).nullish(),
  voice_setting: z
    .object({
      ...voiceSettingShape,
      text_normalization: z.boolean().nullish(),
      english_normalization: z.boolean().nullish(),
    })
    .nullish(),
  audio_setting: z
    .object({
      sample_rate: sampleRate,
      bitrate,
      format: z.string().nullish(),
      channel,
      force_cbr: z.boolean().nullish(),
    })
    .nullish(),
  timbre_weights: z
    .array(z.object({ voice_id: z.string(), weight: z.number().int().min(1).max(100) }))
    .max(4)
    .nullish(),
  subtitle_enable: z.boolean().nullish(),
  subtitle_type: z.enum(["sentence", "word", "word_streaming"]).nullish(),
  output_format: z.enum(["url", "hex"]).nullish(),
});

const AsyncBody = z.object({
  ...commonShape,
  text: z.string().nullish(),
  // int64 in MiniMax's schema: a JSON string id is refused.
  text_file_id: z.number().int().positive().nullish(),
  voice_setting: z.object({ ...voiceSettingShape, english_normalization: z.boolean().nullish() }),
  audio_setting: z
    .object({ audio_sample_rate: sampleRate, bitrate, format: z.string().nullish(), channel })
    .nullish(),
});

function describe(error: z.ZodError): BaseRespError {
  const issue = error.issues[0];
  if (!issue) return invalidParams("request body");
  const path = issue.path.join(".");
  return invalidParams(path ? `${path}: ${issue.message}` : issue.message);
}

/** ASCII control characters other than tab and newline count as "invisible" (error 1042). */
function invisibleRatio(text: string): number {
  if (text.length === 0) return 0;
  const invisible = text.match(/[\u0000-\u0008\u000b-\u001f\u007f]/g)?.length ?? 0;
  return invisible / text.length;
}

export const SYNC_MAX_CHARS = 10_000; // exclusive
export const ASYNC_MAX_CHARS = 50_000; // inclusive

/** Checks shared by every mode, once the shape is known to be right. */
function checkSemantics(
  p: SynthesisParams,
  voiceModify: z.infer<typeof commonShape.voice_modify>,
  knownVoice: (id: string) => boolean,
  mixedVoices: string[],
): BaseRespError | undefined {
  if (!(MINIMAX_MODELS as readonly string[]).includes(p.model))
    return invalidParams(`model: unsupported model ${p.model}`);
  const caps = modelCapabilities(p.model);
  if (p.emotion !== undefined && !(caps.emotions as readonly string[]).includes(p.emotion)) {
    return invalidParams(`voice_setting emotion: ${p.emotion} is not supported by model ${p.model}`);
  }
  if (
    p.languageBoost !== undefined &&
    (caps.unsupportedLanguages as readonly string[]).includes(p.languageBoost)
  ) {
    return invalidParams(`language_boost: ${p.languageBoost} is not supported by model ${p.model}`);
  }
  const formats: readonly string[] = MINIMAX_FORMATS[p.mode];
  if (!formats.includes(p.format)) {
    return invalidParams(
      `audio_setting format: ${p.format} is not supported ${p.mode === "sync" ? "" : `in ${p.mode} mode`}`.trim(),
    );
  }
  const effects =
    voiceModify &&
    (voiceModify.sound_effects || voiceModify.pitch || voiceModify.intensity || voiceModify.timbre);
  if (effects && !(EFFECT_FORMATS[p.mode] as readonly string[]).includes(p.format)) {
    return invalidParams(`voice_modify: not supported for format ${p.format} in ${p.mode} mode`);
  }
  for (const id of mixedVoices) if (!knownVoice(id)) return baseRespError(2054);
  if (p.voiceId === "") return invalidParams("voice_setting voice_id: required");
  if (mixedVoices.length === 0 && !knownVoice(p.voiceId)) return baseRespError(2054);
  return undefined;
}

function checkText(text: string, max: number, inclusive: boolean): BaseRespError | undefined {
  if (text.trim() === "") return invalidParams("text: empty text");
  const length = [...text].length;
  if (inclusive ? length > max : length >= max) return invalidParams(`text: too long (${length} characters)`);
  if (invisibleRatio(text) > 0.1) return baseRespError(1042);
  return undefined;
}

export type Validated = { ok: true; params: SynthesisParams } | { ok: false; error: BaseRespError };

export function validateSync(body: unknown, knownVoice: (id: string) => boolean): Validated {
  if (typeof body !== "object" || body === null)
    return { ok: false, error: invalidParams("body: not a json object") };
  const parsed = SyncBody.safeParse(body);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const b = parsed.data;
  const stream = b.stream === true;
  const mixed = (b.timbre_weights ?? []).map((w) => w.voice_id);
  if (!b.voice_setting && mixed.length === 0)
    return { ok: false, error: invalidParams("voice_setting: required") };
  if (b.subtitle_type === "word_streaming" && !stream) {
    return { ok: false, error: invalidParams("subtitle_type: word_streaming requires stream") };
  }
  const textError = checkText(b.text, SYNC_MAX_CHARS, false);
  if (textError) return { ok: false, error: textError };
  const vs = b.voice_setting;
  const params: SynthesisParams = {
    mode: stream ? "stream" : "sync",
    model: b.model,
    text: b.text,
    textFileId: undefined,
    voiceId: vs?.voice_id || mixed[0] || "",
    speed: vs?.speed ?? 1,
    vol: vs?.vol ?? 1,
    pitch: vs?.pitch ?? 0,
    emotion: vs?.emotion ?? undefined,
    languageBoost: b.language_boost ?? undefined,
    format: (b.audio_setting?.format ?? "mp3") as FakeAudioFormat,
    sampleRate: b.audio_setting?.sample_rate ?? 32000,
    bitrate: b.audio_setting?.bitrate ?? 128000,
    channels: b.audio_setting?.channel ?? 1,
    // Streaming is always hex; `output_format` only matters for a plain JSON reply.
    outputFormat: stream ? "hex" : (b.output_format ?? "hex"),
    subtitles: b.subtitle_enable === true,
    excludeAggregatedAudio: b.stream_options?.exclude_aggregated_audio === true,
  };
  const error = checkSemantics(params, b.voice_modify, knownVoice, vs?.voice_id ? [] : mixed);
  return error ? { ok: false, error } : { ok: true, params };
}

export function validateAsync(body: unknown, knownVoice: (id: string) => boolean): Validated {
  if (typeof body !== "object" || body === null)
    return { ok: false, error: invalidParams("body: not a json object") };
  const parsed = AsyncBody.safeParse(body);
  if (!parsed.success) return { ok: false, error: describe(parsed.error) };
  const b = parsed.data;
  const hasText = typeof b.text === "string";
  const hasFile = typeof b.text_file_id === "number";
  if (hasText === hasFile)
    return { ok: false, error: invalidParams("exactly one of text and text_file_id is required") };
  if (hasText) {
    const textError = checkText(b.text!, ASYNC_MAX_CHARS, true);
    if (textError) return { ok: false, error: textError };
  }
  const vs = b.voice_setting;
  const params: SynthesisParams = {
    mode: "async",
    model: b.model,
    text: b.text ?? undefined,
    textFileId: b.text_file_id ?? undefined,
    voiceId: vs.voice_id,
    speed: vs.speed ?? 1,
    vol: vs.vol ?? 1,
    pitch: vs.pitch ?? 0,
    emotion: vs.emotion ?? undefined,
    languageBoost: b.language_boost ?? undefined,
    format: (b.audio_setting?.format ?? "mp3") as FakeAudioFormat,
    sampleRate: b.audio_setting?.audio_sample_rate ?? 32000,
    bitrate: b.audio_setting?.bitrate ?? 128000,
    // The async schema's default is stereo, unlike sync.
    channels: b.audio_setting?.channel ?? 2,
    outputFormat: "hex",
    subtitles: true,
    excludeAggregatedAudio: false,
  };
  const error = checkSemantics(params, b.voice_modify, knownVoice, []);
  return error ? { ok: false, error } : { ok: true, params };
}

export const VOICE_TYPES = ["system", "voice_cloning", "voice_generation", "all"] as const;
const GetVoiceBody = z.object({ voice_type: z.enum(VOICE_TYPES) });

export function validateGetVoice(
  body: unknown,
): { ok: true; voiceType: (typeof VOICE_TYPES)[number] } | { ok: false; error: BaseRespError } {
  const parsed = GetVoiceBody.safeParse(body);
  return parsed.success
    ? { ok: true, voiceType: parsed.data.voice_type }
    : { ok: false, error: describe(parsed.error) };
}
