import { Agent, type Dispatcher } from "undici";
import { checkAudioBytes } from "../../audio/sniff.ts";
import { DEFAULT_DOWNLOAD_HOSTS } from "../../config.ts";
import { UpstreamError } from "../../speech/errors.ts";
import type { CallOptions } from "../../speech/types.ts";
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
import { type AgentTimeouts, collectBounded, header, readErrorText } from "../http/http-body.ts";
import type { Limiter } from "../http/rate-limiter.ts";
import { SafeDownloader } from "../http/safe-download.ts";
import {
  errorFromAimlDownload,
  errorFromAimlNetwork,
  errorFromAimlResponse,
  parseAimlErrorBody,
} from "./errors.ts";
import { type AimlTtsBody, AimlTtsJsonSchema } from "./schemas.ts";

const MiB = 1024 * 1024;

/** Largest body read per kind of answer. */
export interface AimlBodyLimits {
  /** The JSON answer (its audio may be inline hex). */
  syncJson: number;
  /** One clip: the body of a binary answer, or the file its URL points to. */
  audioDownload: number;
}

/** Overall deadline per public call, retries, backoff and the audio download included. */
export interface AimlDeadlines {
  /**
   * One `tts` call: as long as one attempt may wait for its headers, since the gateway answers only
   * when the clip is done.
   */
  synthesizeMs: number;
}

/** The gateway has one budget: synthesis requests per minute. */
export type AimlLimiter = "synthesis";

export type AimlApiClientOptions = ProviderClientOptions<AimlLimiter, AimlBodyLimits, AimlDeadlines>;

export const AIML_DEFAULTS = {
  /** A base ending in `/v1` (as in the gateway's OpenAI examples) works too. */
  baseUrl: "https://api.aimlapi.com",
  synthesisRpm: 60,
  retry: { retries: 3, baseMs: 1000, maxMs: 30_000 },
  timeouts: { connectMs: 10_000, headersMs: 120_000, bodyMs: 60_000, keepAliveMs: 10_000 },
  connections: 64,
  bodyLimits: { syncJson: 32 * MiB, audioDownload: 50 * MiB },
  deadlines: { synthesizeMs: 120_000 },
} as const satisfies ProviderClientDefaults<AimlBodyLimits, AimlDeadlines>;

export interface AimlTtsAnswer {
  audio: Buffer;
  /** How the audio arrived: inline in the response, or from the URL the JSON answer pointed to. */
  delivery: "inline" | "url";
  /** `requestId` the gateway reported (response header), for support requests. */
  requestId: string | undefined;
  creditsUsed: number | undefined;
  usdSpent: number | undefined;
}

export function ttsUrl(baseUrl: string): URL {
  const url = new URL(baseUrl);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`AI/ML API base URL must be http(s), got ${url.protocol}`);
  }
  const path = url.pathname.replace(/\/+$/, "");
  url.pathname = path.endsWith("/v1") ? `${path}/tts` : `${path}/v1/tts`;
  url.search = "";
  return url;
}

/** Media type without parameters, lower case. */
function mediaType(headers: Dispatcher.ResponseData["headers"]): string {
  return (header(headers, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
}

/** An abort is the caller's decision and stays as it is; everything else becomes a TtsError. */
function convert(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  return errorFromAimlNetwork(err);
}

type Audio = { kind: "bytes"; audio: Buffer } | { kind: "url"; url: URL };
interface Answer {
  audio: Audio;
  requestId: string | undefined;
  creditsUsed: number | undefined;
  usdSpent: number | undefined;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** The JSON answer's `audio`: a URL (as documented) or, from the older hex-default schema, hex bytes. */
function audioFromJsonField(value: string | { url: string }, requestId: string | undefined): Audio {
  const raw = typeof value === "string" ? value : value.url;
  if (/^https?:\/\//i.test(raw)) {
    try {
      return { kind: "url", url: new URL(raw) };
    } catch {
      // No cause: URL's TypeError carries the input (signature included) into any log of it.
      throw new UpstreamError("AI/ML API returned an audio URL that does not parse", {
        provider: "aimlapi",
        traceId: requestId,
      });
    }
  }
  if (typeof value === "string" && HEX.test(value))
    return { kind: "bytes", audio: Buffer.from(value, "hex") };
  throw new UpstreamError("AI/ML API returned an audio field that is neither a URL nor hex", {
    provider: "aimlapi",
    traceId: requestId,
  });
}

/**
 * The AI/ML API gateway's `/v1/tts` route for the MiniMax models: one synthesis per call, rate
 * limited, retried when the failure is retryable, and the audio checked to be of the requested format.
 */
export class AimlApiClient {
  readonly #apiKey: string;
  readonly #endpoint: URL;
  readonly #agent: Agent;
  readonly #downloader: SafeDownloader;
  readonly #synthesis: Limiter;
  readonly #retry: ResolvedRetry;
  readonly #limits: AimlBodyLimits;
  readonly #deadlines: AimlDeadlines;
  readonly #log: ClientLogger | undefined;

  constructor(opts: AimlApiClientOptions) {
    if (!opts.apiKey) throw new TypeError("AI/ML API key is empty");
    const d = AIML_DEFAULTS;
    this.#apiKey = opts.apiKey;
    this.#endpoint = ttsUrl(opts.baseUrl ?? d.baseUrl);
    this.#retry = withDefaults<ResolvedRetry>(d.retry, opts.retry);
    this.#limits = withDefaults<AimlBodyLimits>(d.bodyLimits, opts.bodyLimits);
    this.#deadlines = withDefaults<AimlDeadlines>(d.deadlines, opts.deadlines);
    this.#log = opts.logger;
    const timeouts = withDefaults<AgentTimeouts>(d.timeouts, opts.timeouts);
    const connections = opts.connections ?? d.connections;
    // The API route never redirects; the signed CDN links may, and the downloader follows them by
    // hand, checking every hop and every address against the download policy.
    this.#agent = new Agent({
      connections,
      connectTimeout: timeouts.connectMs,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
      keepAliveTimeout: timeouts.keepAliveMs,
    });
    this.#downloader = new SafeDownloader({
      policy: {
        allowedHosts: opts.downloads?.allowedHosts ?? DEFAULT_DOWNLOAD_HOSTS,
        allowLoopback: opts.downloads?.allowLoopback ?? false,
      },
      extraHosts: [this.#endpoint.hostname],
      provider: "aimlapi",
      label: "AI/ML API",
      connections,
      timeouts,
      lookup: opts.downloads?.lookup,
      logger: opts.logger,
    });
    this.#synthesis = limiterFor(opts.limiters, "synthesis", opts.synthesisRpm ?? d.synthesisRpm, 60_000);
  }

  async tts(body: AimlTtsBody, opts: CallOptions = {}): Promise<AimlTtsAnswer> {
    const dl = startDeadline(this.#deadlines.synthesizeMs, opts, {
      provider: "aimlapi",
      label: "AI/ML API",
      op: "tts",
    });
    try {
      dl.signal.throwIfAborted();
      const json = JSON.stringify(body);
      const answer = await this.#retrying("tts", dl, () => this.#postOnce(json, dl, opts.onQueued));
      // A failed download is retried on its own: posting again would pay for the clip twice.
      const audio =
        answer.audio.kind === "bytes"
          ? answer.audio.audio
          : await this.#retrying("download", dl, () =>
              this.#downloadOnce((answer.audio as { url: URL }).url, dl.signal),
            );
      if (audio.length === 0) {
        throw new UpstreamError("AI/ML API returned empty audio", {
          provider: "aimlapi",
          traceId: answer.requestId,
        });
      }
      // Checked before anything wraps it (pcm becomes WAV) or posts it.
      const format = body.audio_setting.format ?? "mp3";
      const sniffed = checkAudioBytes(audio, format);
      if (!sniffed.ok) {
        throw new UpstreamError(`AI/ML API returned ${sniffed.kind} where ${format} audio was expected`, {
          provider: "aimlapi",
          traceId: answer.requestId,
        });
      }
      return {
        audio,
        delivery: answer.audio.kind === "bytes" ? "inline" : "url",
        requestId: answer.requestId,
        creditsUsed: answer.creditsUsed,
        usdSpent: answer.usdSpent,
      };
    } catch (err) {
      throw dl.outcome(err);
    } finally {
      dl.dispose();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#downloader.close()]);
  }

  async #send(
    url: URL,
    init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const started = performance.now();
    try {
      const res = await this.#agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers: init.headers,
        body: init.body ?? null,
        signal: signal ?? null,
      });
      this.#log?.debug(
        {
          method: init.method,
          path: url.pathname,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        "aimlapi http",
      );
      return res;
    } catch (err) {
      this.#log?.debug({ method: init.method, path: url.pathname, err: String(err) }, "aimlapi http failed");
      throw convert(err, signal);
    }
  }

  async #postOnce(body: string, dl: CallDeadline, onQueued: CallOptions["onQueued"]): Promise<Answer> {
    const { signal } = dl;
    // `onQueued` hears when the call has to wait in line for the rate limit.
    const limiter = onQueued ? this.#synthesis.reporting(onQueued) : this.#synthesis;
    await acquireBefore(limiter, dl, { provider: "aimlapi", label: "AI/ML API" });
    const res = await this.#send(
      this.#endpoint,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          "content-type": "application/json",
          accept: "application/json, audio/*, application/octet-stream",
        },
        body,
      },
      signal,
    );
    const requestId = header(res.headers, "x-request-id");
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw errorFromAimlResponse(res.statusCode, await readErrorText(res, signal), requestId);
    }
    const type = mediaType(res.headers);
    if (type.startsWith("audio/") || type === "application/octet-stream") {
      const audio = await collect(res, signal, this.#limits.audioDownload, "audio");
      return { audio: { kind: "bytes", audio }, requestId, creditsUsed: undefined, usdSpent: undefined };
    }
    if (type === "application/json" || type.endsWith("+json")) {
      const text = (await collect(res, signal, this.#limits.syncJson, "answer")).toString("utf8");
      return parseJsonAnswer(text, res.statusCode, requestId);
    }
    const sample = (await readErrorText(res, signal)).trim().slice(0, 200);
    throw new UpstreamError(`AI/ML API answered an unexpected content type "${type || "none"}"`, {
      provider: "aimlapi",
      httpStatus: res.statusCode,
      statusMsg: sample || undefined,
      traceId: requestId,
    });
  }

  async #downloadOnce(url: URL, signal: AbortSignal | undefined): Promise<Buffer> {
    // No Authorization: the link is pre-signed, and the key must not reach a CDN host.
    let res: Dispatcher.ResponseData;
    try {
      ({ res } = await this.#downloader.open(url, { signal }));
    } catch (err) {
      throw convert(err, signal);
    }
    if (res.statusCode !== 200) throw errorFromAimlDownload(res.statusCode, await readErrorText(res, signal));
    return collect(res, signal, this.#limits.audioDownload, "audio");
  }

  #retrying<T>(what: string, dl: CallDeadline, fn: () => Promise<T>): Promise<T> {
    return retryWithinDeadline(fn, {
      retry: this.#retry,
      deadline: dl,
      onRetry: (info) => {
        this.#log?.warn(
          {
            attempt: info.attempt,
            delayMs: info.delayMs,
            err: info.error instanceof Error ? info.error.message : info.error,
          },
          `aimlapi ${what} failed, retrying`,
        );
      },
    });
  }
}

/** The whole body, refusing (and aborting the transfer) past `limit`. */
function collect(
  res: Dispatcher.ResponseData,
  signal: AbortSignal | undefined,
  limit: number,
  what: string,
): Promise<Buffer> {
  return collectBounded(res, {
    maxBytes: limit,
    tooLarge: () =>
      new UpstreamError(`AI/ML API ${what} is larger than the ${limit}-byte limit`, {
        provider: "aimlapi",
      }),
    convert: (err) => convert(err, signal),
  });
}

/** A 2xx JSON answer: audio (URL or hex) and usage, or an error body some proxies send with 200. */
function parseJsonAnswer(text: string, status: number, requestId: string | undefined): Answer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new UpstreamError("AI/ML API answered JSON that does not parse", {
      provider: "aimlapi",
      httpStatus: status,
      statusMsg: text.slice(0, 200),
      traceId: requestId,
      cause,
    });
  }
  const parsed = AimlTtsJsonSchema.safeParse(json);
  if (!parsed.success) {
    const info = parseAimlErrorBody(text);
    if (info.statusCode !== undefined && info.statusCode >= 400) {
      throw errorFromAimlResponse(info.statusCode, text, requestId);
    }
    throw new UpstreamError("AI/ML API answered JSON without audio", {
      provider: "aimlapi",
      httpStatus: status,
      statusMsg: info.message ?? text.slice(0, 200),
      traceId: info.requestId ?? requestId,
    });
  }
  const usage = parsed.data.meta?.usage;
  return {
    audio: audioFromJsonField(parsed.data.audio, requestId),
    requestId,
    creditsUsed: usage?.credits_used,
    usdSpent: usage?.usd_spent,
  };
}
