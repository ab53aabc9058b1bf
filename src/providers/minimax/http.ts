import { Agent, type Dispatcher, type FormData } from "undici";
import type { z } from "zod";
import { UpstreamError } from "../../speech/errors.ts";
import type { ClientLogger } from "../http/client-options.ts";
import {
  type AgentTimeouts,
  type BoundedReadOptions,
  collectBounded,
  header,
  readBounded,
  readErrorText,
} from "../http/http-body.ts";
import { type DownloadPolicy, type LookupAll, SafeDownloader } from "../http/safe-download.ts";
import { errorFromBaseResp, errorFromDownload, errorFromHttp, errorFromNetwork } from "./errors.ts";
import { EnvelopeSchema, parseMiniMaxJson } from "./schemas.ts";

/**
 * The undici layer under MiniMaxClient: one keep-alive Agent for the API (bearer auth), a separate
 * SafeDownloader for the signed links MiniMax hands out (no auth, allowlist and address checks on
 * every hop, see http/safe-download.ts), a size bound on every body chosen per route by the caller,
 * and the three-step answer check every JSON route needs (HTTP status, then shape, then
 * `base_resp.status_code === 0`, since MiniMax reports business errors inside HTTP 200).
 */

export interface MiniMaxHttpOptions {
  apiKey: string;
  baseUrl: string;
  /** Legacy; appended as `?GroupId=` only when non-empty (an empty one earns a misleading 1008). */
  groupId?: string;
  /** Sockets per origin. */
  connections: number;
  timeouts: AgentTimeouts;
  /** Where signed download links may point. The API base host is always allowed by name. */
  downloads: DownloadPolicy & { lookup?: LookupAll };
  logger?: ClientLogger;
}

/** Per call: the caller's signal and the route's body bound. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Largest body accepted; the transfer is aborted past it. */
  maxBytes: number;
  /** The error for a body over `maxBytes`. Default: an UpstreamError naming the limit. */
  tooLarge?: (maxBytes: number) => Error;
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
  /** Signed links: a pool of its own, with the download policy enforced at connect time. */
  readonly #downloads: SafeDownloader;
  readonly #apiKey: string;
  readonly #baseUrl: string;
  readonly #groupId: string | undefined;
  readonly #log: ClientLogger | undefined;

  constructor(opts: MiniMaxHttpOptions) {
    const base = new URL(opts.baseUrl);
    if (base.protocol !== "https:" && base.protocol !== "http:") {
      throw new TypeError(`MiniMax base URL must be http(s), got ${base.protocol}`);
    }
    if (!opts.apiKey) throw new TypeError("MiniMax API key is empty");
    const { timeouts } = opts;
    // No redirect interceptor: API routes never redirect, and downloads follow theirs by hand.
    this.#agent = new Agent({
      connections: opts.connections,
      connectTimeout: timeouts.connectMs,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
      keepAliveTimeout: timeouts.keepAliveMs,
    });
    this.#downloads = new SafeDownloader({
      policy: opts.downloads,
      extraHosts: [base.hostname],
      provider: "minimax",
      label: "MiniMax",
      connections: opts.connections,
      timeouts,
      lookup: opts.downloads.lookup,
      logger: opts.logger,
    });
    this.#apiKey = opts.apiKey;
    this.#baseUrl = opts.baseUrl;
    this.#groupId = opts.groupId;
    this.#log = opts.logger;
  }

  url(path: string, query?: Query): URL {
    return buildApiUrl(this.#baseUrl, path, query, this.#groupId);
  }

  postJson<S extends z.ZodType>(
    path: string,
    body: unknown,
    schema: S,
    opts: RequestOptions,
  ): Promise<JsonResult<z.output<S>>> {
    const init = { method: "POST", body: JSON.stringify(body), contentType: "application/json" } as const;
    return this.#json(this.url(path), init, schema, opts);
  }

  getJson<S extends z.ZodType>(
    path: string,
    query: Query,
    schema: S,
    opts: RequestOptions,
  ): Promise<JsonResult<z.output<S>>> {
    return this.#json(this.url(path, query), { method: "GET" }, schema, opts);
  }

  /** Multipart POST; undici sets the multipart content type with its boundary. */
  postForm<S extends z.ZodType>(
    path: string,
    form: FormData,
    schema: S,
    opts: RequestOptions,
  ): Promise<JsonResult<z.output<S>>> {
    return this.#json(this.url(path), { method: "POST", body: form }, schema, opts);
  }

  /** POST a JSON body and hand back the open response (used for SSE). */
  async openPost(path: string, body: unknown, accept: string, opts: RequestOptions): Promise<OpenResponse> {
    const init = {
      method: "POST",
      body: JSON.stringify(body),
      contentType: "application/json",
      accept,
    } as const;
    const { res, traceId } = await this.#open(this.url(path), init, opts.signal);
    return this.#opened(res, traceId, opts);
  }

  /** GET an authenticated API route that answers raw bytes, and hand back the open response. */
  async openGet(path: string, query: Query, opts: RequestOptions): Promise<OpenResponse> {
    const { res, traceId } = await this.#open(this.url(path, query), { method: "GET" }, opts.signal);
    return this.#opened(res, traceId, opts);
  }

  /** GET an authenticated API route that answers raw bytes (`/v1/files/retrieve_content`). */
  async getBytes(
    path: string,
    query: Query,
    opts: RequestOptions,
  ): Promise<{ bytes: Buffer; contentType: string; traceId: string | undefined }> {
    const { res, traceId } = await this.#open(this.url(path, query), { method: "GET" }, opts.signal);
    const bytes = await collectBounded(res, this.#limits(opts));
    return { bytes, contentType: header(res.headers, "content-type") ?? "", traceId };
  }

  /**
   * GET a pre-signed URL (object storage, or the fake) and hand back the open response. It needs no
   * auth, so the API key is never sent to a host other than the API's; the URL, every redirect hop
   * and every address it resolves to are checked against the download policy (a refusal is an
   * UntrustedDownloadError, and the refused host gets no request).
   */
  async openDownload(rawUrl: string, opts: RequestOptions): Promise<OpenResponse> {
    const { signal } = opts;
    let opened: Awaited<ReturnType<SafeDownloader["open"]>>;
    try {
      opened = await this.#downloads.open(rawUrl, { signal });
    } catch (err) {
      throw convert(err, signal);
    }
    const { res } = opened;
    if (res.statusCode !== 200) {
      throw errorFromDownload(res.statusCode, await readErrorText(res, signal));
    }
    return this.#opened(res, undefined, opts);
  }

  /** The whole body of a pre-signed URL (see openDownload), at most `opts.maxBytes`. */
  async download(rawUrl: string, opts: RequestOptions): Promise<Buffer> {
    const { body } = await this.openDownload(rawUrl, opts);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#downloads.close()]);
  }

  async #json<S extends z.ZodType>(
    url: URL,
    init: RequestInit,
    schema: S,
    opts: RequestOptions,
  ): Promise<JsonResult<z.output<S>>> {
    const { res, traceId } = await this.#open(url, init, opts.signal);
    const text = (await collectBounded(res, this.#limits(opts))).toString("utf8");
    return parseAnswer(text, schema, url.pathname, traceId);
  }

  /** Sends an API request; anything but HTTP 200 becomes the matching TtsError. */
  async #open(
    url: URL,
    init: RequestInit,
    signal: AbortSignal | undefined,
  ): Promise<{ res: Dispatcher.ResponseData; traceId: string | undefined }> {
    const headers: Record<string, string> = {
      accept: init.accept ?? "application/json",
      authorization: `Bearer ${this.#apiKey}`,
    };
    if (init.contentType) headers["content-type"] = init.contentType;
    const started = performance.now();
    // Log the route only: the query may hold the GroupId.
    const where = url.pathname;
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#agent.request({
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
      throw errorFromHttp(res.statusCode, text, traceId);
    }
    return { res, traceId };
  }

  #opened(res: Dispatcher.ResponseData, traceId: string | undefined, opts: RequestOptions): OpenResponse {
    return {
      contentType: header(res.headers, "content-type") ?? "",
      traceId,
      body: readBounded(res, this.#limits(opts)),
    };
  }

  #limits(opts: RequestOptions): BoundedReadOptions {
    const { maxBytes, signal } = opts;
    return {
      maxBytes,
      tooLarge: () => (opts.tooLarge ?? tooLarge)(maxBytes),
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
