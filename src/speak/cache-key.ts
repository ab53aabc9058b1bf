import { createHash } from "node:crypto";
import type { SpeechRequest } from "../speech/types.ts";

/**
 * The audio cache's key: two requests share a key exactly when they would produce the same audio.
 * Pure, so a key computed by one process (or release) finds what another stored.
 */

/** Part of the hashed text: bump it whenever the canonical form changes, so no old entry is misread. */
const KEY_VERSION = 1;

/** The provider defaults, made explicit so that "omitted" and "set to the default" share a key. */
export const CACHE_KEY_DEFAULTS = {
  speed: 1,
  pitch: 0,
  volume: 1,
  format: "mp3",
  sampleRate: 32000,
  /** Only mp3 has a bitrate; for the other formats it changes nothing and is left out of the key. */
  mp3Bitrate: 128000,
  channels: 1,
  textNormalization: false,
} as const;

/** A speech request whose format may still be implicit (the schema's default). */
export type CacheKeyRequest = Omit<SpeechRequest, "format"> & { format?: SpeechRequest["format"] };

export interface AudioCacheKeyInput {
  provider: string;
  request: CacheKeyRequest;
  /** A derived output of the same speech, e.g. `voice-message` for the Ogg/Opus re-encoding. */
  variant?: string;
}

/**
 * NFC, line endings unified, runs of spaces and tabs made one space, spaces around line breaks and at
 * the ends dropped. Line breaks stay (they are pauses) and case stays (it can change how a word is read).
 */
export function normalizeSpeechText(text: string): string {
  return text
    .normalize("NFC")
    .replace(/\r\n?/g, "\n")
    .replace(/[^\S\n]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .trim();
}

/** The canonical JSON the key hashes; its property order is fixed by this literal. */
export function canonicalSpeech(input: AudioCacheKeyInput): string {
  const r = input.request;
  const d = CACHE_KEY_DEFAULTS;
  const format = r.format ?? d.format;
  return JSON.stringify({
    v: KEY_VERSION,
    provider: input.provider,
    model: r.model,
    voice: r.voiceId,
    text: normalizeSpeechText(r.text),
    speed: r.speed ?? d.speed,
    pitch: r.pitch ?? d.pitch,
    volume: r.volume ?? d.volume,
    // Both providers send `neutral` and `calm` as the same emotion (each under its own name).
    emotion: r.emotion === "neutral" ? "calm" : (r.emotion ?? null),
    languageBoost: r.languageBoost ?? null,
    soundEffect: r.soundEffect ?? null,
    format,
    sampleRate: r.sampleRate ?? d.sampleRate,
    bitrate: format === "mp3" ? (r.bitrate ?? d.mp3Bitrate) : null,
    channels: r.channels ?? d.channels,
    pronunciation: r.pronunciation ?? [],
    textNormalization: r.textNormalization ?? d.textNormalization,
    variant: input.variant ?? null,
  });
}

/** sha256, hex. */
export function audioCacheKey(input: AudioCacheKeyInput): string {
  return createHash("sha256").update(canonicalSpeech(input)).digest("hex");
}
