import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { describeTtsError, ProviderBusyError, type TtsError } from "../speech/errors.ts";

/**
 * What the CLI tells its operator. The bot's own sentences (`describeTtsError`) speak to Discord
 * members ("see /voices", "the bot owner"); here the reader is the one holding the configuration, so
 * messages name the flag or environment variable to change.
 */

export interface CliContext {
  provider: "minimax" | "aimlapi";
  /** The configured API base URL. */
  apiUrl: string;
  voiceId: string;
}

const ENV = {
  minimax: { url: "MINIMAX_API_URL", key: "MINIMAX_API_KEY" },
  aimlapi: { url: "AIMLAPI_API_URL", key: "AIMLAPI_API_KEY" },
} as const;

/** MiniMax / AI/ML API codes for a voice id the account cannot use. */
const UNKNOWN_VOICE_CODES = new Set([2054, 20132, 2042]);

/** One line (two at most) for a provider failure, worded for the command line. */
export function describeForCli(err: TtsError, ctx: CliContext): string {
  const env = ENV[ctx.provider];
  if (err.kind === "retryable" || err.kind === "upstream") {
    const network = networkCause(err);
    if (network) {
      const said = describeNetworkFailure(network.code, network.host ?? hostOf(ctx.apiUrl), ctx);
      if (said) return said;
    }
  }
  switch (err.kind) {
    case "retryable":
      if (err instanceof ProviderBusyError) return describeTtsError(err);
      if (err.rateLimited) {
        return "The speech service is rate limiting this account; wait a minute and try again (TTS_RATE_LIMIT_RPM sets the pace).";
      }
      return "The speech service failed or did not answer in time, even after retries; try again shortly.";
    case "auth":
      return `The speech service rejected the API key: check ${env.key}.`;
    case "invalid":
      if (err.code !== undefined && UNKNOWN_VOICE_CODES.has(err.code)) {
        return ctx.provider === "minimax"
          ? `The voice "${ctx.voiceId}" does not exist or is not available to this account: list voices with --list-voices.`
          : `The voice "${ctx.voiceId}" does not exist or is not available to this account: check --voice (or TTS_DEFAULT_VOICE).`;
      }
      return describeTtsError(err);
    default:
      return describeTtsError(err);
  }
}

/**
 * A network failure said honestly: a name that does not resolve is a configuration or network
 * problem, not a passing one. Undefined for failures without a specific sentence.
 */
export function describeNetworkFailure(
  code: string,
  host: string,
  ctx: Pick<CliContext, "provider" | "apiUrl">,
): string | undefined {
  const env = ENV[ctx.provider];
  const apiHost = hostOf(ctx.apiUrl);
  const check = host === apiHost ? `check ${env.url} and your network` : "check your network and DNS";
  switch (code) {
    case "ENOTFOUND":
      return `Could not resolve ${host}: ${check}.`;
    case "EAI_AGAIN":
      return `Could not resolve ${host} right now (the DNS lookup failed, possibly for a moment): ${check}, then try again.`;
    case "ECONNREFUSED":
      return host === apiHost
        ? `${ctx.apiUrl} refused the connection: check ${env.url} and that the service is up.`
        : `${host} refused the connection.`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${host} cannot be reached from this machine: check your network.`;
    default:
      return undefined;
  }
}

/**
 * Resolves the API host before anything is sent, so a wrong MINIMAX_API_URL fails at once with one
 * line instead of after a round of retries. Undefined when it resolves (or is an address).
 */
export async function checkApiHost(
  ctx: Pick<CliContext, "provider" | "apiUrl">,
  signal: AbortSignal,
): Promise<string | undefined> {
  const host = hostOf(ctx.apiUrl);
  if (isIP(host.replace(/^\[|\]$/g, "")) !== 0) return undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  try {
    await Promise.race([lookup(host), aborted]);
    return undefined;
  } catch (e) {
    if (signal.aborted) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    // Anything else (a resolver oddity) is left to the request itself to report.
    return code ? describeNetworkFailure(code, host, ctx) : undefined;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

/** The socket-level code (and host, for DNS failures) behind a provider error, through `cause` chains. */
function networkCause(err: TtsError): { code: string; host: string | undefined } | undefined {
  let cause: unknown = err.cause;
  for (let depth = 0; depth < 4 && typeof cause === "object" && cause !== null; depth++) {
    const c = cause as { code?: unknown; hostname?: unknown; message?: unknown; cause?: unknown };
    if (typeof c.code === "string") {
      const fromMessage =
        typeof c.message === "string" ? /(?:ENOTFOUND|EAI_AGAIN)\s+(\S+)/.exec(c.message)?.[1] : undefined;
      return { code: c.code, host: typeof c.hostname === "string" ? c.hostname : fromMessage };
    }
    cause = c.cause;
  }
  return undefined;
}
