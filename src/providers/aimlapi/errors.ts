import {
  AuthError,
  BalanceError,
  ExpiredError,
  InvalidInputError,
  type ProviderErrorDetails,
  RetryableError,
  type TtsError,
  UpstreamError,
} from "../../speech/errors.ts";
import { errorFromNetworkFailure } from "../http/network-error.ts";
import { AimlErrorBodySchema } from "./schemas.ts";

/**
 * AI/ML API failure → one provider-neutral error class. Unlike MiniMax itself, the gateway uses real
 * HTTP statuses, with a `{message, path, requestId, statusCode, timestamp}` body.
 */

const MAX_MSG = 500;

export interface AimlErrorInfo {
  message: string | undefined;
  requestId: string | undefined;
  /** `statusCode` from the body, which may differ from (or stand in for) the HTTP status. */
  statusCode: number | undefined;
}

/** Reads the gateway's error body; anything else (HTML from a proxy, plain text) becomes the message. */
export function parseAimlErrorBody(body: string): AimlErrorInfo {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const text = body.trim();
    const looksHtml = /^<(!doctype|html)/i.test(text);
    return {
      message: text === "" ? undefined : looksHtml ? "(an HTML page)" : text.slice(0, MAX_MSG),
      requestId: undefined,
      statusCode: undefined,
    };
  }
  const parsed = AimlErrorBodySchema.safeParse(json);
  if (!parsed.success)
    return { message: body.trim().slice(0, MAX_MSG), requestId: undefined, statusCode: undefined };
  const { message, error, requestId, statusCode } = parsed.data;
  const text = Array.isArray(message) ? message.join("; ") : (message ?? error);
  // JSON of some other shape still says something; keep it rather than nothing.
  return { message: (text ?? (body.trim() || undefined))?.slice(0, MAX_MSG), requestId, statusCode };
}

const GENERATION_TIMEOUT = /generation timeout/i;

/** A non-2xx answer from `POST /v1/tts`. */
export function errorFromAimlResponse(status: number, body: string, headerRequestId?: string): TtsError {
  const info = parseAimlErrorBody(body);
  const msg = info.message;
  const details: ProviderErrorDetails = {
    provider: "aimlapi",
    code: info.statusCode ?? status,
    statusMsg: msg,
    traceId: info.requestId ?? headerRequestId,
    httpStatus: status,
  };
  const suffix = msg ? `: ${msg}` : "";
  if (status === 429) {
    return new RetryableError(`AI/ML API rate limit (HTTP 429)${suffix}`, { ...details, rateLimited: true });
  }
  if (status === 408 || status >= 500 || (msg !== undefined && GENERATION_TIMEOUT.test(msg))) {
    return new RetryableError(`AI/ML API temporary failure (HTTP ${status})${suffix}`, details);
  }
  if (status === 401) return new AuthError(`AI/ML API rejected the API key (HTTP 401)${suffix}`, details);
  if (status === 402 || status === 403) {
    return new BalanceError(`AI/ML API account is out of credits (HTTP ${status})${suffix}`, details);
  }
  if (status === 404) {
    return new InvalidInputError(
      `AI/ML API answered HTTP 404${suffix}: unknown endpoint — check the API base URL (AIMLAPI_API_URL)`,
      details,
    );
  }
  // 400 "Body validation error …" and other 4xx: the request itself; the detail stays in the message.
  if (status >= 400)
    return new InvalidInputError(`AI/ML API rejected the request (HTTP ${status})${suffix}`, details);
  return new UpstreamError(`AI/ML API answered HTTP ${status}${suffix}`, details);
}

/** A non-2xx answer from the audio URL the gateway handed out (a signed CDN link, no auth). */
export function errorFromAimlDownload(status: number, body: string): TtsError {
  const details: ProviderErrorDetails = {
    provider: "aimlapi",
    httpStatus: status,
    statusMsg: body.trim().slice(0, MAX_MSG) || undefined,
  };
  if (status === 403 || status === 404 || status === 410) {
    return new ExpiredError(
      `AI/ML API audio URL answered HTTP ${status}: the file is gone or expired`,
      details,
    );
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new RetryableError(`AI/ML API audio URL answered HTTP ${status}`, {
      ...details,
      rateLimited: status === 429,
    });
  }
  return new UpstreamError(`AI/ML API audio URL answered HTTP ${status}`, details);
}

/**
 * Anything thrown while talking HTTP → a TtsError (TtsErrors pass through). Callers check their
 * AbortSignal first: an abort is the caller's decision and is rethrown as it is.
 */
export function errorFromAimlNetwork(err: unknown): TtsError {
  return errorFromNetworkFailure(err, { provider: "aimlapi", label: "AI/ML API" });
}
