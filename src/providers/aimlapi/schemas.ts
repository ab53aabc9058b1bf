import { z } from "zod";
import {
  AIMLAPI_EMOTIONS,
  AIMLAPI_FORMATS,
  AIMLAPI_MAX_CHARS,
  AIMLAPI_MODELS,
  BITRATES,
  LanguageBoostSchema,
  SAMPLE_RATES,
  SoundEffectSchema,
} from "../../speech/models.ts";

/**
 * The AI/ML API `/v1/tts` wire format for the MiniMax models. The request schema mirrors the
 * gateway's published OpenAPI so tests can check that what we build would pass its validation.
 */

export const AimlModelIdSchema = z.enum(AIMLAPI_MODELS.map((m) => `minimax/${m}` as const));
export type AimlModelId = z.infer<typeof AimlModelIdSchema>;

export const AimlTtsBodySchema = z.strictObject({
  model: AimlModelIdSchema,
  text: z.string().min(1).max(AIMLAPI_MAX_CHARS),
  voice_setting: z.strictObject({
    voice_id: z.string().min(1).max(64),
    speed: z.number().min(0.5).max(2).optional(),
    vol: z.number().min(0.01).max(10).optional(),
    pitch: z.number().min(-12).max(12).optional(),
    emotion: z.enum(AIMLAPI_EMOTIONS).optional(),
    text_normalization: z.boolean().optional(),
  }),
  audio_setting: z.strictObject({
    sample_rate: z.literal(SAMPLE_RATES).optional(),
    bitrate: z.literal(BITRATES).optional(),
    format: z.enum(AIMLAPI_FORMATS).optional(),
    channel: z.literal([1, 2]).optional(),
  }),
  pronunciation_dict: z.strictObject({ tone: z.array(z.string()) }).optional(),
  language_boost: LanguageBoostSchema.optional(),
  voice_modify: z.strictObject({ sound_effects: SoundEffectSchema.optional() }).optional(),
  /** The gateway's latest schema only allows `false`; we never stream through it. */
  stream: z.literal(false).optional(),
});
export type AimlTtsBody = z.infer<typeof AimlTtsBodySchema>;

/**
 * The JSON answer. The published schema says `audio` is a URL string, the published examples show
 * `{url}`: both are accepted. Older schemas defaulted to `output_format: hex`, so a bare hex string is
 * tolerated too (the client tells a URL from hex).
 */
export const AimlTtsJsonSchema = z.looseObject({
  audio: z.union([z.string().min(1), z.looseObject({ url: z.string().min(1) })]),
  meta: z
    .looseObject({
      usage: z
        .looseObject({ credits_used: z.number().optional(), usd_spent: z.number().optional() })
        .nullish(),
    })
    .nullish(),
});
export type AimlTtsJson = z.infer<typeof AimlTtsJsonSchema>;

/**
 * `{message, path, requestId, statusCode, timestamp}` on every AI/ML API error. `statusCode` has been
 * documented as a string ("429"); NestJS-style validation errors may carry `message` as a list.
 */
export const AimlErrorBodySchema = z.looseObject({
  message: z.union([z.string(), z.array(z.string())]).optional(),
  error: z.string().optional(),
  path: z.string().optional(),
  requestId: z.string().optional(),
  statusCode: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
  timestamp: z.string().optional(),
});
export type AimlErrorBody = z.infer<typeof AimlErrorBodySchema>;
