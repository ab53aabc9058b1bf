import { FormData } from "undici";
import { checkAudioBytes } from "../../audio/sniff.ts";
import { DEFAULT_DOWNLOAD_HOSTS } from "../../config.ts";
import { ExpiredError, InvalidInputError, TtsError, UpstreamError } from "../../speech/errors.ts";
import type {
  AsyncResult,
  AsyncTaskCreated,
  AsyncTaskState,
  CallOptions,
  DesignedVoiceResult,
  SpeechRequest,
  SpeechSettings,
  StreamSummary,
  VoiceInfo,
} from "../../speech/types.ts";
import {
  type ClientLogger,
  limiterFor,
  type ProviderClientDefaults,
  type ProviderClientOptions,
  type ResolvedRetry,
  retryWithinDeadline,
  withDefaults,
} from "../http/client-options.ts";
import { acquireBefore, type CallDeadline, startDeadline } from "../http/deadline.ts";
import type { AgentTimeouts } from "../http/http-body.ts";
import type { Limiter } from "../http/rate-limiter.ts";
import { isRetryableError } from "../http/retry.ts";
import { errorFromBaseResp, isSafeToRepeat } from "./errors.ts";
import { MiniMaxHttp, type OpenResponse, parseAnswer } from "./http.ts";
import { type AsyncInput, toAsyncBody, toSyncBody } from "./request-body.ts";
import {
  type ArchiveLimits,
  ArchiveRejectedError,
  DEFAULT_ARCHIVE_LIMITS,
  readResultArchive,
} from "./result-archive.ts";
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
import {
  type DeletableVoiceType,
  DeleteVoiceResponseSchema,
  toVoiceDesignBody,
  VOICE_GONE_CODES,
  type VoiceDesignInput,
  VoiceDesignInputSchema,
  VoiceDesignResponseSchema,
} from "./voice-design.ts";

const MiB = 1024 * 1024;

/** Largest body read per kind of answer. MiniMax sends audio as hex, so a JSON answer is twice its audio. */
export interface MiniMaxBodyLimits {
  /** Sync t2a_v2 JSON (hex audio). */
  syncJson: number;
  /** Audio bytes of one stream, all chunks together (the SSE body may be up to 4× this: hex, plus
   * the aggregated repeat a server may send despite exclude_aggregated_audio). */
  streamAudio: number;
  /** get_voice. */
  voices: number;
  /** Task creation and queries, file metadata, upload answers. */
  metadata: number;
  /** One `output_format: url` clip. */
  audioDownload: number;
  /** An async task's result archive (download_url or retrieve_content). */
  result: number;
}

/**
 * Overall deadline per public call, retries and backoff included. A sync synthesis gets as long as
 * one attempt may wait for its headers (a long clip answers only when done).
 */
export interface MiniMaxDeadlines {
  synthesizeMs: number;
  streamMs: number;
  createMs: number;
  uploadMs: number;
  queryMs: number;
  voicesMs: number;
  /** Result retrieval: file lookup, archive download (or retrieve_content), unpacking. */
  resultMs: number;
  /** Voice design (a trial clip is synthesized) and voice deletion. */
  voiceDesignMs: number;
}

/**
 * Synthesis (sync, stream, async create) has an RPM budget; async status queries a QPS budget; file
 * lookups and result downloads (`files`) a budget of their own of the same size.
 */
export type MiniMaxLimiter = "synthesis" | "query" | "files" | "design";

export interface MiniMaxClientOptions
  extends ProviderClientOptions<MiniMaxLimiter, MiniMaxBodyLimits, MiniMaxDeadlines> {
  /** Legacy; sent as `?GroupId=` only when non-empty. */
  groupId?: string;
  /** Async status queries and file lookups per second (each its own budget). */
  queryQps?: number;
  /** Bounds on unpacking a result archive; by default no more than `bodyLimits.result`. */
  archiveLimits?: ArchiveLimits;
}

export const MINIMAX_DEFAULTS = {
  baseUrl: "https://api.minimax.io",
  synthesisRpm: 60,
  queryQps: 10,
  retry: { retries: 3, baseMs: 500, maxMs: 20_000 },
  timeouts: { connectMs: 10_000, headersMs: 120_000, bodyMs: 120_000, keepAliveMs: 10_000 },
  connections: 64,
  bodyLimits: {
    syncJson: 32 * MiB,
    streamAudio: 32 * MiB,
    voices: 8 * MiB,
    metadata: 1 * MiB,
    audioDownload: 32 * MiB,
    result: 200 * MiB,
  },
  deadlines: {
    synthesizeMs: 120_000,
    streamMs: 120_000,
    createMs: 60_000,
    uploadMs: 60_000,
    queryMs: 30_000,
    voicesMs: 30_000,
    resultMs: 5 * 60_000,
    voiceDesignMs: 60_000,
  },
} as const satisfies ProviderClientDefaults<MiniMaxBodyLimits, MiniMaxDeadlines> & { queryQps: number };

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
  voiceDesign: "/v1/voice_design",
  deleteVoice: "/v1/delete_voice",
} as const;

/** MiniMax's documented voice design limit (rate-limits page: Voice Design 20 RPM). */
const VOICE_DESIGN_RPM = 20;

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

/** Refuses bytes that are not audio of the requested format (see audio/sniff.ts). */
function checkAudio(audio: Buffer, format: SpeechRequest["format"], traceId: string | undefined): void {
  const sniffed = checkAudioBytes(audio, format);
  if (!sniffed.ok) {
    throw new UpstreamError(`MiniMax returned ${sniffed.kind} where ${format} audio was expected`, {
      provider: "minimax",
      traceId,
    });
  }
}

/** Bytes a stream holds back before it can tell audio from something else. */
const STREAM_SNIFF_BYTES = 64;

/**
 * The MiniMax T2A HTTP API. MiniMax gives synthesis calls an RPM budget and status queries a QPS
 * budget, so the client slows itself down instead of earning 1002s; only retryable failures are
 * retried, and calls that would create something twice are retried only when the server provably did
 * nothing.
 */
export class MiniMaxClient {
  readonly #http: MiniMaxHttp;
  readonly #synthesis: Limiter;
  readonly #query: Limiter;
  /**
   * files/retrieve and retrieve_content: their limit is undocumented, so they get a budget of the
   * same size as the documented query limit, but their own, so result downloads do not delay polls.
   */
  readonly #files: Limiter;
  /** Voice design has its own documented RPM, apart from synthesis. */
  readonly #design: Limiter;
  readonly #retry: ResolvedRetry;
  readonly #limits: MiniMaxBodyLimits;
  readonly #deadlines: MiniMaxDeadlines;
  readonly #archiveLimits: ArchiveLimits;
  readonly #log: ClientLogger | undefined;

  constructor(opts: MiniMaxClientOptions) {
    const d = MINIMAX_DEFAULTS;
    const connections = opts.connections ?? d.connections;
    this.#http = new MiniMaxHttp({
      apiKey: opts.apiKey,
      baseUrl: opts.baseUrl ?? d.baseUrl,
      groupId: opts.groupId,
      connections,
      timeouts: withDefaults<AgentTimeouts>(d.timeouts, opts.timeouts),
      downloads: {
        allowedHosts: opts.downloads?.allowedHosts ?? DEFAULT_DOWNLOAD_HOSTS,
        allowLoopback: opts.downloads?.allowLoopback ?? false,
        lookup: opts.downloads?.lookup,
      },
      logger: opts.logger,
    });
    const rpm = opts.synthesisRpm ?? d.synthesisRpm;
    const qps = opts.queryQps ?? d.queryQps;
    this.#synthesis = limiterFor(opts.limiters, "synthesis", rpm, SYNTHESIS_WINDOW_MS);
    this.#query = limiterFor(opts.limiters, "query", qps, QUERY_WINDOW_MS);
    this.#files = limiterFor(opts.limiters, "files", qps, QUERY_WINDOW_MS);
    this.#design = limiterFor(opts.limiters, "design", VOICE_DESIGN_RPM, SYNTHESIS_WINDOW_MS);
    this.#retry = withDefaults<ResolvedRetry>(d.retry, opts.retry);
    this.#limits = withDefaults<MiniMaxBodyLimits>(d.bodyLimits, opts.bodyLimits);
    this.#deadlines = withDefaults<MiniMaxDeadlines>(d.deadlines, opts.deadlines);
    // The archive can hold no more than was downloaded.
    this.#archiveLimits = {
      maxTotalBytes: Math.min(DEFAULT_ARCHIVE_LIMITS.maxTotalBytes, this.#limits.result),
      maxEntryBytes: Math.min(DEFAULT_ARCHIVE_LIMITS.maxEntryBytes, this.#limits.result),
      ...opts.archiveLimits,
    };
    this.#log = opts.logger;
  }

  /**
   * Non-streaming synthesis. With `outputFormat: "url"` the audio is downloaded (bounded, and only
   * from an allowed host) from the URL. The audio must be of the requested format (magic bytes).
   */
  async synthesize(
    req: SpeechRequest,
    opts: CallOptions & { outputFormat?: "hex" | "url" } = {},
  ): Promise<SyncSynthesis> {
    const outputFormat = opts.outputFormat ?? "hex";
    const body = toSyncBody(req, { stream: false, outputFormat });
    return this.#withDeadline("t2a", this.#deadlines.synthesizeMs, opts, async (dl) => {
      const { signal } = dl;
      const { value, traceId } = await this.#call("t2a", dl, async () => {
        await this.#acquire(this.#synthesis, dl, opts.onQueued);
        return this.#http.postJson(ROUTES.t2a, body, T2aResponseSchema, {
          signal,
          maxBytes: this.#limits.syncJson,
        });
      });
      const field = value.data?.audio;
      if (!field) throw noAudio(traceId);
      const audio =
        outputFormat === "url"
          ? await this.#call("download", dl, () =>
              this.#http.download(field, { signal, maxBytes: this.#limits.audioDownload }),
            )
          : decodeHexAudio(field, traceId);
      if (audio.length === 0) throw noAudio(traceId);
      checkAudio(audio, req.format, traceId);
      return {
        audio,
        extraInfo: value.extra_info ?? undefined,
        traceId,
        audioUrl: outputFormat === "url" ? field : undefined,
        subtitleFileUrl: value.data?.subtitle_file ?? undefined,
      };
    });
  }

  /**
   * Streaming synthesis: yields audio as it arrives. Failures before the first chunk are retried
   * like any call; after audio has been yielded a retry would repeat it, so the error is thrown. The
   * deadline covers the whole stream; the first bytes must be audio of the requested format, and the
   * total is bounded.
   */
  async *stream(req: SpeechRequest, opts: CallOptions = {}): AsyncGenerator<Buffer, StreamSummary, void> {
    const body = toSyncBody(req, { stream: true });
    const dl = this.#deadline("t2a stream", this.#deadlines.streamMs, opts);
    let chunks: AsyncIterator<Buffer, StreamSummary, void> | undefined;
    try {
      const { signal } = dl;
      const audioCap = this.#limits.streamAudio;
      const opened = await this.#call("t2a stream", dl, async () => {
        await this.#acquire(this.#synthesis, dl, opts.onQueued);
        const res = await this.#http.openPost(ROUTES.t2a, body, "text/event-stream", {
          signal,
          // Hex doubles the audio; a server ignoring exclude_aggregated_audio repeats it all at the end.
          maxBytes: 4 * audioCap + MiB,
        });
        const raw: AsyncIterator<Buffer, StreamSummary, void> = res.contentType.includes("text/event-stream")
          ? readAudioStream(res.body, { traceId: res.traceId, maxEventChars: 2 * audioCap + MiB })
          : wholeAnswerAsStream(res.body, res.traceId);
        const guarded = guardAudioStream(raw, req.format, audioCap, res.traceId);
        return { guarded, first: await guarded.next() };
      });
      chunks = opened.guarded;
      let next = opened.first;
      while (!next.done) {
        yield next.value;
        next = await chunks.next();
      }
      return next.value;
    } catch (err) {
      throw dl.outcome(err);
    } finally {
      dl.dispose();
      // Closes the HTTP body when the consumer stops early.
      await chunks?.return?.(undefined as never);
    }
  }

  async createAsyncTask(
    input: AsyncInput,
    settings: SpeechSettings,
    opts: CallOptions = {},
  ): Promise<AsyncTaskCreated> {
    const body = toAsyncBody(input, settings);
    return this.#withDeadline("async create", this.#deadlines.createMs, opts, async (dl) => {
      const { value, traceId } = await this.#call(
        "async create",
        dl,
        async () => {
          await this.#acquire(this.#synthesis, dl, opts.onQueued);
          return this.#http.postJson(ROUTES.asyncCreate, body, AsyncCreateResponseSchema, {
            signal: dl.signal,
            maxBytes: this.#limits.metadata,
          });
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
    });
  }

  async queryAsyncTask(taskId: string, opts: CallOptions = {}): Promise<AsyncTaskState> {
    const query = { task_id: checkId("task id", taskId) };
    return this.#withDeadline("async query", this.#deadlines.queryMs, opts, async (dl) => {
      const { value } = await this.#call("async query", dl, async () => {
        await this.#acquire(this.#query, dl);
        return this.#http.getJson(ROUTES.asyncQuery, query, AsyncQueryResponseSchema, {
          signal: dl.signal,
          maxBytes: this.#limits.metadata,
        });
      });
      return { taskId: value.task_id ?? taskId, status: value.status, fileId: value.file_id ?? undefined };
    });
  }

  async retrieveFile(fileId: string, opts: CallOptions = {}): Promise<MiniMaxFile> {
    const query = { file_id: checkId("file id", fileId) };
    return this.#withDeadline("file retrieve", this.#deadlines.queryMs, opts, async (dl) => {
      const { value } = await this.#call("file retrieve", dl, async () => {
        await this.#acquire(this.#files, dl);
        return this.#http.getJson(ROUTES.retrieve, query, FileResponseSchema, {
          signal: dl.signal,
          maxBytes: this.#limits.metadata,
        });
      });
      return toFile(value.file);
    });
  }

  /**
   * GET a signed download URL (no API key sent; only to an allowed host, see `downloads`), at most
   * `maxBytes` (default: the result limit). HTTP 403/404/410 → ExpiredError; a refused link →
   * UntrustedDownloadError.
   */
  downloadFile(url: string, opts: CallOptions & { maxBytes?: number } = {}): Promise<Buffer> {
    const maxBytes = opts.maxBytes ?? this.#limits.result;
    return this.#withDeadline("download", this.#deadlines.resultMs, opts, (dl) =>
      this.#call("download", dl, () => this.#http.download(url, { signal: dl.signal, maxBytes })),
    );
  }

  /** The file's bytes through the authenticated API (`/v1/files/retrieve_content`). */
  async retrieveContent(fileId: string, opts: CallOptions = {}): Promise<Buffer> {
    const query = { file_id: checkId("file id", fileId) };
    return this.#withDeadline("file content", this.#deadlines.resultMs, opts, async (dl) => {
      const { bytes, contentType, traceId } = await this.#call("file content", dl, async () => {
        await this.#acquire(this.#files, dl);
        return this.#http.getBytes(ROUTES.retrieveContent, query, {
          signal: dl.signal,
          maxBytes: this.#limits.result,
        });
      });
      if (contentType.includes("json")) throwIfBaseRespError(bytes, traceId);
      return bytes;
    });
  }

  /**
   * Retrieve → download → unpack the result of a successful async task, the archive streamed into
   * the tar reader (never buffered whole, refused as soon as a limit is crossed). When the signed
   * URL fails (expired, refused, object storage down) the bytes are fetched through the API instead;
   * an archive that is itself unacceptable is not fetched again.
   */
  async fetchAsyncResult(fileId: string, opts: CallOptions = {}): Promise<AsyncResult> {
    return this.#withDeadline("async result", this.#deadlines.resultMs, opts, async (dl) => {
      const inner: CallOptions = { signal: dl.signal, deadline: dl.at };
      const file = await this.retrieveFile(fileId, inner);
      if (!file.downloadUrl) return this.#resultFromContent(fileId, dl);
      const url = file.downloadUrl;
      try {
        return await this.#call("result download", dl, () =>
          this.#readArchive(() =>
            this.#http.openDownload(url, {
              signal: dl.signal,
              maxBytes: this.#limits.result,
              tooLarge: archiveTooLarge,
            }),
          ),
        );
      } catch (downloadErr) {
        if (dl.signal.aborted || downloadErr instanceof ArchiveRejectedError) throw downloadErr;
        this.#log?.warn(
          { fileId, err: String(downloadErr) },
          "MiniMax download URL failed; trying retrieve_content",
        );
        try {
          return await this.#resultFromContent(fileId, dl);
        } catch (contentErr) {
          // "Expired" says more than whatever the fallback route answers for a file that is gone.
          throw downloadErr instanceof ExpiredError && !dl.signal.aborted ? downloadErr : contentErr;
        }
      }
    });
  }

  /** Multipart upload; MiniMax wants the `purpose` field before `file`. */
  async uploadFile(
    content: Buffer,
    filename: string,
    purpose: UploadPurpose = "t2a_async_input",
    opts: CallOptions = {},
  ): Promise<MiniMaxFile> {
    return this.#withDeadline("file upload", this.#deadlines.uploadMs, opts, async (dl) => {
      const { value } = await this.#call(
        "file upload",
        dl,
        () => {
          // A fresh form per attempt: a sent FormData body cannot be replayed.
          const form = new FormData();
          form.append("purpose", purpose);
          form.append("file", new Blob([content], { type: mimeFor(filename) }), filename);
          return this.#http.postForm(ROUTES.upload, form, FileResponseSchema, {
            signal: dl.signal,
            maxBytes: this.#limits.metadata,
          });
        },
        isSafeToRepeat,
      );
      return toFile(value.file);
    });
  }

  async getVoices(voiceType: VoiceType = "all", opts: CallOptions = {}): Promise<VoiceInfo[]> {
    return this.#withDeadline("voices", this.#deadlines.voicesMs, opts, async (dl) => {
      const { value } = await this.#call("voices", dl, () =>
        this.#http.postJson(ROUTES.voices, { voice_type: voiceType }, GetVoiceResponseSchema, {
          signal: dl.signal,
          maxBytes: this.#limits.voices,
        }),
      );
      return [
        ...value.system_voice.map((v) => toVoice(v, "system")),
        ...value.voice_cloning.map((v) => toVoice(v, "voice_cloning")),
        ...value.voice_generation.map((v) => toVoice(v, "voice_generation")),
      ];
    });
  }

  /**
   * Designs a voice from a description (`POST /v1/voice_design`) under the caller's voice id. MiniMax
   * bills the preview text, so a failure is retried only when the server provably did nothing; the
   * trial clip must be mp3 audio.
   */
  async designVoice(input: VoiceDesignInput, opts: CallOptions = {}): Promise<DesignedVoiceResult> {
    const parsed = VoiceDesignInputSchema.safeParse(input);
    if (!parsed.success) {
      throw new InvalidInputError(`voice design: ${parsed.error.issues[0]?.message ?? "invalid input"}`, {
        provider: "minimax",
      });
    }
    const body = toVoiceDesignBody(parsed.data);
    return this.#withDeadline("voice design", this.#deadlines.voiceDesignMs, opts, async (dl) => {
      const { value, traceId } = await this.#call(
        "voice design",
        dl,
        async () => {
          await this.#acquire(this.#design, dl, opts.onQueued);
          return this.#http.postJson(ROUTES.voiceDesign, body, VoiceDesignResponseSchema, {
            signal: dl.signal,
            maxBytes: this.#limits.syncJson,
          });
        },
        isSafeToRepeat,
      );
      const trace = value.trace_id ?? traceId;
      if (value.voice_id !== body.voice_id) {
        throw new UpstreamError("MiniMax designed the voice under another id than the one asked for", {
          provider: "minimax",
          traceId: trace,
        });
      }
      const trialAudio = decodeHexAudio(value.trial_audio ?? "", trace);
      if (trialAudio.length === 0) throw noAudio(trace);
      checkAudio(trialAudio, "mp3", trace);
      return { voiceId: value.voice_id, trialAudio, traceId: trace };
    });
  }

  /**
   * Deletes a cloned or designed voice (`POST /v1/delete_voice`). A voice MiniMax does not know is
   * already deleted, so that answer is success.
   */
  async deleteVoice(
    voiceType: DeletableVoiceType,
    voiceId: string,
    opts: CallOptions = {},
  ): Promise<{ existed: boolean }> {
    return this.#withDeadline("delete voice", this.#deadlines.voiceDesignMs, opts, async (dl) => {
      try {
        await this.#call("delete voice", dl, () =>
          this.#http.postJson(
            ROUTES.deleteVoice,
            { voice_type: voiceType, voice_id: voiceId },
            DeleteVoiceResponseSchema,
            { signal: dl.signal, maxBytes: this.#limits.metadata },
          ),
        );
        return { existed: true };
      } catch (err) {
        if (err instanceof TtsError && err.code !== undefined && VOICE_GONE_CODES.has(err.code)) {
          return { existed: false };
        }
        throw err;
      }
    });
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** retrieve_content, streamed into the tar reader; a JSON answer is MiniMax's error in a 200. */
  #resultFromContent(fileId: string, dl: CallDeadline): Promise<AsyncResult> {
    const query = { file_id: checkId("file id", fileId) };
    return this.#call("file content", dl, () =>
      this.#readArchive(async () => {
        await this.#acquire(this.#files, dl);
        const res = await this.#http.openGet(ROUTES.retrieveContent, query, {
          signal: dl.signal,
          maxBytes: this.#limits.result,
          tooLarge: archiveTooLarge,
        });
        if (res.contentType.includes("json")) {
          const parts: Buffer[] = [];
          let size = 0;
          for await (const chunk of res.body) {
            size += chunk.length;
            if (size > this.#limits.metadata) break;
            parts.push(chunk);
          }
          throwIfBaseRespError(Buffer.concat(parts), res.traceId);
          throw new UpstreamError("MiniMax retrieve_content answered JSON instead of the archive", {
            provider: "minimax",
            traceId: res.traceId,
          });
        }
        return res;
      }),
    );
  }

  /** Opens the archive and reads it as it streams in, closing the transfer however that ends. */
  async #readArchive(open: () => Promise<OpenResponse>): Promise<AsyncResult> {
    const res = await open();
    return readResultArchive(res.body, this.#archiveLimits);
  }

  #deadline(op: string, budgetMs: number, opts: CallOptions): CallDeadline {
    return startDeadline(budgetMs, opts, { provider: "minimax", label: "MiniMax", op });
  }

  /** Runs `fn` under the call's overall deadline; a call past it fails with DeadlineExceededError. */
  async #withDeadline<T>(
    op: string,
    budgetMs: number,
    opts: CallOptions,
    fn: (dl: CallDeadline) => Promise<T>,
  ): Promise<T> {
    const dl = this.#deadline(op, budgetMs, opts);
    try {
      dl.signal.throwIfAborted();
      return await fn(dl);
    } catch (err) {
      throw dl.outcome(err);
    } finally {
      dl.dispose();
    }
  }

  /**
   * A rate-limit slot before the deadline, or a ProviderBusyError at once. `onQueued` hears when the
   * call has to wait in line (the caller's `CallOptions.onQueued`).
   */
  #acquire(limiter: Limiter, dl: CallDeadline, onQueued?: CallOptions["onQueued"]): Promise<void> {
    return acquireBefore(onQueued ? limiter.reporting(onQueued) : limiter, dl, {
      provider: "minimax",
      label: "MiniMax",
    });
  }

  #call<T>(
    op: string,
    dl: CallDeadline,
    fn: () => Promise<T>,
    isRetryable: (err: unknown) => boolean = isRetryableError,
  ): Promise<T> {
    return retryWithinDeadline(fn, {
      retry: this.#retry,
      deadline: dl,
      isRetryable,
      onRetry: ({ attempt, delayMs, error }) => {
        this.#log?.warn({ op, attempt, delayMs, err: describe(error) }, "MiniMax call failed; retrying");
      },
    });
  }
}

function archiveTooLarge(maxBytes: number): ArchiveRejectedError {
  return new ArchiveRejectedError(`the archive is larger than the ${maxBytes}-byte limit`);
}

/**
 * Passes a stream's chunks through once its head is known to be audio of `format` (holding back at
 * most STREAM_SNIFF_BYTES to decide), and refuses a stream whose audio passes `maxBytes` in total.
 */
async function* guardAudioStream(
  source: AsyncIterator<Buffer, StreamSummary, void>,
  format: SpeechRequest["format"],
  maxBytes: number,
  traceId: string | undefined,
): AsyncGenerator<Buffer, StreamSummary, void> {
  let head: Buffer[] = [];
  let headBytes = 0;
  let checked = false;
  let total = 0;
  const release = function* (): Generator<Buffer, void, void> {
    checkAudio(Buffer.concat(head), format, traceId);
    checked = true;
    const held = head;
    head = [];
    yield* held;
  };
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) {
        if (!checked && headBytes > 0) yield* release();
        return next.value;
      }
      total += next.value.length;
      if (total > maxBytes) {
        throw new UpstreamError(`MiniMax stream audio is larger than the ${maxBytes}-byte limit`, {
          provider: "minimax",
          traceId,
        });
      }
      if (checked) {
        yield next.value;
        continue;
      }
      head.push(next.value);
      headBytes += next.value.length;
      if (headBytes >= STREAM_SNIFF_BYTES) yield* release();
    }
  } finally {
    await source.return?.(undefined as never);
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
