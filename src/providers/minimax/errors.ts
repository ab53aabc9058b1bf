import {
  AuthError,
  BalanceError,
  ContentRefusedError,
  ExpiredError,
  InvalidInputError,
  type ProviderErrorDetails,
  RetryableError,
  TtsError,
  UpstreamError,
} from "../../speech/errors.ts";
import { CONNECT_FAILURE_CODES, errorFromNetworkFailure, networkErrorCode } from "../http/network-error.ts";

/**
 * MiniMax failure → one provider-neutral error class, by MiniMax's documented error codes. Business
 * errors arrive as HTTP 200 with a non-zero `base_resp.status_code`; transport failures as HTTP
 * statuses or socket errors.
 */

/** Transient codes; the ones in RATE_LIMITED_CODES mean "too fast" and back off harder. */
export const RETRYABLE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1002, 1024, 1033, 1039, 1041, 2045]);
export const RATE_LIMITED_CODES: ReadonlySet<number> = new Set([1002, 1039, 1041, 2045]);
export const AUTH_CODES: ReadonlySet<number> = new Set([1004, 2049, 2038]);
export const BALANCE_CODES: ReadonlySet<number> = new Set([1008, 1028, 1030, 2056, 2061]);
export const CONTENT_CODES: ReadonlySet<number> = new Set([1026, 1027, 1042]);
export const INVALID_CODES: ReadonlySet<number> = new Set([
  2013, 20132, 2037, 2039, 2042, 2048, 2054, 1043, 1044,
]);

const base = (extra: Omit<ProviderErrorDetails, "provider">): ProviderErrorDetails => ({
  provider: "minimax",
  ...extra,
});

export function errorFromBaseResp(
  code: number,
  statusMsg: string,
  traceId?: string,
  httpStatus?: number,
): TtsError {
  const details = base({ code, statusMsg, traceId, httpStatus });
  const what = `MiniMax error ${code}${statusMsg ? `: ${statusMsg}` : ""}`;
  if (RETRYABLE_CODES.has(code)) {
    return new RetryableError(what, { ...details, rateLimited: RATE_LIMITED_CODES.has(code) });
  }
  if (AUTH_CODES.has(code)) {
    const hint =
      code === 1004
        ? " (check the API key, the GroupId, and that the key belongs to this host's region)"
        : "";
    return new AuthError(`${what}${hint}`, details);
  }
  if (BALANCE_CODES.has(code)) return new BalanceError(what, details);
  if (CONTENT_CODES.has(code)) return new ContentRefusedError(what, details);
  if (INVALID_CODES.has(code)) return new InvalidInputError(what, details);
  return new UpstreamError(what, details);
}

/** The `base_resp`/`trace_id` of a non-200 body, when it is MiniMax JSON at all. */
function peekEnvelope(body: string): { code?: number; msg?: string; traceId?: string } {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== "object" || json === null) return {};
    const { base_resp: resp, trace_id: traceId } = json as Record<string, unknown>;
    const out: { code?: number; msg?: string; traceId?: string } = {};
    if (typeof traceId === "string") out.traceId = traceId;
    if (typeof resp === "object" && resp !== null) {
      const { status_code: code, status_msg: msg } = resp as Record<string, unknown>;
      if (typeof code === "number") out.code = code;
      if (typeof msg === "string") out.msg = msg;
    }
    return out;
  } catch {
    return {};
  }
}

const MAX_MSG = 300;

/** A non-200 answer from a MiniMax API route. The HTTP status decides the class. */
export function errorFromHttp(status: number, body: string, headerTraceId?: string): TtsError {
  const env = peekEnvelope(body);
  const statusMsg = env.msg ?? body.trim().slice(0, MAX_MSG);
  const details = base({
    code: env.code,
    statusMsg,
    traceId: env.traceId ?? headerTraceId,
    httpStatus: status,
  });
  if (status === 404) {
    return new InvalidInputError(
      `MiniMax answered HTTP 404 (${statusMsg || "no body"}): unknown endpoint — check the API base URL`,
      details,
    );
  }
  const what = `MiniMax answered HTTP ${status}${statusMsg ? `: ${statusMsg}` : ""}`;
  if (status === 401 || status === 403) return new AuthError(what, details);
  if (status === 402) return new BalanceError(what, details);
  if (status === 429) return new RetryableError(what, { ...details, rateLimited: true });
  if (status === 408 || status >= 500) return new RetryableError(what, details);
  return new UpstreamError(what, details);
}

/**
 * A non-200 answer from a signed download URL (object storage, no auth): 403/404/410 mean the
 * signature expired or the object is gone (async results live 9 h, url outputs 24 h).
 */
export function errorFromDownload(status: number, body: string): TtsError {
  const details = base({ httpStatus: status, statusMsg: body.trim().slice(0, MAX_MSG) });
  if (status === 403 || status === 404 || status === 410) {
    return new ExpiredError(`MiniMax download URL answered HTTP ${status}: the file has expired`, details);
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new RetryableError(`MiniMax download URL answered HTTP ${status}`, {
      ...details,
      rateLimited: status === 429,
    });
  }
  return new UpstreamError(`MiniMax download URL answered HTTP ${status}`, details);
}

/**
 * Anything thrown while talking HTTP → a TtsError. Callers check their AbortSignal first: an abort
 * is the caller's decision and is rethrown as-is, never converted.
 */
export function errorFromNetwork(err: unknown, traceId?: string): TtsError {
  return errorFromNetworkFailure(err, { provider: "minimax", label: "MiniMax", traceId });
}

/**
 * Whether repeating a non-idempotent call (async task creation, upload) cannot duplicate work: true
 * when the server answered with an error (so it did nothing), or the connection never opened.
 */
export function isSafeToRepeat(err: unknown): boolean {
  if (!(err instanceof TtsError) || !err.retryable) return false;
  if (err.code !== undefined || err.httpStatus !== undefined) return true;
  const code = networkErrorCode(err.cause);
  return code !== undefined && CONNECT_FAILURE_CODES.has(code);
}
