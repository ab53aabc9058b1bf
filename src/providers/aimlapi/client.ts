import { Agent, type Dispatcher } from "undici";
import { checkAudioBytes } from "../../audio/sniff.ts";
import { DEFAULT_DOWNLOAD_HOSTS } from "../../config.ts";
import { ProviderBusyError, UpstreamError } from "../../speech/errors.ts";
import type { CallOptions } from "../../speech/types.ts";
import { acquireBefore, type CallDeadline, startDeadline } from "../http/deadline.ts";
import { collectBounded, header, readErrorText } from "../http/http-body.ts";
import { RateLimiter } from "../http/rate-limiter.ts";
import { abortableSleep, isRetryableError, withRetry } from "../http/retry.ts";
import { type LookupAll, SafeDownloader } from "../http/safe-download.ts";
import {
  errorFromAimlDownload,
  errorFromAimlNetwork,
  errorFromAimlResponse,
  parseAimlErrorBody,
} from "./errors.ts";
import { type AimlTtsBody, AimlTtsJsonSchema } from "./schemas.ts";

/** A pino-compatible subset. The API key and signed audio URLs are never passed to it. */
export interface AimlLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface AimlTimeouts {
  /** TCP/TLS connect. Default 10 s. */
  connectMs?: number;
  /** Until response headers; the gateway answers only when the whole clip is generated. Default 120 s. */
  headersMs?: number;
  /** Longest silence between body chunks. Default 60 s. */
  bodyMs?: number;
  /** Idle keep-alive sockets are closed after this. Default 10 s. */
  keepAliveMs?: number;
}

export interface AimlApiClientOptions {
  apiKey: string;
  /** Default `https://api.aimlapi.com`. A base ending in `/v1` (as in the gateway's OpenAI examples) works too. */
  baseUrl?: string;
  /** Requests started per rolling minute. Default 60. */
  requestsPerMinute?: number;
  /** A limiter shared with other clients of the same account; replaces `requestsPerMinute`. */
  rateLimiter?: RateLimiter;
  /** Extra attempts after a retryable failure. Default 3. */
  retries?: number;
  /** Backoff scale in ms. Default 1000. */
  retryBaseMs?: number;
  /** Longest single backoff in ms. Default 30 000. */
  retryMaxMs?: number;
  timeouts?: AimlTimeouts;
  /** Sockets per origin. Default 64: concurrent /speak requests must not queue behind a few sockets. */
  connections?: number;
  /** Largest audio accepted, inline or downloaded; the transfer is aborted past it. Default 50 MiB. */
  maxDownloadBytes?: number;
  /** Largest JSON answer (its audio may be inline hex). Default 32 MiB. */
  maxJsonBytes?: number;
  /**
   * Where the audio URLs the gateway returns may point. Default: DEFAULT_DOWNLOAD_HOSTS, https only,
   * public addresses only. The API base host is always allowed by name.
   */
  downloads?: { allowedHosts?: readonly string[]; allowLoopback?: boolean; lookup?: LookupAll };
  /** Overall deadline of one `tts` call (request, retries, backoff, download). Default 120 s. */
  deadlineMs?: number;
  logger?: AimlLogger;
}

export interface AimlTtsAnswer {
  audio: Buffer;
  /** How the audio arrived: inline in the response, or from the URL the JSON answer pointed to. */
  delivery: "inline" | "url";
  /** `requestId` the gateway reported (response header), for support requests. */
  requestId: string | undefined;
  creditsUsed: number | undefined;
  usdSpent: number | undefined;
}

export interface AimlApiClient {
  tts(body: AimlTtsBody, opts?: CallOptions): Promise<AimlTtsAnswer>;
  close(): Promise<void>;
}

export const AIML_DEFAULTS = {
  baseUrl: "https://api.aimlapi.com",
  requestsPerMinute: 60,
  retries: 3,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
  connections: 64,
  maxDownloadBytes: 50 * 1024 * 1024,
  maxJsonBytes: 32 * 1024 * 1024,
  /** As long as one attempt may wait for its headers: the gateway answers when the clip is done. */
  deadlineMs: 120_000,
  timeouts: { connectMs: 10_000, headersMs: 120_000, bodyMs: 60_000, keepAliveMs: 10_000 },
} as const;

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

export function createAimlApiClient(opts: AimlApiClientOptions): AimlApiClient {
  if (!opts.apiKey) throw new TypeError("AI/ML API key is empty");
  const endpoint = ttsUrl(opts.baseUrl ?? AIML_DEFAULTS.baseUrl);
  const maxBytes = opts.maxDownloadBytes ?? AIML_DEFAULTS.maxDownloadBytes;
  const maxJsonBytes = opts.maxJsonBytes ?? AIML_DEFAULTS.maxJsonBytes;
  const deadlineMs = opts.deadlineMs ?? AIML_DEFAULTS.deadlineMs;
  const retry = {
    retries: opts.retries ?? AIML_DEFAULTS.retries,
    baseMs: opts.retryBaseMs ?? AIML_DEFAULTS.retryBaseMs,
    maxMs: opts.retryMaxMs ?? AIML_DEFAULTS.retryMaxMs,
  };
  const log = opts.logger;
  const timeouts = { ...AIML_DEFAULTS.timeouts, ...opts.timeouts };
  const connections = opts.connections ?? AIML_DEFAULTS.connections;
  // The API route never redirects; the signed CDN links may, and the downloader follows them by
  // hand, checking every hop and every address against the download policy.
  const agent = new Agent({
    connections,
    connectTimeout: timeouts.connectMs,
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: timeouts.keepAliveMs,
  });
  const downloader = new SafeDownloader({
    policy: {
      allowedHosts: opts.downloads?.allowedHosts ?? DEFAULT_DOWNLOAD_HOSTS,
      allowLoopback: opts.downloads?.allowLoopback ?? false,
    },
    extraHosts: [endpoint.hostname],
    provider: "aimlapi",
    label: "AI/ML API",
    connections,
    timeouts,
    lookup: opts.downloads?.lookup,
    logger: log,
  });
  const limiter =
    opts.rateLimiter ??
    new RateLimiter({ limit: opts.requestsPerMinute ?? AIML_DEFAULTS.requestsPerMinute, intervalMs: 60_000 });

  async function send(
    url: URL,
    init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
    signal: AbortSignal | undefined,
  ): Promise<Dispatcher.ResponseData> {
    const started = performance.now();
    try {
      const res = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers: init.headers,
        body: init.body ?? null,
        signal: signal ?? null,
      });
      log?.debug(
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
      log?.debug({ method: init.method, path: url.pathname, err: String(err) }, "aimlapi http failed");
      throw convert(err, signal);
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

  async function postOnce(body: string, dl: CallDeadline): Promise<Answer> {
    const { signal } = dl;
    await acquireBefore(limiter, dl, { provider: "aimlapi", label: "AI/ML API" });
    const res = await send(
      endpoint,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${opts.apiKey}`,
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
      const audio = await collect(res, signal, maxBytes, "audio");
      return { audio: { kind: "bytes", audio }, requestId, creditsUsed: undefined, usdSpent: undefined };
    }
    if (type === "application/json" || type.endsWith("+json")) {
      const text = (await collect(res, signal, maxJsonBytes, "answer")).toString("utf8");
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

  async function downloadOnce(url: URL, signal: AbortSignal | undefined): Promise<Buffer> {
    // No Authorization: the link is pre-signed, and the key must not reach a CDN host.
    let res: Dispatcher.ResponseData;
    try {
      ({ res } = await downloader.open(url, { signal }));
    } catch (err) {
      throw convert(err, signal);
    }
    if (res.statusCode !== 200) throw errorFromAimlDownload(res.statusCode, await readErrorText(res, signal));
    return collect(res, signal, maxBytes, "audio");
  }

  function retrying<T>(what: string, dl: CallDeadline, fn: () => Promise<T>): Promise<T> {
    let last: unknown;
    return withRetry(fn, {
      ...retry,
      signal: dl.signal,
      // The limiter's refusal means "not before the deadline": trying again sooner cannot help.
      isRetryable: (err) => !(err instanceof ProviderBusyError) && isRetryableError(err),
      onRetry: (info) => {
        last = info.error;
        log?.warn(
          {
            attempt: info.attempt,
            delayMs: info.delayMs,
            err: info.error instanceof Error ? info.error.message : info.error,
          },
          `aimlapi ${what} failed, retrying`,
        );
      },
      // A backoff that would end past the deadline is not waited out: the last failure says more.
      sleep: async (ms, signal) => {
        if (ms >= dl.remaining()) throw last;
        await abortableSleep(ms, signal);
      },
    });
  }

  return {
    async tts(body, callOpts = {}) {
      const dl = startDeadline(deadlineMs, callOpts, { provider: "aimlapi", label: "AI/ML API", op: "tts" });
      try {
        dl.signal.throwIfAborted();
        const json = JSON.stringify(body);
        const answer = await retrying("tts", dl, () => postOnce(json, dl));
        // A failed download is retried on its own: posting again would pay for the clip twice.
        const audio =
          answer.audio.kind === "bytes"
            ? answer.audio.audio
            : await retrying("download", dl, () =>
                downloadOnce((answer.audio as { url: URL }).url, dl.signal),
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
    },
    async close() {
      await Promise.all([agent.close(), downloader.close()]);
    },
  };
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
