import { describe, expect, it } from "vitest";
import {
  errorFromBaseResp,
  errorFromDownload,
  errorFromHttp,
  errorFromNetwork,
  isSafeToRepeat,
} from "../../../src/providers/minimax/errors.ts";
import {
  AuthError,
  BalanceError,
  ContentRefusedError,
  type ErrorKind,
  ExpiredError,
  InvalidInputError,
  RetryableError,
  type TtsError,
  UpstreamError,
} from "../../../src/speech/errors.ts";

type Row = [code: number, kind: ErrorKind, rateLimited: boolean];

// Every error code MiniMax documents.
const TABLE: Row[] = [
  [1000, "retryable", false],
  [1001, "retryable", false],
  [1002, "retryable", true],
  [1024, "retryable", false],
  [1033, "retryable", false],
  [1039, "retryable", true],
  [1041, "retryable", true],
  [2045, "retryable", true],
  [1004, "auth", false],
  [2049, "auth", false],
  [2038, "auth", false],
  [1008, "balance", false],
  [1028, "balance", false],
  [1030, "balance", false],
  [2056, "balance", false],
  [2061, "balance", false],
  [1026, "content", false],
  [1027, "content", false],
  [1042, "content", false],
  [2013, "invalid", false],
  [20132, "invalid", false],
  [2037, "invalid", false],
  [2039, "invalid", false],
  [2042, "invalid", false],
  [2048, "invalid", false],
  [2054, "invalid", false],
  [1043, "invalid", false],
  [1044, "invalid", false],
  [1013, "upstream", false],
  [9999, "upstream", false],
  [-1, "upstream", false],
];

const CLASS: Record<ErrorKind, new (...args: never[]) => TtsError> = {
  retryable: RetryableError,
  auth: AuthError,
  balance: BalanceError,
  content: ContentRefusedError,
  invalid: InvalidInputError,
  expired: ExpiredError,
  upstream: UpstreamError,
};

describe("errorFromBaseResp", () => {
  it.each(TABLE)("code %i → %s (rateLimited %s)", (code, kind, rateLimited) => {
    const err = errorFromBaseResp(code, "some message", "trace-1");
    expect(err).toBeInstanceOf(CLASS[kind]);
    expect(err.kind).toBe(kind);
    expect(err.retryable).toBe(kind === "retryable");
    expect(err.rateLimited).toBe(rateLimited);
    expect(err.code).toBe(code);
    expect(err.statusMsg).toBe("some message");
    expect(err.traceId).toBe("trace-1");
    expect(err.provider).toBe("minimax");
    expect(err.message).toContain(String(code));
  });

  it("hints at the GroupId and region for 1004", () => {
    expect(errorFromBaseResp(1004, "token not match group").message).toMatch(/GroupId/);
  });
});

describe("errorFromHttp", () => {
  it.each([
    [404, "404 page not found", "invalid", false],
    [401, "unauthorized", "auth", false],
    [403, "forbidden", "auth", false],
    [402, "pay", "balance", false],
    [429, "too many", "retryable", true],
    [408, "timeout", "retryable", false],
    [500, "oops", "retryable", false],
    [502, "<html>bad gateway</html>", "retryable", false],
    [503, "", "retryable", false],
    [504, "", "retryable", false],
    [400, "bad", "upstream", false],
    [418, "teapot", "upstream", false],
  ] as const)("HTTP %i → %s", (status, body, kind, rateLimited) => {
    const err = errorFromHttp(status, body, "header-trace");
    expect(err.kind).toBe(kind);
    expect(err.rateLimited).toBe(rateLimited);
    expect(err.httpStatus).toBe(status);
    expect(err.traceId).toBe("header-trace");
    expect(err.statusMsg).toBe(body);
  });

  it("names the likely cause of a 404: a wrong base URL", () => {
    expect(errorFromHttp(404, "404 page not found").message).toMatch(/unknown endpoint.*base URL/);
  });

  it("takes code, message and trace id from a MiniMax JSON body", () => {
    const body = JSON.stringify({
      base_resp: { status_code: 1002, status_msg: "rate limit" },
      trace_id: "t-body",
    });
    const err = errorFromHttp(429, body, "t-header");
    expect(err.code).toBe(1002);
    expect(err.statusMsg).toBe("rate limit");
    expect(err.traceId).toBe("t-body");
  });

  it("keeps a long HTML body out of the message", () => {
    const err = errorFromHttp(502, "x".repeat(10_000));
    expect(err.statusMsg!.length).toBeLessThanOrEqual(300);
  });
});

describe("errorFromDownload", () => {
  it.each([
    [403, "expired"],
    [404, "expired"],
    [410, "expired"],
    [500, "retryable"],
    [429, "retryable"],
    [400, "upstream"],
  ] as const)("HTTP %i from object storage → %s", (status, kind) => {
    expect(errorFromDownload(status, "<Error>AccessDenied</Error>").kind).toBe(kind);
  });
});

describe("errorFromNetwork", () => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    "UND_ERR_CONNECT_TIMEOUT",
    "UND_ERR_HEADERS_TIMEOUT",
    "UND_ERR_BODY_TIMEOUT",
    "UND_ERR_SOCKET",
    "ECONNRESET",
    "ECONNREFUSED",
    "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  ])("%s is retryable", (code) => {
    const err = errorFromNetwork(withCode(code));
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.statusMsg).toContain(code);
  });

  it("says timeout for timeouts", () => {
    expect(errorFromNetwork(withCode("UND_ERR_HEADERS_TIMEOUT")).message).toMatch(/timed out/);
  });

  it.each(["UND_ERR_INVALID_ARG", "UND_ERR_CLOSED", "UND_ERR_DESTROYED"])("%s is not retryable", (code) => {
    expect(errorFromNetwork(withCode(code))).toBeInstanceOf(UpstreamError);
  });

  it("passes TtsErrors through untouched", () => {
    const original = errorFromBaseResp(2013, "invalid params");
    expect(errorFromNetwork(original)).toBe(original);
  });
});

describe("isSafeToRepeat", () => {
  const net = (code: string) => errorFromNetwork(Object.assign(new Error(code), { code }));
  it.each([
    ["a retryable base_resp (the server refused)", errorFromBaseResp(1002, "rate limit"), true],
    ["an HTTP 503 (the server answered)", errorFromHttp(503, ""), true],
    ["a refused connection (never sent)", net("ECONNREFUSED"), true],
    ["a connect timeout (never sent)", net("UND_ERR_CONNECT_TIMEOUT"), true],
    ["a headers timeout (maybe processed)", net("UND_ERR_HEADERS_TIMEOUT"), false],
    ["a reset socket (maybe processed)", net("ECONNRESET"), false],
    ["a non-retryable error", errorFromBaseResp(2013, "bad"), false],
    ["a plain Error", new Error("x"), false],
  ])("%s → %s", (_label, err, expected) => {
    expect(isSafeToRepeat(err)).toBe(expected);
  });
});
