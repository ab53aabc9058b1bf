import { z } from "zod";
import { EmotionSchema, LanguageBoostSchema } from "../speech/models.ts";
import { PitchSchema, SpeedSchema } from "../speech/ranges.ts";

/** What a member or a guild may save as defaults (the `/voice set` and `/settings` fields). */
export const VoiceDefaultsSchema = z.object({
  voice: z.string().min(1).max(256).optional(),
  model: z.string().min(1).optional(),
  speed: SpeedSchema.optional(),
  pitch: PitchSchema.optional(),
  emotion: EmotionSchema.optional(),
  language: LanguageBoostSchema.optional(),
});
export type VoiceDefaults = z.infer<typeof VoiceDefaultsSchema>;
