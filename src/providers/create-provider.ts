import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { TtsProvider } from "../speech/types.ts";
import { createAimlApiClient, createAimlApiProvider } from "./aimlapi/index.ts";
import { createMiniMaxProvider, MiniMaxClient } from "./minimax/index.ts";

export interface ProviderHandle {
  provider: TtsProvider;
  /** Closes the provider's connection pool. */
  close(): Promise<void>;
}

export interface ProviderTuning {
  /** Retry policy for retryable failures (tests shorten the backoff). */
  retry?: { retries?: number; baseMs?: number; maxMs?: number };
}

/** Builds the configured provider. The bot and the CLI both come through here, so they share one code path. */
export function createProvider(config: Config, logger: Logger, tuning: ProviderTuning = {}): ProviderHandle {
  const log = logger.child({ provider: config.tts.provider });
  if (config.tts.provider === "aimlapi") {
    const client = createAimlApiClient({
      apiKey: requireKey(config.aimlapi.apiKey, "AIMLAPI_API_KEY"),
      baseUrl: config.aimlapi.apiUrl,
      requestsPerMinute: config.tts.rateLimitRpm,
      retries: tuning.retry?.retries,
      retryBaseMs: tuning.retry?.baseMs,
      retryMaxMs: tuning.retry?.maxMs,
      downloads: {
        allowedHosts: config.downloads.allowedHosts,
        allowLoopback: config.downloads.allowLoopback,
      },
      logger: log,
    });
    return { provider: createAimlApiProvider(client), close: () => client.close() };
  }
  const client = new MiniMaxClient({
    apiKey: requireKey(config.minimax.apiKey, "MINIMAX_API_KEY"),
    baseUrl: config.minimax.apiUrl,
    groupId: config.minimax.groupId,
    synthesisRpm: config.tts.rateLimitRpm,
    queryQps: config.tts.asyncPollQps,
    retry: tuning.retry,
    downloads: {
      allowedHosts: config.downloads.allowedHosts,
      allowLoopback: config.downloads.allowLoopback,
    },
    maxResultBytes: config.downloads.maxResultBytes,
    logger: log,
  });
  return { provider: createMiniMaxProvider(client), close: () => client.close() };
}

function requireKey(key: string | undefined, name: string): string {
  // The config schema already refuses a missing key for the chosen provider; this keeps the types honest.
  if (!key) throw new Error(`${name} is not set`);
  return key;
}
