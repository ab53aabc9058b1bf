/**
 * Provider-neutral error classes. Every failure a provider can report becomes exactly one of these,
 * so callers (the bot, the CLI, the job poller) decide what to do from `kind` alone and render one
 * human message per kind.
 */

export type ErrorKind =
  /** Transient: timeouts, 5xx, rate limits, MiniMax 1000/1001/1002/1024/1033/1039/1041/2045. Retry later. */
  | "retryable"
  /** Bad or mismatched API key (1004, 2049, HTTP 401). */
  | "auth"
  /** No balance, quota or plan does not cover it (1008, 1028, 1030, 2056, 2061, HTTP 402/403). */
  | "balance"
  /** The provider refused the text or its output (1026, 1027, 1042). */
  | "content"
  /** The request itself is wrong (2013, 2054, unsupported option for a model, …). */
  | "invalid"
  /** A task or download URL that is no longer available. */
  | "expired"
  /** The provider failed in a way that retrying will not fix, or answered something unparseable. */
  | "upstream";

export interface ProviderErrorDetails {
  provider: "minimax" | "aimlapi";
  /** MiniMax `base_resp.status_code`, or the AI/ML API `statusCode`. */
  code?: number;
  /** MiniMax `status_msg` or the AI/ML API `message`, verbatim. */
  statusMsg?: string;
  traceId?: string;
  httpStatus?: number;
  /** For retryable errors: whether the provider said we were too fast (so back off harder). */
  rateLimited?: boolean;
  cause?: unknown;
}

export class TtsError extends Error {
  readonly kind: ErrorKind;
  readonly provider: "minimax" | "aimlapi";
  readonly code: number | undefined;
  readonly statusMsg: string | undefined;
  readonly traceId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly rateLimited: boolean;

  constructor(kind: ErrorKind, message: string, details: ProviderErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.kind = kind;
    this.provider = details.provider;
    this.code = details.code;
    this.statusMsg = details.statusMsg;
    this.traceId = details.traceId;
    this.httpStatus = details.httpStatus;
    this.rateLimited = details.rateLimited ?? false;
  }

  get retryable(): boolean {
    return this.kind === "retryable";
  }
}

export class RetryableError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("retryable", message, details);
  }
}
export class AuthError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("auth", message, details);
  }
}
export class BalanceError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("balance", message, details);
  }
}
export class ContentRefusedError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("content", message, details);
  }
}
export class InvalidInputError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("invalid", message, details);
  }
}
export class ExpiredError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("expired", message, details);
  }
}
export class UpstreamError extends TtsError {
  constructor(message: string, details: ProviderErrorDetails) {
    super("upstream", message, details);
  }
}

/**
 * A call that did not finish within its overall deadline (retries and backoff included). Retryable:
 * the provider may simply have been slow this time.
 */
export class DeadlineExceededError extends RetryableError {}

/**
 * The bot's own rate limiter could not start the request before its deadline, so nothing was sent
 * (and nothing billed). `retryAfterMs` is when a start would be possible again, as predicted.
 */
export class ProviderBusyError extends RetryableError {
  readonly retryAfterMs: number;
  constructor(message: string, details: ProviderErrorDetails & { retryAfterMs: number }) {
    super(message, { ...details, rateLimited: true });
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** What members are told about an UntrustedDownloadError. */
export const UNTRUSTED_DOWNLOAD_MESSAGE =
  "The speech service returned a download link the bot does not trust.";

/**
 * The provider answered with a download link the bot refuses to follow: not https, a host outside
 * the allowlist, or a name or redirect leading to a loopback/private address. `host` is for logs
 * (never the query string: it carries signatures); the message is fit for members.
 */
export class UntrustedDownloadError extends UpstreamError {
  readonly host: string;
  /** Why, for logs: e.g. "host not allowed", "resolves to a private address". */
  readonly reason: string;
  constructor(details: ProviderErrorDetails & { host: string; reason: string }) {
    super(UNTRUSTED_DOWNLOAD_MESSAGE, details);
    this.host = details.host;
    this.reason = details.reason;
  }
}

/**
 * Thrown before any request when the chosen model (or provider) cannot honour an option, e.g.
 * `emotion: whisper` on speech-2.8-hd. It is an invalid-input error with a message meant for users.
 */
export class UnsupportedOptionError extends InvalidInputError {
  readonly option: string;
  constructor(option: string, message: string, provider: "minimax" | "aimlapi") {
    super(message, { provider });
    this.option = option;
  }
}

/** One sentence per kind, for people. The raw provider message is logged, never shown as-is. */
export function describeTtsError(err: TtsError): string {
  switch (err.kind) {
    case "retryable":
      if (err instanceof ProviderBusyError) {
        const seconds = Math.max(1, Math.ceil(err.retryAfterMs / 1000));
        return `The speech service is busy; try again in about ${seconds} s. Nothing was billed.`;
      }
      return err.rateLimited
        ? "The speech service is busy (rate limit). Please try again in a minute."
        : "The speech service had a temporary problem. Please try again shortly.";
    case "auth":
      return "The speech service rejected the bot's API key. The bot owner needs to check its configuration.";
    case "balance":
      return "The speech service account has no balance or its plan does not cover this request.";
    case "content":
      return "The speech service refused this text (it was flagged as sensitive or unreadable).";
    case "invalid":
      if (err.code === 2054 || err.code === 20132 || err.code === 2042) {
        return "That voice does not exist or is not available to this bot. Pick one from the voice list (start typing in the voice option, or see /voices).";
      }
      return err instanceof UnsupportedOptionError
        ? err.message
        : `The speech service rejected the request: ${err.statusMsg ?? err.message}`;
    case "expired":
      return "The result is no longer available from the speech service (it expired).";
    case "upstream":
      if (err instanceof UntrustedDownloadError) return UNTRUSTED_DOWNLOAD_MESSAGE;
      return "The speech service failed to produce audio.";
  }
}
