import { type ProviderErrorDetails, RetryableError, TtsError, UpstreamError } from "../../speech/errors.ts";

/**
 * Socket-level failures → provider-neutral errors, shared by the MiniMax and AI/ML API clients.
 * Callers check their AbortSignal first: an abort is the caller's decision and is rethrown as-is.
 */

/** Socket-level failures that happen before the request could reach the server. */
export const CONNECT_FAILURE_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Our own misuse of the HTTP client: retrying cannot help. */
export const LOCAL_FAILURE_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_INVALID_ARG",
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_CLOSED",
  "UND_ERR_DESTROYED",
  "UND_ERR_INVALID_RETURN_VALUE",
]);

/** The string `code` of a Node or undici error, if it has one. */
export function networkErrorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}

export interface NetworkFailureContext {
  provider: ProviderErrorDetails["provider"];
  /** How messages name the provider. */
  label: "MiniMax" | "AI/ML API";
  traceId?: string;
}

/**
 * Anything thrown while talking HTTP → a TtsError (TtsErrors pass through): local misuse becomes an
 * UpstreamError, timeouts and other socket failures a RetryableError. The cause is kept.
 */
export function errorFromNetworkFailure(err: unknown, ctx: NetworkFailureContext): TtsError {
  if (err instanceof TtsError) return err;
  const code = networkErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const details: ProviderErrorDetails = {
    provider: ctx.provider,
    statusMsg: code ? `${code}: ${message}` : message,
    traceId: ctx.traceId,
    cause: err,
  };
  if (code && LOCAL_FAILURE_CODES.has(code)) {
    return new UpstreamError(`${ctx.label} request could not be made: ${message}`, details);
  }
  // Name resolution said plainly: ENOTFOUND means the name does not exist (a wrong URL, or no network
  // at all), EAI_AGAIN that the resolver could not answer now. Both stay retryable for the callers'
  // policies (a resolver outage can pass); only the wording says which it is.
  if (code === "ENOTFOUND") {
    return new RetryableError(
      `${ctx.label} host ${dnsHost(err, message)} could not be resolved (ENOTFOUND): check the URL and the network`,
      details,
    );
  }
  if (code === "EAI_AGAIN") {
    return new RetryableError(
      `${ctx.label} host ${dnsHost(err, message)} could not be resolved right now (EAI_AGAIN: DNS lookup failed temporarily)`,
      details,
    );
  }
  const timeout = code?.includes("TIMEOUT") || code === "ETIMEDOUT";
  return new RetryableError(
    `${ctx.label} ${timeout ? "request timed out" : "connection failed"}: ${message}`,
    details,
  );
}

/** The name a DNS failure was about: Node sets `hostname`; otherwise it follows the code in the message. */
function dnsHost(err: unknown, message: string): string {
  if (typeof err === "object" && err !== null && "hostname" in err && typeof err.hostname === "string") {
    return err.hostname;
  }
  return /(?:ENOTFOUND|EAI_AGAIN)\s+([^\s,;:]+)/.exec(message)?.[1] ?? "(unknown)";
}
