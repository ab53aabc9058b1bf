import { z } from "zod";
import { BaseRespSchema } from "./schemas.ts";

/**
 * MiniMax's voice design (`POST /v1/voice_design`) and voice deletion (`POST /v1/delete_voice`): the
 * bounds, the request bodies and the answer schemas. What each rests on is written down, with the
 * documentation pages, in docs/minimax-voice-design.md.
 */

export const VOICE_DESIGN_LIMITS = {
  /** `preview_text` maxLength in MiniMax's OpenAPI schema. */
  previewTextMaxChars: 500,
  /**
   * `prompt` has no documented maximum; this bound is ours, so that a member cannot send (and a
   * moderator cannot be surprised by) an essay.
   */
  promptMaxChars: 1000,
  /** Our own ids (see designedVoiceId): MiniMax's voice id rules for cloned voices, 8–256 characters. */
  voiceIdMinChars: 8,
  voiceIdMaxChars: 256,
} as const;

/** Starts with a letter, letters, digits, `-` and `_`, not ending in `-` or `_` (MiniMax's voice id rule). */
export const VOICE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9]$/;

const chars = (s: string) => [...s].length;

/** Trimmed, not empty, at most `max` characters (code points); `what` names it in the messages. */
const boundedText = (what: string, max: number) =>
  z
    .string()
    .trim()
    .min(1, `${what} is empty`)
    .refine((s) => chars(s) <= max, { message: `${what} is longer than ${max} characters` });

/** What the client sends; parsed before any request so a bad input never costs a call. */
export const VoiceDesignInputSchema = z.object({
  prompt: boundedText("the voice description", VOICE_DESIGN_LIMITS.promptMaxChars),
  previewText: boundedText("the preview text", VOICE_DESIGN_LIMITS.previewTextMaxChars),
  voiceId: z
    .string()
    .min(VOICE_DESIGN_LIMITS.voiceIdMinChars)
    .max(VOICE_DESIGN_LIMITS.voiceIdMaxChars)
    .regex(VOICE_ID_PATTERN, "a voice id starts with a letter and holds letters, digits, - and _"),
});
export type VoiceDesignInput = z.infer<typeof VoiceDesignInputSchema>;

/** The wire body of `POST /v1/voice_design`. */
export function toVoiceDesignBody(input: VoiceDesignInput): {
  prompt: string;
  preview_text: string;
  voice_id: string;
} {
  return { prompt: input.prompt, preview_text: input.previewText, voice_id: input.voiceId };
}

/** `POST /v1/voice_design`: the voice id and the trial clip as hex. */
export const VoiceDesignResponseSchema = z.object({
  voice_id: z.string().min(1).max(VOICE_DESIGN_LIMITS.voiceIdMaxChars),
  trial_audio: z.string().nullish(),
  trace_id: z.string().nullish().catch(undefined),
  base_resp: BaseRespSchema,
});
export type VoiceDesignResponse = z.infer<typeof VoiceDesignResponseSchema>;

/** `POST /v1/delete_voice`: echoes the voice id (and its creation time). */
export const DeleteVoiceResponseSchema = z.object({
  voice_id: z.string().nullish().catch(undefined),
  created_time: z.union([z.string(), z.number()]).nullish().catch(undefined),
  trace_id: z.string().nullish().catch(undefined),
  base_resp: BaseRespSchema,
});

/** The voice types delete_voice takes: only voices made through the clone and design APIs. */
export type DeletableVoiceType = "voice_cloning" | "voice_generation";

/**
 * MiniMax's answers meaning "no such voice": deleting one is then done already. 2054 is what an
 * unknown voice id earns elsewhere; 20132 is "invalid samples or voice_id".
 */
export const VOICE_GONE_CODES: ReadonlySet<number> = new Set([2054, 20132]);
