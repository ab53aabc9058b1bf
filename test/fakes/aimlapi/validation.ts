import { z } from "zod";
import {
  AIMLAPI_EMOTIONS,
  AIMLAPI_FORMATS,
  AIMLAPI_MAX_CHARS,
  AIMLAPI_MODELS,
  BITRATES,
  LANGUAGE_BOOSTS,
  SAMPLE_RATES,
  SOUND_EFFECTS,
} from "../../../src/speech/models.ts";

/**
 * The AI/ML API `POST /v1/tts` body schema for the MiniMax models: the gateway validates
 * before it calls MiniMax, so its rules (5,000 characters, `neutral` not `calm`, no streaming) apply
 * even where MiniMax itself would differ.
 */

const voiceId = z.string().min(1).max(64);
const int100 = z.number().int().min(-100).max(100).optional();

export const AimlTtsBody = z.object({
  model: z.enum(AIMLAPI_MODELS.map((m) => `minimax/${m}`) as [string, ...string[]]),
  text: z.string().min(1).max(AIMLAPI_MAX_CHARS),
  voice_setting: z
    .object({
      voice_id: voiceId.default("Wise_Woman"),
      speed: z.number().min(0.5).max(2).optional(),
      vol: z.number().min(0.01).max(10).optional(),
      pitch: z.number().min(-12).max(12).optional(),
      emotion: z.enum(AIMLAPI_EMOTIONS).optional(),
      text_normalization: z.boolean().optional(),
    })
    .default({ voice_id: "Wise_Woman" }),
  audio_setting: z
    .object({
      sample_rate: z.literal([...SAMPLE_RATES]).optional(),
      bitrate: z.literal([...BITRATES]).optional(),
      format: z.enum(AIMLAPI_FORMATS).optional(),
      channel: z.literal([1, 2]).optional(),
    })
    .optional(),
  pronunciation_dict: z.object({ tone: z.array(z.string()) }).optional(),
  timbre_weights: z
    .array(z.object({ voice_id: voiceId, weight: z.number().int().min(1).max(100) }))
    .max(4)
    .optional(),
  language_boost: z.enum(LANGUAGE_BOOSTS).optional(),
  voice_modify: z
    .object({
      pitch: int100,
      intensity: int100,
      timbre: int100,
      sound_effects: z.enum(SOUND_EFFECTS).optional(),
    })
    .optional(),
  subtitle_enable: z.boolean().optional(),
  // The latest schema is `enum: [false]`: the gateway no longer offers streaming.
  stream: z.literal(false).optional(),
});
export type AimlTtsRequest = z.infer<typeof AimlTtsBody>;

/** Messages in the style the AI/ML API documents ("Invalid enum value. Expected …, received …"). */
function issueText(issue: z.core.$ZodIssue): string {
  const path = issue.path.join(".");
  let text = issue.message;
  if (issue.code === "invalid_value") {
    const expected = issue.values.map((v) => (typeof v === "string" ? `'${v}'` : String(v))).join(" | ");
    text = `Invalid enum value. Expected ${expected}, received '${String(issue.input)}'`;
  }
  return path ? `${path}: ${text}` : text;
}

export function validateAimlBody(
  body: unknown,
): { ok: true; value: AimlTtsRequest } | { ok: false; message: string } {
  const parsed = AimlTtsBody.safeParse(body, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, message: `Body validation error: ${parsed.error.issues.map(issueText).join("; ")}` };
}
