import type { Dispatcher } from "undici";
import { collectBounded, createAgents, discard, header } from "../providers/http/http-body.ts";
import { formatBytes } from "../text/text-file.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * Fetching a file a user attached (a Discord attachment URL) into memory, never more than a limit:
 * a declared size over it is refused before reading, a body that streams past it is cut off.
 */

export type DownloadFailure = "invalid-url" | "too-large" | "http" | "timeout" | "unreachable";

/** A failed download, with a message written for the person who attached the file. */
export class DownloadError extends UserFacingError {
  readonly kind: DownloadFailure;
  readonly status: number | undefined;

  constructor(kind: DownloadFailure, message: string, opts: { status?: number; cause?: unknown } = {}) {
    super(message);
    this.name = "DownloadError";
    this.kind = kind;
    this.status = opts.status;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }
}

export interface DownloadOptions {
  maxBytes: number;
  /** For the whole download, headers and body. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Defaults to a shared pool that follows redirects. */
  dispatcher?: Dispatcher;
}

let sharedDispatcher: Dispatcher | undefined;

/** Created on first use, so importing this module opens nothing. */
function defaultDispatcher(): Dispatcher {
  sharedDispatcher ??= createAgents({
    connections: 8,
    // The overall timeout is the real bound; these only catch a stalled socket sooner.
    timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000, keepAliveMs: 10_000 },
  }).downloader;
  return sharedDispatcher;
}

/**
 * The body of a GET to `url`, at most `maxBytes`. Throws a DownloadError, or the reason of `signal`
 * when the caller aborted.
 */
export async function downloadBounded(url: string, opts: DownloadOptions): Promise<Buffer> {
  const { maxBytes, timeoutMs = 15_000, signal } = opts;
  const target = parseUrl(url);
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await (opts.dispatcher ?? defaultDispatcher()).request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method: "GET",
      signal: combined,
    });
    if (res.statusCode < 200 || res.statusCode >= 300) {
      // The error body (Discord's CDN sends XML) says nothing a user could act on.
      discard(res);
      throw new DownloadError(
        "http",
        `The file could not be downloaded (HTTP ${res.statusCode}). If the link expired, attach the file again.`,
        { status: res.statusCode },
      );
    }
    const declared = Number(header(res.headers, "content-length") ?? Number.NaN);
    return await collectBounded(res, {
      maxBytes,
      tooLarge: () => tooLarge(declared > maxBytes ? declared : undefined, maxBytes),
      convert: (err) => err,
    });
  } catch (err) {
    if (err instanceof DownloadError) throw err;
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new DownloadError("timeout", `The download took longer than ${timeoutMs / 1000} s; try again.`, {
        cause: err,
      });
    }
    throw new DownloadError("unreachable", "The file could not be downloaded: its server did not answer.", {
      cause: err,
    });
  }
}

function parseUrl(url: string): URL {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    // Refused below with the same message.
  }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    throw new DownloadError("invalid-url", "The file link is not a valid http(s) URL.");
  }
  return parsed;
}

function tooLarge(size: number | undefined, limit: number): DownloadError {
  const message =
    size === undefined
      ? `The file is larger than the ${formatBytes(limit)} limit.`
      : `The file is ${formatBytes(size)}; the limit is ${formatBytes(limit)}.`;
  return new DownloadError("too-large", message);
}
