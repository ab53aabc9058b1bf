import { z } from "zod";

/**
 * The ranges of the numeric voice settings, kept once: the schemas below are built from them, and
 * option builders (slash commands, the CLI's help) read them for their limits and descriptions.
 */

export interface NumberRange {
  readonly min: number;
  readonly max: number;
}

/** Speaking rate, default 1. */
export const SPEED_RANGE = { min: 0.5, max: 2 } as const satisfies NumberRange;
/** Whole semitones, default 0. */
export const PITCH_RANGE = { min: -12, max: 12 } as const satisfies NumberRange;
/**
 * Loudness a member may choose, default 1. The provider-neutral request takes anything above 0 up to
 * the same maximum (`SpeechVolumeSchema`).
 */
export const VOLUME_RANGE = { min: 0.1, max: 10 } as const satisfies NumberRange;

/** `0.5 to 2`: a range as option descriptions and help texts say it. */
export function rangeText(range: NumberRange): string {
  return `${range.min} to ${range.max}`;
}

export const SpeedSchema = z.number().min(SPEED_RANGE.min).max(SPEED_RANGE.max);
export const PitchSchema = z.number().int().min(PITCH_RANGE.min).max(PITCH_RANGE.max);
export const VolumeSchema = z.number().min(VOLUME_RANGE.min).max(VOLUME_RANGE.max);
/** (0, 10]: what a provider request may carry (the CLI passes it through). */
export const SpeechVolumeSchema = z.number().gt(0).max(VOLUME_RANGE.max);
