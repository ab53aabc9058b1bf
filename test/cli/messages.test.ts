import { describe, expect, it } from "vitest";
import { describeForCli, describeNetworkFailure } from "../../src/cli/messages.ts";
import { errorFromNetworkFailure } from "../../src/providers/http/network-error.ts";
import { AuthError, InvalidInputError, RetryableError } from "../../src/speech/errors.ts";

const ctx = { provider: "minimax", apiUrl: "https://api.minimax.io", voiceId: "Calm_Woman" } as const;
const dnsError = (code: string, host: string) =>
  Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code, hostname: host });

describe("describeForCli", () => {
  it("says an unresolvable API host plainly and names the variable to check", () => {
    const err = errorFromNetworkFailure(dnsError("ENOTFOUND", "api.minimax.io"), {
      provider: "minimax",
      label: "MiniMax",
    });
    expect(describeForCli(err, ctx)).toBe(
      "Could not resolve api.minimax.io: check MINIMAX_API_URL and your network.",
    );
  });

  it("finds the DNS failure through a wrapping error (fetch-style `cause`)", () => {
    const wrapped = new TypeError("fetch failed", { cause: dnsError("ENOTFOUND", "cdn.example.net") });
    const err = new RetryableError("MiniMax connection failed: fetch failed", {
      provider: "minimax",
      cause: wrapped,
    });
    expect(describeForCli(err, ctx)).toBe("Could not resolve cdn.example.net: check your network and DNS.");
  });

  it("calls only EAI_AGAIN possibly momentary", () => {
    const err = errorFromNetworkFailure(dnsError("EAI_AGAIN", "api.minimax.io"), {
      provider: "minimax",
      label: "MiniMax",
    });
    expect(describeForCli(err, ctx)).toBe(
      "Could not resolve api.minimax.io right now (the DNS lookup failed, possibly for a moment): check MINIMAX_API_URL and your network, then try again.",
    );
  });

  it("names the AI/ML API variables for that provider", () => {
    const actx = { provider: "aimlapi", apiUrl: "https://api.aimlapi.com", voiceId: "x" } as const;
    expect(describeNetworkFailure("ENOTFOUND", "api.aimlapi.com", actx)).toBe(
      "Could not resolve api.aimlapi.com: check AIMLAPI_API_URL and your network.",
    );
    expect(describeForCli(new AuthError("401", { provider: "aimlapi", httpStatus: 401 }), actx)).toBe(
      "The speech service rejected the API key: check AIMLAPI_API_KEY.",
    );
  });

  it("points an unknown voice at --list-voices, never at the bot's /voices", () => {
    const err = new InvalidInputError("voice id not exist", { provider: "minimax", code: 2054 });
    const said = describeForCli(err, ctx);
    expect(said).toBe(
      'The voice "Calm_Woman" does not exist or is not available to this account: list voices with --list-voices.',
    );
  });

  it("does not call a refused connection temporary", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8701"), { code: "ECONNREFUSED" });
    const err = errorFromNetworkFailure(cause, { provider: "minimax", label: "MiniMax" });
    expect(describeForCli(err, { ...ctx, apiUrl: "http://127.0.0.1:8701" })).toBe(
      "http://127.0.0.1:8701 refused the connection: check MINIMAX_API_URL and that the service is up.",
    );
  });
});
