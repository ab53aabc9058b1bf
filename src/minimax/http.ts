import type { Agent, Dispatcher, FormData } from "undici";
import type { z } from "zod";
import { UpstreamError } from "../tts/errors.ts";
import {
  type BoundedReadOptions,
  collectBounded,
  createAgents,
  header,
  readBounded,
  readErrorText,
} from "../util/http-body.ts";
import { errorFromBaseResp, errorFromDownload, errorFromHttp, errorFromNetwork } from "./errors.ts";
import { EnvelopeSchema, parseMiniMaxJson } from "./schemas.ts";

/**
 * The undici layer under MiniMaxClient: one keep-alive Agent, bearer auth on API routes only, bounded
 * bodies, and the three-step answer check every JSON route needs (HTTP status, then shape, then
 * `base_resp.status_code === 0`, since MiniMax reports business errors inside HTTP 200).
 */

/** A pino-compatible subset. The API key and signed URLs are never passed to it. */
export interface MiniMaxLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HttpTimeouts {
  /** TCP/TLS connect. Default 10 s. */
  connectMs?: number;
  /** Until response headers; a long non-streaming synthesis answers only when done. Default 120 s. */
  headersMs?: number;
  /** Longest silence between body chunks. Default 120 s. */
  bodyMs?: number;
  /** Idle keep-alive sockets are closed after this (server hints may shorten it). Default 10 s. */
  keepAliveMs?: number;
}

export const DEFAULT_TIMEOUTS: Required<HttpTimeouts> = {
  connectMs: 10_000,
  headersMs: 120_000,
  bodyMs: 120_000,
  keepAliveMs: 10_000,
};

export interface MiniMaxHttpOptions {
  apiKey: string;
  baseUrl: string;
  /** Legacy; appended as `?GroupId=` only when non-empty (an empty one earns a misleading 1008). */
  groupId?: string;
  /** Sockets per origin. Default 64: concurrent /speak requests must not queue behind a few sockets. */
  connections?: number;
  timeouts?: HttpTimeouts;
  /** Largest body read from any answer or download. */
  maxDownloadBytes: number;
  logger?: MiniMaxLogger;
}

export interface JsonResult<T> {
  value: T;
  traceId: string | undefined;
}

export interface OpenResponse {
  contentType: string;
  traceId: string | undefined;
  /** The body; iterating it converts socket errors and enforces the size bound. */
  body: AsyncIterable<Buffer>;
}

type Query = Record<string, string>;

interface RequestInit {
  method: "GET" | "POST";
  body?: string | FormData;
  contentType?: string;
  accept?: string;
  /** A pre-signed download URL: no API key, redirects followed, object-storage error mapping. */
  signed?: boolean;
}

/** `baseUrl` + `path` (keeping any path prefix of the base) + query + `GroupId` when configured. */
export function buildApiUrl(baseUrl: string, path: string, query: Query = {}, groupId?: string): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}${path}`;
  url.search = "";
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const group = groupId?.trim();
  if (group) url.searchParams.set("GroupId", group);
  return url;
}

export class MiniMaxHttp {
  readonly #agent: Agent;
  /** The same pool, following redirects: only for pre-signed downloads, never for API routes. */
  readonly #downloader: Dispatcher;
  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #groupId: string | undefined;
  readonly #maxBytes: number;
  readonly #log: MiniMaxLogger | undefined;

  constructor(opts: MiniMaxHttpOptions) {
    const base = new URL(opts.baseUrl);
    if (base.protocol !== "https:" && base.protocol !== "http:") {
      throw new TypeError(`MiniMax base URL must be http(s), got ${base.protocol}`);
    }
    if (!opts.apiKey) throw new TypeError("MiniMax API key is empty");
    const { agent, downloader } = createAgents({
      connections: opts.connections ?? 64,
      timeouts: { ...DEFAULT_TIMEOUTS, ...opts.timeouts },
    });
    this.#agent = agent;
    this.#downloader = downloader;
    this.#apiKey = opts.apiKey;
    this.#baseUrl = opts.baseUrl;
    this.#groupId = opts.groupId;
    this.#maxBytes = opts.maxDownloadBytes;
    this.#log = opts.logger;
  }

  url(path: string, query?: Query): URL {
    return buildApiUrl(this.#baseUrl, path, query, this.#groupId);
  }

  postJson<S extends z.ZodType>(
    path: string,
    body: unknown,
    schema: S,
    signal?: AbortSignal,
  ): Promise<JsonResult<z.output<S>>> {
    const init = { method: "POST", body: JSON.stringify(body), contentType: "application/json" } as const;
    return this.#json(this.url(path), init, schema, signal);
  }

  getJson<S extends z.ZodType>(
    path: string,
    query: Query,
    schema: S,
    signal?: AbortSignal,
  ): Promise<JsonResult<z.output<S>>> {
    return this.#json(this.url(path, query), { method: "GET" }, schema, signal);
  }

  /** Multipart POST; undici sets the multipart content type with its boundary. */
  postForm<S extends z.ZodType>(
    path: string,
    form: FormData,
    schema: S,
    signal?: AbortSignal,
  ): Promise<JsonResult<z.output<S>>> {
    return this.#json(this.url(path), { method: "POST", body: form }, schema, signal);
  }

  /** POST a JSON body and hand back the open response (used for SSE). */
  async openPost(path: string, body: unknown, accept: string, signal?: AbortSignal): Promise<OpenResponse> {
    const init = {
      method: "POST",
      body: JSON.stringify(body),
      contentType: "application/json",
      accept,
    } as const;
    const { res, traceId } = await this.#open(this.url(path), init, signal);
    return {
      contentType: header(res.headers, "content-type") ?? "",
      traceId,
      body: this.#bounded(res, signal),
    };
  }

  /** GET an authenticated API route that answers raw bytes (`/v1/files/retrieve_content`). */
  async getBytes(
    path: string,
    query: Query,
    signal?: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string; traceId: string | undefined }> {
    const { res, traceId } = await this.#open(this.url(path, query), { method: "GET" }, signal);
    const bytes = await this.#collect(res, signal);
    return { bytes, contentType: header(res.headers, "content-type") ?? "", traceId };
  }

  /**
   * GET a pre-signed URL (object storage, or the fake). It needs no auth, so the API key is never sent
   * to a host other than the API's.
   */
  async download(rawUrl: string, signal?: AbortSignal): Promise<Buffer> {
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch (cause) {
      throw new UpstreamError("MiniMax returned a download URL that is not a URL", {
        provider: "minimax",
        cause,
      });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new UpstreamError(`MiniMax returned a ${url.protocol} download URL`, { provider: "minimax" });
    }
    const { res } = await this.#open(url, { method: "GET", signed: true }, signal);
    return this.#collect(res, signal);
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  async #json<S extends z.ZodType>(
    url: URL,
    init: RequestInit,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<JsonResult<z.output<S>>> {
    const { res, traceId } = await this.#open(url, init, signal);
    const text = (await this.#collect(res, signal)).toString("utf8");
    return parseAnswer(text, schema, url.pathname, traceId);
  }

  /** Sends the request; anything but HTTP 200 becomes the matching TtsError. */
  async #open(
    url: URL,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<{ res: Dispatcher.ResponseData; traceId: string | undefined }> {
    const headers: Record<string, string> = { accept: init.accept ?? "application/json" };
    if (!init.signed) headers.authorization = `Bearer ${this.#apiKey}`;
    if (init.contentType) headers["content-type"] = init.contentType;
    const started = performance.now();
    // Log the route only: the query may hold the GroupId and download URLs carry signatures.
    const where = init.signed ? `${url.host}${url.pathname}` : url.pathname;
    let res: Dispatcher.ResponseData;
    try {
      res = await (init.signed ? this.#downloader : this.#agent).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method,
        headers,
        body: init.body ?? null,
        signal: signal ?? null,
      });
    } catch (err) {
      this.#log?.debug({ method: init.method, path: where, err: String(err) }, "minimax http failed");
      throw convert(err, signal);
    }
    const traceId = header(res.headers, "trace-id");
    const ms = Math.round(performance.now() - started);
    this.#log?.debug(
      { method: init.method, path: where, status: res.statusCode, ms, traceId },
      "minimax http",
    );
    if (res.statusCode !== 200) {
      const text = await readErrorText(res, signal);
      throw init.signed
        ? errorFromDownload(res.statusCode, text)
        : errorFromHttp(res.statusCode, text, traceId);
    }
    return { res, traceId };
  }

  /** Bounded reading of an answer body, with socket errors converted. */
  #bounded(res: Dispatcher.ResponseData, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    return readBounded(res, this.#limits(signal));
  }

  #collect(res: Dispatcher.ResponseData, signal: AbortSignal | undefined): Promise<Buffer> {
    return collectBounded(res, this.#limits(signal));
  }

  #limits(signal: AbortSignal | undefined): BoundedReadOptions {
    return {
      maxBytes: this.#maxBytes,
      tooLarge: () => tooLarge(this.#maxBytes),
      convert: (err: unknown) => convert(err, signal),
    };
  }
}

function tooLarge(max: number): UpstreamError {
  return new UpstreamError(`MiniMax answer is larger than the ${max}-byte limit`, { provider: "minimax" });
}

/** An abort is the caller's own decision and stays as it is; everything else becomes a TtsError. */
function convert(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason;
  return errorFromNetwork(err);
}

/** JSON text of an HTTP 200 answer → checked value: parse, then base_resp, then the route's schema. */
export function parseAnswer<S extends z.ZodType>(
  text: string,
  schema: S,
  route: string,
  headerTrace?: string,
): JsonResult<z.output<S>> {
  let json: unknown;
  try {
    json = parseMiniMaxJson(text);
  } catch (cause) {
    throw new UpstreamError(`MiniMax ${route} answered something that is not JSON`, {
      provider: "minimax",
      statusMsg: text.slice(0, 300),
      traceId: headerTrace,
      cause,
    });
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    throw new UpstreamError(`MiniMax ${route} answered JSON without base_resp`, {
      provider: "minimax",
      statusMsg: text.slice(0, 300),
      traceId: headerTrace,
    });
  }
  const traceId = envelope.data.trace_id ?? headerTrace;
  const { status_code: code, status_msg: msg } = envelope.data.base_resp;
  if (code !== 0) throw errorFromBaseResp(code, msg, traceId);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UpstreamError(
      `MiniMax ${route} answered an unexpected shape (${issue?.path.join(".") || "body"}: ${issue?.message})`,
      { provider: "minimax", code, statusMsg: msg, traceId },
    );
  }
  return { value: parsed.data, traceId };
}
