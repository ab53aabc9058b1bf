import {
  durationForText,
  effectiveMp3Bitrate,
  encodeAudio,
  type FakeAudioFormat,
  synthPcm,
  toneFrequencyFor,
} from "../audio/tone.ts";
import { buildCues, type SubtitleCue } from "./subtitles.ts";
import type { SynthesisParams } from "./validation.ts";

/** One rendered clip and what MiniMax would report about it. */
export interface RenderedAudio {
  audio: Buffer;
  format: FakeAudioFormat;
  durationMs: number;
  cues: SubtitleCue[];
  extraInfo: ExtraInfo;
}

export interface ExtraInfo {
  audio_length: number;
  audio_sample_rate: number;
  audio_size: number;
  bitrate: number;
  word_count: number;
  invisible_character_ratio: number;
  usage_characters: number;
  audio_format: string;
  audio_channel: number;
}

/** "Spoken" characters without whitespace or punctuation, which is what MiniMax reports as word_count. */
function wordCount(text: string): number {
  return text.replace(/<#[\d.]+#>/g, "").replace(/[\s\p{P}]/gu, "").length;
}

/**
 * The same clip is asked for again and again in tests, and pure-JS mp3 encoding is the fake's one
 * expensive step, so identical clips are encoded once. Clips depend only on these inputs.
 */
const clipCache = new Map<string, Buffer>();
const CLIP_CACHE_SIZE = 64;

function cachedClip(durationMs: number, params: SynthesisParams): Buffer {
  const spec = {
    durationMs,
    sampleRate: params.sampleRate,
    channels: params.channels,
    frequency: toneFrequencyFor(params.voiceId),
    format: params.format,
    bitrate: params.bitrate,
  };
  const key = JSON.stringify(spec);
  const hit = clipCache.get(key);
  if (hit) return hit;
  const audio = encodeAudio(synthPcm(spec), spec);
  if (clipCache.size >= CLIP_CACHE_SIZE) clipCache.delete(clipCache.keys().next().value!);
  clipCache.set(key, audio);
  return audio;
}

export function renderSpeech(
  text: string,
  params: SynthesisParams,
  opts: { msPerChar: number; maxAudioMs: number },
): RenderedAudio {
  // Faster speech is shorter speech; pauses are absolute and stay as requested.
  const durationMs = Math.min(opts.maxAudioMs, durationForText(text, opts.msPerChar / params.speed));
  const audio = cachedClip(durationMs, params);
  const bitrate =
    params.format === "mp3" ? effectiveMp3Bitrate(params.sampleRate, params.bitrate) : params.bitrate;
  return {
    audio,
    format: params.format,
    durationMs,
    cues: buildCues(text, opts.msPerChar / params.speed, durationMs),
    extraInfo: {
      audio_length: durationMs,
      audio_sample_rate: params.sampleRate,
      audio_size: audio.length,
      bitrate,
      word_count: wordCount(text),
      invisible_character_ratio: 0,
      usage_characters: [...text].length,
      audio_format: params.format,
      audio_channel: params.channels,
    },
  };
}
