import { FormData } from "undici";
import { ExpiredError, InvalidInputError, UpstreamError } from "../tts/errors.ts";
import type {
  AsyncResult,
  AsyncTaskCreated,
  AsyncTaskState,
  CallOptions,
  SpeechRequest,
  SpeechSettings,
  StreamSummary,
  VoiceInfo,
} from "../tts/types.ts";
import { RateLimiter } from "../util/rate-limiter.ts";
import { isRetryableError, type RetryOptions, withRetry } from "../util/retry.ts";
import { errorFromBaseResp, isSafeToRepeat } from "./errors.ts";
import { type HttpTimeouts, MiniMaxHttp, type MiniMaxLogger, parseAnswer } from "./http.ts";
import { type AsyncInput, toAsyncBody, toSyncBody } from "./request-body.ts";
import { type ArchiveLimits, readResultArchive } from "./result-archive.ts";
import {
  AsyncCreateResponseSchema,
  AsyncQueryResponseSchema,
  EnvelopeSchema,
  type ExtraInfo,
  type FileObject,
  FileResponseSchema,
  GetVoiceResponseSchema,
  parseMiniMaxJson,
  T2aResponseSchema,
  type VoiceItem,
} from "./schemas.ts";
import { decodeHexAudio, readAudioStream } from "./sse.ts";

export interface ClientRetryOptions {
  /** Extra attempts for a retryable failure. Default 3. */
  retries?: number;
  /** Default 500 ms. */
  baseMs?: number;
  /** Default 20 s. */
  maxMs?: number;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface MiniMaxClientOptions {
  apiKey: string;
  /** e.g. `https://api.minimax.io`; a path prefix is kept. */
  baseUrl: string;
  /** Legacy; sent as `?GroupId=` only when non-empty. */
  groupId?: string;
  /** Synthesis requests (sync, stream, async create) per minute. Default 60. */
  synthesisRpm?: number;
  /** Async status queries and file lookups per second. Default 10. */
  queryQps?: number;
  /**
   * Ready-made limiters, overriding synthesisRpm/queryQps: lets several clients sharing one key
   * share one budget.
   */
  limiters?: { synthesis?: RateLimiter; query?: RateLimiter; files?: RateLimiter };
  timeouts?: HttpTimeouts;
  /** Sockets per origin. Default 64: concurrent /speak requests must not queue behind a few sockets. */
  connections?: number;
  retry?: ClientRetryOptions;
  /** Largest answer or download accepted. Default 512 MiB. */
  maxDownloadBytes?: number;
  archiveLimits?: ArchiveLimits;
  logger?: MiniMaxLogger;
}

export const DEFAULT_CLIENT_OPTIONS = {
  synthesisRpm: 60,
  queryQps: 10,
  connections: 64,
  maxDownloadBytes: 512 * 1024 * 1024,
  retry: { retries: 3, baseMs: 500, maxMs: 20_000 },
} as const;

export interface SyncSynthesis {
  audio: Buffer;
  extraInfo: ExtraInfo | undefined;
  traceId: string | undefined;
  /** The signed URL the audio came from, with `outputFormat: "url"`. */
  audioUrl: string | undefined;
  /** `data.subtitle_file`, when subtitles were produced. */
  subtitleFileUrl: string | undefined;
}

export interface MiniMaxFile {
  fileId: string;
  bytes: number | undefined;
  createdAt: number | undefined;
  filename: string | undefined;
  purpose: string | undefined;
  downloadUrl: string | undefined;
}

export type VoiceType = "system" | "voice_cloning" | "voice_generation" | "all";
export type UploadPurpose = "t2a_async_input" | "voice_clone" | "prompt_audio";

/**
 * MiniMax counts requests when they arrive and we count them when they leave, so network jitter can
 * squeeze two of our windows into one of theirs: the windows carry a little slack.
 */
const SYNTHESIS_WINDOW_MS = 61_000;
const QUERY_WINDOW_MS = 1_100;

const ROUTES = {
  t2a: "/v1/t2a_v2",
  asyncCreate: "/v1/t2a_async_v2",
  asyncQuery: "/v1/query/t2a_async_query_v2",
  retrieve: "/v1/files/retrieve",
  retrieveContent: "/v1/files/retrieve_content",
  upload: "/v1/files/upload",
  voices: "/v1/get_voice",
} as const;

function checkId(kind: string, id: string): string {
  if (!/^\d+$/.test(id)) {
    throw new InvalidInputError(`MiniMax ${kind} must be a decimal id, got ${JSON.stringify(id)}`, {
      provider: "minimax",
    });
  }
  return id;
}

const noAudio = (traceId: string | undefined) =>
  new UpstreamError("MiniMax answered success but without audio", { provider: "minimax", traceId });

/**
 * The MiniMax T2A HTTP API. Synthesis calls share an RPM budget and status/file lookups a QPS budget
 * (spec §5.3), so the client slows itself down instead of earning 1002s; only retryable failures are
 * retried, and calls that would create something twice are retried only when the server provably did
 * nothing.
 */
export class MiniMaxClient {
  readonly #http: MiniMaxHttp;
  readonly #synthesis: RateLimiter;
  readonly #query: RateLimiter;
  /**
   * files/retrieve and retrieve_content: their limit is undocumented, so they get a budget of the
   * same size as the documented query limit, but their own, so result downloads do not delay polls.
   */
  readonly #files: RateLimiter;
  readonly #retry: Pick<RetryOptions, "retries" | "baseMs" | "maxMs" | "random" | "sleep">;
  readonly #archiveLimits: ArchiveLimits | undefined;
  readonly #log: MiniMaxLogger | undefined;

  constructor(opts: MiniMaxClientOptions) {
    const d = DEFAULT_CLIENT_OPTIONS;
    this.#http = new MiniMaxHttp({
      apiKey: opts.apiKey,
      baseUrl: opts.baseUrl,
      groupId: opts.groupId,
      connections: opts.connections ?? d.connections,
      timeouts: opts.timeouts,
      maxDownloadBytes: opts.maxDownloadBytes ?? d.maxDownloadBytes,
      logger: opts.logger,
    });
    this.#synthesis =
      opts.limiters?.synthesis ??
      new RateLimiter({ limit: opts.synthesisRpm ?? d.synthesisRpm, intervalMs: SYNTHESIS_WINDOW_MS });
    this.#query =
      opts.limiters?.query ??
      new RateLimiter({ limit: opts.queryQps ?? d.queryQps, intervalMs: QUERY_WINDOW_MS });
    this.#files =
      opts.limiters?.files ??
      new RateLimiter({ limit: opts.queryQps ?? d.queryQps, intervalMs: QUERY_WINDOW_MS });
    this.#retry = { ...d.retry, ...opts.retry };
    this.#archiveLimits = opts.archiveLimits;
    this.#log = opts.logger;
  }

  /** Non-streaming synthesis. With `outputFormat: "url"` the audio is downloaded (bounded) from the URL. */
  async synthesize(
    req: SpeechRequest,
    opts: CallOptions & { outputFormat?: "hex" | "url" } = {},
  ): Promise<SyncSynthesis> {
    const { signal } = opts;
    const outputFormat = opts.outputFormat ?? "hex";
    const body = toSyncBody(req, { stream: false, outputFormat });
    const { value, traceId } = await this.#call("t2a", signal, async () => {
      await this.#synthesis.acquire(signal);
      return this.#http.postJson(ROUTES.t2a, body, T2aResponseSchema, signal);
    });
    const field = value.data?.audio;
    if (!field) throw noAudio(traceId);
    const audio =
      outputFormat === "url"
        ? await this.#call("download", signal, () => this.#http.download(field, signal))
        : decodeHexAudio(field, traceId);
    if (audio.length === 0) throw noAudio(traceId);
    return {
      audio,
      extraInfo: value.extra_info ?? undefined,
      traceId,
      audioUrl: outputFormat === "url" ? field : undefined,
      subtitleFileUrl: value.data?.subtitle_file ?? undefined,
    };
  }

  /**
   * Streaming synthesis: yields audio as it arrives. Failures before the first chunk are retried
   * like any call; after audio has been yielded a retry would repeat it, so the error is thrown.
   */
  async *stream(req: SpeechRequest, opts: CallOptions = {}): AsyncGenerator<Buffer, StreamSummary, void> {
    const { signal } = opts;
    const body = toSyncBody(req, { stream: true });
    const { chunks, first } = await this.#call("t2a stream", signal, async () => {
      await this.#synthesis.acquire(signal);
      const res = await this.#http.openPost(ROUTES.t2a, body, "text/event-stream", signal);
      const chunks: AsyncIterator<Buffer, StreamSummary, void> = res.contentType.includes("text/event-stream")
        ? readAudioStream(res.body, { traceId: res.traceId })
        : wholeAnswerAsStream(res.body, res.traceId);
      return { chunks, first: await chunks.next() };
    });
    try {
      let next = first;
      while (!next.done) {
        yield next.value;
        next = await chunks.next();
      }
      return next.value;
    } finally {
      // Closes the HTTP body when the consumer stops early.
      await chunks.return?.();
    }
  }

  async createAsyncTask(
    input: AsyncInput,
    settings: SpeechSettings,
    opts: CallOptions = {},
  ): Promise<AsyncTaskCreated> {
    const { signal } = opts;
    const body = toAsyncBody(input, settings);
    const { value, traceId } = await this.#call(
      "async create",
      signal,
      async () => {
        await this.#synthesis.acquire(signal);
        return this.#http.postJson(ROUTES.asyncCreate, body, AsyncCreateResponseSchema, signal);
      },
      // A timed-out create may have created (and billed) a task: repeat only provable non-starts.
      isSafeToRepeat,
    );
    return {
      taskId: value.task_id,
      fileId: value.file_id ?? undefined,
      usageCharacters: value.usage_characters ?? undefined,
      traceId: value.trace_id ?? traceId,
    };
  }

  async queryAsyncTask(taskId: string, opts: CallOptions = {}): Promise<AsyncTaskState> {
    const { signal } = opts;
    const query = { task_id: checkId("task id", taskId) };
    const { value } = await this.#call("async query", signal, async () => {
      await this.#query.acquire(signal);
      return this.#http.getJson(ROUTES.asyncQuery, query, AsyncQueryResponseSchema, signal);
    });
    return { taskId: value.task_id ?? taskId, status: value.status, fileId: value.file_id ?? undefined };
  }

  async retrieveFile(fileId: string, opts: CallOptions = {}): Promise<MiniMaxFile> {
    const { signal } = opts;
    const query = { file_id: checkId("file id", fileId) };
    const { value } = await this.#call("file retrieve", signal, async () => {
      await this.#files.acquire(signal);
      return this.#http.getJson(ROUTES.retrieve, query, FileResponseSchema, signal);
    });
    return toFile(value.file);
  }

  /** GET a signed download URL (no API key sent). HTTP 403/404/410 → ExpiredError. */
  downloadFile(url: string, opts: CallOptions = {}): Promise<Buffer> {
    return this.#call("download", opts.signal, () => this.#http.download(url, opts.signal));
  }

  /** The file's bytes through the authenticated API (`/v1/files/retrieve_content`). */
  async retrieveContent(fileId: string, opts: CallOptions = {}): Promise<Buffer> {
    const { signal } = opts;
    const query = { file_id: checkId("file id", fileId) };
    const { bytes, contentType, traceId } = await this.#call("file content", signal, async () => {
      await this.#files.acquire(signal);
      return this.#http.getBytes(ROUTES.retrieveContent, query, signal);
    });
    if (contentType.includes("json")) throwIfBaseRespError(bytes, traceId);
    return bytes;
  }

  /**
   * Retrieve → download → unpack the result of a successful async task. When the signed URL fails
   * (expired, or object storage down) the bytes are fetched through the API instead.
   */
  async fetchAsyncResult(fileId: string, opts: CallOptions = {}): Promise<AsyncResult> {
    const { signal } = opts;
    const file = await this.retrieveFile(fileId, opts);
    let archive: Buffer;
    if (file.downloadUrl) {
      try {
        archive = await this.downloadFile(file.downloadUrl, opts);
      } catch (downloadErr) {
        if (signal?.aborted) throw downloadErr;
        this.#log?.warn(
          { fileId, err: String(downloadErr) },
          "MiniMax download URL failed; trying retrieve_content",
        );
        try {
          archive = await this.retrieveContent(fileId, opts);
        } catch (contentErr) {
          // "Expired" says more than whatever the fallback route answers for a file that is gone.
          throw downloadErr instanceof ExpiredError && !signal?.aborted ? downloadErr : contentErr;
        }
      }
    } else {
      archive = await this.retrieveContent(fileId, opts);
    }
    return readResultArchive(archive, this.#archiveLimits);
  }

  /** Multipart upload; `purpose` goes before `file` (spec §2.4). */
  async uploadFile(
    content: Buffer,
    filename: string,
    purpose: UploadPurpose = "t2a_async_input",
    opts: CallOptions = {},
  ): Promise<MiniMaxFile> {
    const { signal } = opts;
    const { value } = await this.#call(
      "file upload",
      signal,
      () => {
        // A fresh form per attempt: a sent FormData body cannot be replayed.
        const form = new FormData();
        form.append("purpose", purpose);
        form.append("file", new Blob([content], { type: mimeFor(filename) }), filename);
        return this.#http.postForm(ROUTES.upload, form, FileResponseSchema, signal);
      },
      isSafeToRepeat,
    );
    return toFile(value.file);
  }

  async getVoices(voiceType: VoiceType = "all", opts: CallOptions = {}): Promise<VoiceInfo[]> {
    const { signal } = opts;
    const { value } = await this.#call("voices", signal, () =>
      this.#http.postJson(ROUTES.voices, { voice_type: voiceType }, GetVoiceResponseSchema, signal),
    );
    return [
      ...value.system_voice.map((v) => toVoice(v, "system")),
      ...value.voice_cloning.map((v) => toVoice(v, "voice_cloning")),
      ...value.voice_generation.map((v) => toVoice(v, "voice_generation")),
    ];
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  #call<T>(
    op: string,
    signal: AbortSignal | undefined,
    fn: () => Promise<T>,
    isRetryable: (err: unknown) => boolean = isRetryableError,
  ): Promise<T> {
    return withRetry(fn, {
      ...this.#retry,
      signal,
      isRetryable,
      onRetry: ({ attempt, delayMs, error }) =>
        this.#log?.warn({ op, attempt, delayMs, err: describe(error) }, "MiniMax call failed; retrying"),
    });
  }
}

/** A JSON answer on the stream route: MiniMax refused before streaming, or sent everything at once. */
async function* wholeAnswerAsStream(
  body: AsyncIterable<Buffer>,
  headerTrace: string | undefined,
): AsyncGenerator<Buffer, StreamSummary, void> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  const { value, traceId } = parseAnswer(
    Buffer.concat(parts).toString("utf8"),
    T2aResponseSchema,
    ROUTES.t2a,
    headerTrace,
  );
  const audio = decodeHexAudio(value.data?.audio ?? "", traceId);
  if (audio.length > 0) yield audio;
  return {
    durationMs: value.extra_info?.audio_length ?? undefined,
    usageCharacters: value.extra_info?.usage_characters ?? undefined,
    traceId,
    bytes: audio.length,
  };
}

function throwIfBaseRespError(bytes: Buffer, headerTrace: string | undefined): void {
  let envelope: ReturnType<typeof EnvelopeSchema.safeParse>;
  try {
    envelope = EnvelopeSchema.safeParse(parseMiniMaxJson(bytes.toString("utf8")));
  } catch {
    return;
  }
  if (envelope.success && envelope.data.base_resp.status_code !== 0) {
    const { status_code: code, status_msg: msg } = envelope.data.base_resp;
    throw errorFromBaseResp(code, msg, envelope.data.trace_id ?? headerTrace);
  }
}

function toFile(file: FileObject): MiniMaxFile {
  return {
    fileId: file.file_id,
    bytes: file.bytes ?? undefined,
    createdAt: file.created_at ?? undefined,
    filename: file.filename ?? undefined,
    purpose: file.purpose ?? undefined,
    downloadUrl: file.download_url || undefined,
  };
}

function toVoice(v: VoiceItem, category: VoiceInfo["category"]): VoiceInfo {
  const description = Array.isArray(v.description) ? v.description.join(" ") : v.description;
  return {
    voiceId: v.voice_id,
    name: v.voice_name || undefined,
    description: description?.trim() || undefined,
    category,
  };
}

function mimeFor(filename: string): string {
  const lower = filename.toLowerCase();
  if (lower.endsWith(".txt")) return "text/plain";
  if (lower.endsWith(".zip")) return "application/zip";
  if (lower.endsWith(".json")) return "application/json";
  return "application/octet-stream";
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
