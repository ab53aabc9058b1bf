import { describe, expect, it } from "vitest";
import {
  errorFromAimlDownload,
  errorFromAimlNetwork,
  errorFromAimlResponse,
  parseAimlErrorBody,
} from "../../../src/providers/aimlapi/errors.ts";
import {
  AuthError,
  BalanceError,
  describeTtsError,
  ExpiredError,
  InvalidInputError,
  RetryableError,
  UpstreamError,
} from "../../../src/speech/errors.ts";

const body = (statusCode: number | string, message: string | string[], requestId = "798b860e-1") =>
  JSON.stringify({ message, path: "/v1/tts", requestId, statusCode, timestamp: "2025-03-11T07:13:27.813Z" });

describe("errorFromAimlResponse", () => {
  it.each([
    [
      400,
      "Body validation error: Invalid enum value. Expected 'mp3' | 'pcm' | 'flac', received 'wav'",
      InvalidInputError,
      false,
    ],
    [401, "This request requires a valid API key", AuthError, false],
    [402, "Payment required", BalanceError, false],
    [403, "You are out of credits", BalanceError, false],
    [404, "Cannot POST /tts", InvalidInputError, false],
    [408, "Request timeout", RetryableError, false],
    [413, "Payload too large", InvalidInputError, false],
    [422, "Unprocessable", InvalidInputError, false],
    [429, "Too Many Requests", RetryableError, true],
    [500, "Internal server error", RetryableError, false],
    [502, "Bad gateway", RetryableError, false],
    [503, "Service unavailable", RetryableError, false],
    [504, "Generation timeout", RetryableError, false],
  ] as const)("HTTP %i: %s", (status, message, cls, rateLimited) => {
    const err = errorFromAimlResponse(status, body(status, message));
    expect(err).toBeInstanceOf(cls);
    expect(err.provider).toBe("aimlapi");
    expect(err.httpStatus).toBe(status);
    expect(err.code).toBe(status);
    expect(err.statusMsg).toBe(message);
    expect(err.traceId).toBe("798b860e-1");
    expect(err.rateLimited).toBe(rateLimited);
    expect(err.message).toContain(message);
  });

  it("keeps the validation detail where users see it", () => {
    const detail = "Body validation error: voice_setting.speed: Number must be less than or equal to 2";
    const err = errorFromAimlResponse(400, body(400, detail));
    expect(describeTtsError(err)).toContain("speed: Number must be less than or equal to 2");
  });

  it("a 'Generation timeout' message is retryable whatever the status", () => {
    expect(errorFromAimlResponse(400, body(400, "Generation timeout"))).toBeInstanceOf(RetryableError);
  });

  it("accepts statusCode as a string and message as a list", () => {
    const err = errorFromAimlResponse(400, body("400", ["text must be shorter", "model is invalid"]));
    expect(err.code).toBe(400);
    expect(err.statusMsg).toBe("text must be shorter; model is invalid");
  });

  it("the 404 message points at the base URL", () => {
    expect(errorFromAimlResponse(404, "").message).toMatch(/base URL/);
  });

  it.each([
    ["plain text", 502, "upstream connect error", RetryableError, "upstream connect error"],
    ["an HTML page", 503, "<!DOCTYPE html><html><body>down</body></html>", RetryableError, "(an HTML page)"],
    ["empty", 401, "", AuthError, undefined],
    ["JSON of another shape", 400, '{"detail":"nope"}', InvalidInputError, '{"detail":"nope"}'],
  ] as const)("non-gateway body: %s", (_name, status, text, cls, statusMsg) => {
    const err = errorFromAimlResponse(status, text, "hdr-id");
    expect(err).toBeInstanceOf(cls);
    expect(err.statusMsg).toBe(statusMsg);
    expect(err.traceId).toBe("hdr-id");
  });

  it("prefers the body's requestId to the header's", () => {
    expect(errorFromAimlResponse(500, body(500, "x", "from-body"), "from-header").traceId).toBe("from-body");
  });

  it("an unexpected non-error status is an upstream failure", () => {
    expect(errorFromAimlResponse(304, "")).toBeInstanceOf(UpstreamError);
  });

  it("parseAimlErrorBody reads the documented example", () => {
    expect(parseAimlErrorBody(body("429", "Too Many Requests"))).toEqual({
      message: "Too Many Requests",
      requestId: "798b860e-1",
      statusCode: 429,
    });
  });
});

describe("errorFromAimlDownload", () => {
  it.each([
    [403, ExpiredError],
    [404, ExpiredError],
    [410, ExpiredError],
    [429, RetryableError],
    [500, RetryableError],
    [503, RetryableError],
    [400, UpstreamError],
  ] as const)("HTTP %i → %o", (status, cls) => {
    const err = errorFromAimlDownload(status, "<Error><Code>AccessDenied</Code></Error>");
    expect(err).toBeInstanceOf(cls);
    expect(err.httpStatus).toBe(status);
  });
});

describe("errorFromAimlNetwork", () => {
  const withCode = (code: string) => Object.assign(new Error(`boom ${code}`), { code });
  it.each([
    ["ECONNREFUSED", RetryableError, /connection failed/],
    ["ECONNRESET", RetryableError, /connection failed/],
    ["UND_ERR_SOCKET", RetryableError, /connection failed/],
    ["UND_ERR_HEADERS_TIMEOUT", RetryableError, /timed out/],
    ["UND_ERR_BODY_TIMEOUT", RetryableError, /timed out/],
    ["UND_ERR_CONNECT_TIMEOUT", RetryableError, /timed out/],
    ["UND_ERR_INVALID_ARG", UpstreamError, /could not be made/],
  ] as const)("%s → %o", (code, cls, message) => {
    const err = errorFromAimlNetwork(withCode(code));
    expect(err).toBeInstanceOf(cls);
    expect(err.message).toMatch(message);
    expect(err.statusMsg).toContain(code);
  });

  it("passes TtsErrors through", () => {
    const original = new AuthError("x", { provider: "aimlapi" });
    expect(errorFromAimlNetwork(original)).toBe(original);
  });
});
