import { Agent, type Dispatcher, interceptors } from "undici";

/**
 * Provider-neutral undici plumbing shared by the MiniMax and AI/ML API clients: header lookup,
 * bounded body reading, error-body sampling, and a keep-alive Agent with a redirect-following twin
 * (used for Discord attachment downloads). Links a provider returns are fetched through
 * SafeDownloader (safe-download.ts) instead, which follows redirects by hand and checks every hop.
 */

type Headers = Dispatcher.ResponseData["headers"];
type Body = Dispatcher.ResponseData["body"];
/** What the readers need of a response. */
export type ResponseLike = Pick<Dispatcher.ResponseData<unknown>, "headers" | "body">;

/** Error bodies are only for the message: read this much at most by default. */
export const ERROR_BODY_BYTES = 64 * 1024;

/** The first value of a response header (undici lower-cases the names). */
export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Stops an unfinished body. undici's body emits an "aborted" error when destroyed before its end,
 * which would surface as an unhandled error when nobody is reading it any more, so it is swallowed.
 */
export function discard(target: ResponseLike | Body): void {
  // A response has headers; its body (a Readable) does not. Its `body` getter must not be touched.
  const body = "headers" in target ? target.body : target;
  if (body.readableEnded || body.destroyed) return;
  body.on("error", () => {});
  body.destroy();
}

export interface BoundedReadOptions {
  /** Largest body accepted; the transfer is aborted past it. */
  maxBytes: number;
  /** The error thrown when the body is (or says it is) larger than `maxBytes`. */
  tooLarge: () => Error;
  /** Maps an error thrown while reading (including `tooLarge()`) to what is thrown instead. */
  convert: (err: unknown) => unknown;
}

/**
 * The body's chunks, refusing a declared `content-length` over `maxBytes` before reading and
 * aborting once the streamed bytes pass it. The transfer is stopped however the reader finishes.
 */
export async function* readBounded(res: ResponseLike, opts: BoundedReadOptions): AsyncGenerator<Buffer> {
  const declared = Number(header(res.headers, "content-length") ?? Number.NaN);
  if (declared > opts.maxBytes) {
    discard(res);
    throw opts.tooLarge();
  }
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > opts.maxBytes) throw opts.tooLarge();
      yield chunk;
    }
  } catch (err) {
    throw opts.convert(err);
  } finally {
    // Stops the transfer when the reader gives up early (a limit, an error, or `break`).
    discard(res);
  }
}

/** The whole body, bounded as in `readBounded`. */
export async function collectBounded(res: ResponseLike, opts: BoundedReadOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of readBounded(res, opts)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The start of an error body (at most `maxBytes`), for the message; the rest is discarded. A broken
 * body yields what arrived, unless `signal` was aborted: then its reason is thrown.
 */
export async function readErrorText(
  res: ResponseLike,
  signal: AbortSignal | undefined,
  maxBytes: number = ERROR_BODY_BYTES,
): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= maxBytes) break;
    }
  } catch {
    if (signal?.aborted) throw signal.reason;
    // A broken error body still leaves the status to report.
  } finally {
    discard(res);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}

export interface AgentTimeouts {
  /** TCP/TLS connect. */
  connectMs: number;
  /** Until response headers. */
  headersMs: number;
  /** Longest silence between body chunks. */
  bodyMs: number;
  /** Idle keep-alive sockets are closed after this. */
  keepAliveMs: number;
}

export interface AgentOptions {
  /** Sockets per origin. */
  connections: number;
  timeouts: AgentTimeouts;
  /** Redirects the downloader follows. Default 3. */
  maxRedirections?: number;
}

/**
 * One keep-alive Agent, plus the same pool following redirects: the latter only for Discord
 * attachment downloads, never for API routes, and never for URLs a provider returned (those go
 * through SafeDownloader, whose every hop is checked against the download policy).
 */
export function createAgents({ connections, timeouts: t, maxRedirections = 3 }: AgentOptions): {
  agent: Agent;
  downloader: Dispatcher;
} {
  const agent = new Agent({
    connections,
    connectTimeout: t.connectMs,
    headersTimeout: t.headersMs,
    bodyTimeout: t.bodyMs,
    keepAliveTimeout: t.keepAliveMs,
  });
  const downloader = agent.compose(interceptors.redirect({ maxRedirections }));
  return { agent, downloader };
}
