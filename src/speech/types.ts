import { z } from "zod";
import { AudioFormatSchema, EmotionSchema, LanguageBoostSchema, SoundEffectSchema } from "./models.ts";
import { PitchSchema, SpeechVolumeSchema, SpeedSchema } from "./ranges.ts";

/**
 * A provider-neutral speech request. Commands, the CLI and the job system build one of these; each
 * provider maps it onto its own wire body (and refuses combinations its model cannot do).
 */
export const SpeechSettingsSchema = z.object({
  model: z.string().min(1),
  voiceId: z.string().min(1).max(256),
  /** `SPEED_RANGE`, default 1. */
  speed: SpeedSchema.optional(),
  /** `PITCH_RANGE` (whole semitones), default 0. */
  pitch: PitchSchema.optional(),
  /** (0, 10], default 1. */
  volume: SpeechVolumeSchema.optional(),
  emotion: EmotionSchema.optional(),
  languageBoost: LanguageBoostSchema.optional(),
  soundEffect: SoundEffectSchema.optional(),
  format: AudioFormatSchema.default("mp3"),
  sampleRate: z
    .union([
      z.literal(8000),
      z.literal(16000),
      z.literal(22050),
      z.literal(24000),
      z.literal(32000),
      z.literal(44100),
    ])
    .optional(),
  bitrate: z.union([z.literal(32000), z.literal(64000), z.literal(128000), z.literal(256000)]).optional(),
  channels: z.union([z.literal(1), z.literal(2)]).optional(),
  /** `original/replacement` entries, sent as `pronunciation_dict.tone`. */
  pronunciation: z.array(z.string().min(3).max(200)).max(200).optional(),
  textNormalization: z.boolean().optional(),
});
export type SpeechSettings = z.infer<typeof SpeechSettingsSchema>;
export type SpeechSettingsInput = z.input<typeof SpeechSettingsSchema>;

export interface SpeechRequest extends SpeechSettings {
  text: string;
}

/** One subtitle cue, times in milliseconds (MiniMax `.titles` / subtitle_file item, normalised). */
export const SubtitleSegmentSchema = z.object({
  text: z.string(),
  time_begin: z.number(),
  time_end: z.number(),
  text_begin: z.number().optional(),
  text_end: z.number().optional(),
});
export type SubtitleSegment = z.infer<typeof SubtitleSegmentSchema>;

export interface SynthesisResult {
  audio: Buffer;
  format: SpeechSettings["format"];
  sampleRate: number;
  channels: 1 | 2;
  /** Audio length in ms as reported by the provider (or measured from the audio when it is silent on it). */
  durationMs: number | undefined;
  /** Characters the provider billed (`usage_characters`), when it said. */
  usageCharacters: number | undefined;
  traceId: string | undefined;
}

/** The last event of a stream: what the provider reported about the whole clip. */
export interface StreamSummary {
  durationMs: number | undefined;
  usageCharacters: number | undefined;
  traceId: string | undefined;
  /** Total audio bytes yielded (never counting the aggregated repeat in the final event). */
  bytes: number;
}

export interface CallOptions {
  signal?: AbortSignal;
  /**
   * Latest time (`performance.now()` ms) the call may finish by; the client's own per-call deadline
   * applies too, whichever is earlier. A request that its rate limiter could not start by then is
   * refused at once (ProviderBusyError) instead of queueing.
   */
  deadline?: number;
  /**
   * The call could not start at once and waits in line for the provider's client-side rate limit
   * (`TTS_RATE_LIMIT_RPM`). Called synchronously when it joins the line (again if a retry has to
   * queue again); the place is read live, so a caller can tell a user where they stand.
   */
  onQueued?: (place: QueuePlace) => void;
}

/** A call's place in the provider's line, read live. */
export interface QueuePlace {
  /** 1 for the next to start; 0 once it has left the line (started, refused or aborted). */
  readonly position: number;
  /** Predicted milliseconds until it starts, if everyone ahead stays; 0 once it left the line. */
  readonly waitMs: number;
}

/** A voice as the provider lists it. */
export interface VoiceInfo {
  voiceId: string;
  name: string | undefined;
  description: string | undefined;
  /** `system`, `voice_cloning` or `voice_generation`. */
  category: "system" | "voice_cloning" | "voice_generation";
}

export type AsyncTaskStatus = "processing" | "success" | "failed" | "expired";

export interface AsyncTaskCreated {
  taskId: string;
  /** The file id MiniMax returns at creation; the query may report a different one, which wins. */
  fileId: string | undefined;
  usageCharacters: number | undefined;
  traceId: string | undefined;
}

export interface AsyncTaskState {
  taskId: string;
  status: AsyncTaskStatus;
  fileId: string | undefined;
}

/** One audio + subtitles + extra trio unpacked from the async result tar. */
export interface AsyncResultPart {
  /** Basename of the audio entry, e.g. `content-123.mp3`. */
  name: string;
  audio: Buffer;
  format: string;
  subtitles: SubtitleSegment[] | undefined;
  extra: Record<string, unknown> | undefined;
}

export interface AsyncResult {
  parts: AsyncResultPart[];
}

/** Long-text synthesis as MiniMax's async API offers it: create, poll, fetch. */
export interface AsyncTtsApi {
  /** Upload a `.txt` or `.zip` for `text_file_id` (purpose `t2a_async_input`). Returns the file id. */
  uploadText(content: Buffer, filename: string, opts?: CallOptions): Promise<string>;
  createTask(
    input: { text: string } | { fileId: string },
    settings: SpeechSettings,
    opts?: CallOptions,
  ): Promise<AsyncTaskCreated>;
  queryTask(taskId: string, opts?: CallOptions): Promise<AsyncTaskState>;
  /** Retrieve, download and unpack (bounded) the result of a successful task. */
  fetchResult(fileId: string, opts?: CallOptions): Promise<AsyncResult>;
}

export interface ProviderCapabilities {
  /** Incremental audio from `stream()`. */
  stream: boolean;
  /** `async` API for long texts. */
  async: boolean;
  /** `listVoices()`. */
  voices: boolean;
  /** Most characters one synchronous request may carry. */
  maxSyncChars: number;
  /** `voiceDesign`: new voices from a text description (MiniMax only). Absent means no. */
  voiceDesign?: boolean;
}

/** A voice designed from a description: its id (usable as `voiceId`) and the trial clip. */
export interface DesignedVoiceResult {
  voiceId: string;
  /** The trial clip reading the preview text, as the provider returned it (mp3). */
  trialAudio: Buffer;
  traceId: string | undefined;
}

/** Designing voices from a text description, and deleting them again (MiniMax `voice_design`). */
export interface VoiceDesignApi {
  /**
   * Creates a voice. `voiceId` is chosen by the caller so that the voice can be found (and deleted)
   * even when the answer is lost. The provider bills the preview text's characters.
   */
  design(
    input: { prompt: string; previewText: string; voiceId: string },
    opts?: CallOptions,
  ): Promise<DesignedVoiceResult>;
  /** Deletes a designed voice; a voice the provider no longer knows counts as deleted. */
  delete(voiceId: string, opts?: CallOptions): Promise<void>;
}

/** The one interface the bot, the CLI and the job system use, whatever the provider. */
export interface TtsProvider {
  readonly name: "minimax" | "aimlapi";
  readonly capabilities: ProviderCapabilities;
  /** Throws UnsupportedOptionError (before any request) when the model cannot honour the settings. */
  synthesize(req: SpeechRequest, opts?: CallOptions): Promise<SynthesisResult>;
  /**
   * Yields audio chunks as they arrive and returns the summary. Present only when `capabilities.stream`.
   */
  stream?(req: SpeechRequest, opts?: CallOptions): AsyncGenerator<Buffer, StreamSummary, void>;
  /** Present only when `capabilities.voices`. */
  listVoices?(opts?: CallOptions): Promise<VoiceInfo[]>;
  /** Present only when `capabilities.async`. */
  readonly async?: AsyncTtsApi;
  /** Present only when `capabilities.voiceDesign`. */
  readonly voiceDesign?: VoiceDesignApi;
}
