import { z } from "zod";

/** Formats the bot and CLI can ask for. (MiniMax's newer opus/pcmu formats are documented in one region only.) */
export const AUDIO_FORMATS = ["mp3", "wav", "flac", "pcm"] as const;
export const AudioFormatSchema = z.enum(AUDIO_FORMATS);
export type AudioFormat = z.infer<typeof AudioFormatSchema>;
