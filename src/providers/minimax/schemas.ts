import { z } from "zod";
import { SubtitleSegmentSchema } from "../../speech/types.ts";

/**
 * zod schemas for every MiniMax response body (synthesis, async tasks, files, voices). Informational
 * fields are lenient (`.catch(undefined)`): a surprising `audio_size` must not cost the user their
 * audio. Fields the client acts on (ids, audio, status) are strict.
 */

export const BaseRespSchema = z.object({
  status_code: z.number().int(),
  status_msg: z
    .string()
    .nullish()
    .transform((s) => s ?? ""),
});
export type BaseResp = z.infer<typeof BaseRespSchema>;

/** What every JSON answer has in common; parsed first so errors are recognised before the payload. */
export const EnvelopeSchema = z.object({
  base_resp: BaseRespSchema,
  trace_id: z.string().nullish().catch(undefined),
});

/**
 * task_id / file_id: int64, documented as a string in one of MiniMax's schemas and an integer in
 * every example. Kept as a decimal string internally. `parseMiniMaxJson` already turned unsafe integers into their
 * exact source text, so a number here is always exact.
 */
export const IdSchema = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, "a decimal id")])
  .transform((v) => String(v));

const optionalNumber = z.number().nullish().catch(undefined);
const optionalString = z.string().nullish().catch(undefined);

export const ExtraInfoSchema = z.object({
  audio_length: optionalNumber,
  audio_sample_rate: optionalNumber,
  audio_size: optionalNumber,
  bitrate: optionalNumber,
  word_count: optionalNumber,
  invisible_character_ratio: optionalNumber,
  usage_characters: optionalNumber,
  audio_format: optionalString,
  audio_channel: optionalNumber,
});
export type ExtraInfo = z.infer<typeof ExtraInfoSchema>;

/** `POST /v1/t2a_v2` (non-streaming), and also each SSE event of a stream, which has the same shape. */
export const T2aResponseSchema = z.object({
  data: z
    .object({
      /** Hex audio, a hex chunk (stream), or a URL when `output_format: "url"`. */
      audio: z.string().nullish(),
      /** 1 = synthesizing (stream chunk), 2 = done. */
      status: z.number().int().nullish(),
      subtitle_file: optionalString,
    })
    .nullish(),
  extra_info: ExtraInfoSchema.nullish().catch(undefined),
  trace_id: optionalString,
  base_resp: BaseRespSchema,
});
export type T2aResponse = z.infer<typeof T2aResponseSchema>;
export const StreamEventSchema = T2aResponseSchema;
export type StreamEvent = T2aResponse;

/** `POST /v1/t2a_async_v2` */
export const AsyncCreateResponseSchema = z.object({
  task_id: IdSchema,
  task_token: optionalString,
  file_id: IdSchema.nullish(),
  usage_characters: optionalNumber,
  trace_id: optionalString,
  base_resp: BaseRespSchema,
});
export type AsyncCreateResponse = z.infer<typeof AsyncCreateResponseSchema>;

/** Documented both capitalised (`Success`) and lowercase (`success`): compare case-insensitively. */
export const AsyncStatusSchema = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(["processing", "success", "failed", "expired"]));

/** `GET /v1/query/t2a_async_query_v2` */
export const AsyncQueryResponseSchema = z.object({
  task_id: IdSchema.nullish(),
  status: AsyncStatusSchema,
  file_id: IdSchema.nullish(),
  base_resp: BaseRespSchema,
});
export type AsyncQueryResponse = z.infer<typeof AsyncQueryResponseSchema>;

export const FileObjectSchema = z.object({
  file_id: IdSchema,
  /** MiniMax may report 0 for an async result. */
  bytes: optionalNumber,
  created_at: optionalNumber,
  filename: optionalString,
  purpose: optionalString,
  download_url: optionalString,
});
export type FileObject = z.infer<typeof FileObjectSchema>;

/** `GET /v1/files/retrieve` and `POST /v1/files/upload` (upload has no download_url). */
export const FileResponseSchema = z.object({
  file: FileObjectSchema,
  base_resp: BaseRespSchema,
});

export const VoiceItemSchema = z.object({
  voice_id: z.string().min(1),
  voice_name: optionalString,
  /** An array of strings in the docs; tolerate a plain string. */
  description: z
    .union([z.array(z.string()), z.string()])
    .nullish()
    .catch(undefined),
  created_time: optionalString,
});
export type VoiceItem = z.infer<typeof VoiceItemSchema>;

/** get_voice leaves out the categories not asked for, or sends them as `null`. */
const voiceList = z
  .array(VoiceItemSchema)
  .nullish()
  .transform((v) => v ?? []);

/** `POST /v1/get_voice` */
export const GetVoiceResponseSchema = z.object({
  system_voice: voiceList,
  voice_cloning: voiceList,
  voice_generation: voiceList,
  base_resp: BaseRespSchema,
});
export type GetVoiceResponse = z.infer<typeof GetVoiceResponseSchema>;

/** A `.titles` file or a sync `subtitle_file`: a flat JSON array of cues, times in ms. */
export const SubtitleListSchema = z.array(SubtitleSegmentSchema);

/** A `.extra` file: a JSON object of figures about the audio. */
export const ExtraFileSchema = z.record(z.string(), z.unknown());

const ID_KEYS = new Set(["task_id", "file_id"]);
/** An id with 16 or more digits may exceed 2^53 − 1 (9007199254740991, 16 digits). */
const BIG_ID = /"(?:task_id|file_id)"\s*:\s*\d{16,}/;

/**
 * JSON.parse that keeps int64 ids exact: an id beyond 2^53 would silently change value as a JS number,
 * so its source text is kept instead (JSON.parse source-text access, Node ≥ 21).
 */
export function parseMiniMaxJson(text: string): unknown {
  // A reviver makes JSON.parse several times slower on large audio answers; ids that fit a JS number
  // (all of them in practice) need none.
  // `includes` first: the regex is far slower over the hex audio of a synthesis answer, which has no ids.
  const mayHaveIds = text.includes('"task_id"') || text.includes('"file_id"');
  if (!mayHaveIds || !BIG_ID.test(text)) return JSON.parse(text);
  const reviver = (key: string, value: unknown, context?: { source?: string }): unknown =>
    ID_KEYS.has(key) && typeof value === "number" && !Number.isSafeInteger(value) && context?.source
      ? context.source
      : value;
  return JSON.parse(text, reviver);
}
