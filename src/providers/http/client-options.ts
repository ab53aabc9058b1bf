import { ProviderBusyError } from "../../speech/errors.ts";
import type { CallDeadline } from "./deadline.ts";
import type { AgentTimeouts } from "./http-body.ts";
import { RateLimiter, type Limiter as StartLimiter } from "./rate-limiter.ts";
import { abortableSleep, isRetryableError, type RetryInfo, type RetryOptions, withRetry } from "./retry.ts";
import type { LookupAll } from "./safe-download.ts";

/**
 * The options both provider clients take (`new MiniMaxClient(…)`, `new AimlApiClient(…)`), with the
 * same names in each. What differs per provider (which limiters, which bodies, which calls) is a type
 * argument; every group is optional and merged over the client's defaults (MINIMAX_DEFAULTS,
 * AIML_DEFAULTS).
 */
export interface ProviderClientOptions<Limiter extends string, BodyLimits, Deadlines> {
  apiKey: string;
  /** The API's base URL; a path prefix is kept. Default: the provider's public API. */
  baseUrl?: string;
  /** Synthesis requests started per rolling minute. */
  synthesisRpm?: number;
  /**
   * Ready-made limiters, overriding the rates above: lets several clients sharing one key share one
   * budget.
   */
  limiters?: Partial<Record<Limiter, StartLimiter>>;
  /** Retries of retryable failures. */
  retry?: RetryPolicy;
  timeouts?: HttpTimeouts;
  /** Sockets per origin. Default 64: concurrent /speak requests must not queue behind a few sockets. */
  connections?: number;
  /** Largest body read, per kind of answer; the transfer is aborted past it. */
  bodyLimits?: Partial<BodyLimits>;
  /** Overall deadline per public call, retries, backoff and downloads included. */
  deadlines?: Partial<Deadlines>;
  /**
   * Where the links the provider returns may point. Default: DEFAULT_DOWNLOAD_HOSTS, https only,
   * public addresses only. The API base host is always allowed by name.
   */
  downloads?: DownloadOptions;
  logger?: ClientLogger;
}

/** A client's defaults: the same groups as its options, every value filled in. */
export interface ProviderClientDefaults<BodyLimits, Deadlines> {
  baseUrl: string;
  synthesisRpm: number;
  retry: Required<Pick<RetryPolicy, "retries" | "baseMs" | "maxMs">>;
  timeouts: AgentTimeouts;
  connections: number;
  bodyLimits: BodyLimits;
  deadlines: Deadlines;
}

/** Bounded exponential backoff with full jitter (see retry.ts). */
export interface RetryPolicy {
  /** Extra attempts after a retryable failure. */
  retries?: number;
  /** Backoff scale in ms: attempt n waits up to `baseMs * 2^(n-1)`. */
  baseMs?: number;
  /** Longest single backoff in ms. */
  maxMs?: number;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface HttpTimeouts {
  /** TCP/TLS connect. */
  connectMs?: number;
  /** Until response headers; a synthesis that is not streamed answers only when the clip is done. */
  headersMs?: number;
  /** Longest silence between body chunks. */
  bodyMs?: number;
  /** Idle keep-alive sockets are closed after this (server hints may shorten it). */
  keepAliveMs?: number;
}

export interface DownloadOptions {
  /** Host names or `*.domain` patterns. */
  allowedHosts?: readonly string[];
  /** Tests and local fakes only: http:// and loopback addresses allowed. Default false. */
  allowLoopback?: boolean;
  /** DNS for the connect-time address check; tests inject answers. */
  lookup?: LookupAll;
}

/** A pino-compatible subset. The API key and signed URLs are never passed to it. */
export interface ClientLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The retry policy with the client's defaults filled in. */
export type ResolvedRetry = Pick<RetryOptions, "retries" | "baseMs" | "maxMs" | "random" | "sleep">;

/** `defaults` with every value `over` sets (an `undefined` keeps the default). */
export function withDefaults<T extends object>(defaults: T, over: Partial<T> | undefined): T {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(over ?? {})) {
    if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** `opts.limiters[name]`, or a new limiter of `limit` requests per `intervalMs`. */
export function limiterFor<L extends string>(
  limiters: Partial<Record<L, StartLimiter>> | undefined,
  name: L,
  limit: number,
  intervalMs: number,
): StartLimiter {
  return limiters?.[name] ?? new RateLimiter({ limit, intervalMs });
}

/**
 * `fn` retried under the call's deadline: only retryable failures (and `isRetryable` ones) are
 * retried; a limiter's refusal never is, since it means "not before the deadline"; and a backoff that
 * would end past the deadline is not waited out, because the last failure says more than a timeout.
 */
export function retryWithinDeadline<T>(
  fn: () => Promise<T>,
  opts: {
    retry: ResolvedRetry;
    deadline: CallDeadline;
    isRetryable?: (err: unknown) => boolean;
    onRetry?: (info: RetryInfo) => void;
  },
): Promise<T> {
  const { retry, deadline: dl } = opts;
  const isRetryable = opts.isRetryable ?? isRetryableError;
  const sleep = retry.sleep ?? abortableSleep;
  let last: unknown;
  return withRetry(fn, {
    ...retry,
    signal: dl.signal,
    isRetryable: (err) => !(err instanceof ProviderBusyError) && isRetryable(err),
    onRetry: (info) => {
      last = info.error;
      opts.onRetry?.(info);
    },
    sleep: async (ms, signal) => {
      if (ms >= dl.remaining()) throw last;
      await sleep(ms, signal);
    },
  });
}
