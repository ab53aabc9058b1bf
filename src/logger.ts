import { createRequire } from "node:module";
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * Field paths that hold secrets anywhere a log call might pass them (config objects, undici/Discord
 * request options, error objects that carry request headers).
 */
export const REDACT_PATHS = [
  "token",
  "apiKey",
  "api_key",
  "authorization",
  "Authorization",
  "password",
  "*.token",
  "*.apiKey",
  "*.api_key",
  "*.authorization",
  "*.Authorization",
  "*.DISCORD_TOKEN",
  "*.MINIMAX_API_KEY",
  "*.AIMLAPI_API_KEY",
  "headers.authorization",
  "headers.Authorization",
  "*.headers.authorization",
  "*.headers.Authorization",
  "req.headers.authorization",
  "request.headers.authorization",
  "err.request.headers.authorization",
  "config.discord.token",
  "config.minimax.apiKey",
  "config.aimlapi.apiKey",
];

const BEARER = /\b(Bearer|Bot)\s+[A-Za-z0-9._~+/=-]{8,}/g;

export interface LoggerOptions {
  level: string;
  /** Literal secret values (tokens, keys): replaced wherever they appear in a line, even inside messages. */
  secrets?: string[];
  /** Human-readable output with pino-pretty (development only; it is a dev dependency). */
  pretty?: boolean;
  /** Where lines go; stdout by default. Tests pass a collecting stream. */
  destination?: DestinationStream;
}

/**
 * Path-based redaction covers structured fields; the line scrubber is the safety net for secrets that
 * end up inside strings (an error message quoting a header, a URL with a key in it).
 */
export function createLogger(opts: LoggerOptions): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 6);
  const scrub = (line: string): string => {
    let out = line.replace(BEARER, "$1 [Redacted]");
    for (const s of secrets) out = out.replaceAll(s, "[Redacted]");
    return out;
  };
  const options = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: "[Redacted]" },
    hooks: { streamWrite: scrub },
    base: undefined,
  };
  if (opts.destination) return pino(options, opts.destination);
  if (opts.pretty) {
    const pretty = loadPretty();
    if (pretty) return pino(options, pretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l" }));
  }
  return pino(options);
}

type PrettyFactory = (o: Record<string, unknown>) => DestinationStream;

function loadPretty(): PrettyFactory | undefined {
  try {
    const require = createRequire(import.meta.url);
    return require("pino-pretty") as PrettyFactory;
  } catch {
    // A production install (npm ci --omit=dev) has no pino-pretty: fall back to JSON lines.
    return undefined;
  }
}
