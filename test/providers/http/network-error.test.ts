import { describe, expect, it } from "vitest";
import {
  CONNECT_FAILURE_CODES,
  errorFromNetworkFailure,
  LOCAL_FAILURE_CODES,
  networkErrorCode,
} from "../../../src/providers/http/network-error.ts";
import { AuthError, RetryableError, UpstreamError } from "../../../src/speech/errors.ts";

const withCode = (code: string) => Object.assign(new Error(`boom ${code}`), { code });

describe("networkErrorCode", () => {
  it.each([
    ["an Error with a string code", withCode("ECONNRESET"), "ECONNRESET"],
    ["an Error with a numeric code", Object.assign(new Error("x"), { code: 42 }), undefined],
    ["a plain Error", new Error("x"), undefined],
    ["an object with a code", { code: "EAI_AGAIN" }, "EAI_AGAIN"],
    ["a string", "ECONNRESET", undefined],
    ["null", null, undefined],
    ["undefined", undefined, undefined],
  ])("%s → %s", (_label, err, expected) => {
    expect(networkErrorCode(err)).toBe(expected);
  });
});

describe("failure code sets", () => {
  it("keeps connect failures and local misuse apart", () => {
    for (const code of CONNECT_FAILURE_CODES) expect(LOCAL_FAILURE_CODES.has(code)).toBe(false);
    expect(CONNECT_FAILURE_CODES.has("UND_ERR_CONNECT_TIMEOUT")).toBe(true);
    expect(CONNECT_FAILURE_CODES.has("ECONNRESET")).toBe(false);
    expect(LOCAL_FAILURE_CODES.has("UND_ERR_INVALID_ARG")).toBe(true);
  });
});

describe("errorFromNetworkFailure", () => {
  const providers = [
    { provider: "minimax", label: "MiniMax" },
    { provider: "aimlapi", label: "AI/ML API" },
  ] as const;

  const cases = [
    ["ECONNREFUSED", RetryableError, "connection failed"],
    ["ECONNRESET", RetryableError, "connection failed"],
    ["UND_ERR_SOCKET", RetryableError, "connection failed"],
    ["UND_ERR_CONNECT_TIMEOUT", RetryableError, "request timed out"],
    ["UND_ERR_HEADERS_TIMEOUT", RetryableError, "request timed out"],
    ["UND_ERR_BODY_TIMEOUT", RetryableError, "request timed out"],
    ["ETIMEDOUT", RetryableError, "request timed out"],
    ["UND_ERR_INVALID_ARG", UpstreamError, "request could not be made"],
    ["UND_ERR_NOT_SUPPORTED", UpstreamError, "request could not be made"],
    ["UND_ERR_CLOSED", UpstreamError, "request could not be made"],
    ["UND_ERR_DESTROYED", UpstreamError, "request could not be made"],
    ["UND_ERR_INVALID_RETURN_VALUE", UpstreamError, "request could not be made"],
  ] as const;

  describe.each(providers)("$label", ({ provider, label }) => {
    it.each(cases)("%s → %o (%s)", (code, cls, what) => {
      const cause = withCode(code);
      const err = errorFromNetworkFailure(cause, { provider, label });
      expect(err).toBeInstanceOf(cls);
      expect(err.message).toBe(`${label} ${what}: boom ${code}`);
      expect(err.statusMsg).toBe(`${code}: boom ${code}`);
      expect(err.provider).toBe(provider);
      expect(err.cause).toBe(cause);
      expect(err.traceId).toBeUndefined();
    });

    it("says a name that does not exist plainly, naming the host (ENOTFOUND)", () => {
      const cause = Object.assign(new Error("getaddrinfo ENOTFOUND nonexistent.invalid"), {
        code: "ENOTFOUND",
        hostname: "nonexistent.invalid",
      });
      const err = errorFromNetworkFailure(cause, { provider, label });
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toBe(
        `${label} host nonexistent.invalid could not be resolved (ENOTFOUND): check the URL and the network`,
      );
      expect(err.message).not.toMatch(/temporar/i);
      expect(err.statusMsg).toBe("ENOTFOUND: getaddrinfo ENOTFOUND nonexistent.invalid");
      expect(err.cause).toBe(cause);
    });

    it("calls only EAI_AGAIN a temporary DNS failure, and finds the host in the message", () => {
      const cause = Object.assign(new Error("getaddrinfo EAI_AGAIN api.minimax.io"), { code: "EAI_AGAIN" });
      const err = errorFromNetworkFailure(cause, { provider, label });
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toBe(
        `${label} host api.minimax.io could not be resolved right now (EAI_AGAIN: DNS lookup failed temporarily)`,
      );
    });

    it("says the host is unknown when neither the error nor its message names it", () => {
      const err = errorFromNetworkFailure(withCode("ENOTFOUND"), { provider, label });
      expect(err.message).toBe(
        `${label} host (unknown) could not be resolved (ENOTFOUND): check the URL and the network`,
      );
    });

    it("uses the bare message without a code", () => {
      const err = errorFromNetworkFailure(new Error("socket hang up"), { provider, label });
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toBe(`${label} connection failed: socket hang up`);
      expect(err.statusMsg).toBe("socket hang up");
    });

    it("stringifies what is not an Error", () => {
      const err = errorFromNetworkFailure("weird", { provider, label });
      expect(err.message).toBe(`${label} connection failed: weird`);
      expect(err.cause).toBe("weird");
    });

    it("keeps the trace id", () => {
      const err = errorFromNetworkFailure(withCode("ECONNRESET"), { provider, label, traceId: "t-1" });
      expect(err.traceId).toBe("t-1");
    });

    it("passes TtsErrors through", () => {
      const original = new AuthError("x", { provider });
      expect(errorFromNetworkFailure(original, { provider, label })).toBe(original);
    });
  });
});
