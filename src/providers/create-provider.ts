import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";
import type { TtsProvider } from "../speech/types.ts";
import { AimlApiClient, createAimlApiProvider } from "./aimlapi/index.ts";
import type { RetryPolicy } from "./http/client-options.ts";
import type { Limiter } from "./http/rate-limiter.ts";
import { createMiniMaxProvider, MiniMaxClient } from "./minimax/index.ts";

export interface ProviderHandle {
  provider: TtsProvider;
  /** Closes the provider's connection pool. */
  close(): Promise<void>;
}

export interface ProviderTuning {
  /** Retry policy for retryable failures (tests shorten the backoff). */
  retry?: RetryPolicy;
  /**
   * The account's budgets when they are shared by a fleet (see `sharedProviderLimiters`); without
   * them each client keeps its own in-process limiters.
   */
  limiters?: Partial<Record<"synthesis" | "query" | "files" | "design", Limiter>>;
}

/** Builds the configured provider. The bot and the CLI both come through here, so they share one code path. */
export function createProvider(config: Config, logger: Logger, tuning: ProviderTuning = {}): ProviderHandle {
  const log = logger.child({ provider: config.tts.provider });
  // The options both clients share, under the same names.
  const common = {
    synthesisRpm: config.tts.rateLimitRpm,
    retry: tuning.retry,
    limiters: tuning.limiters,
    downloads: {
      allowedHosts: config.downloads.allowedHosts,
      allowLoopback: config.downloads.allowLoopback,
    },
    logger: log,
  };
  if (config.tts.provider === "aimlapi") {
    const client = new AimlApiClient({
      ...common,
      apiKey: requireKey(config.aimlapi.apiKey, "AIMLAPI_API_KEY"),
      baseUrl: config.aimlapi.apiUrl,
    });
    return { provider: createAimlApiProvider(client), close: () => client.close() };
  }
  const client = new MiniMaxClient({
    ...common,
    apiKey: requireKey(config.minimax.apiKey, "MINIMAX_API_KEY"),
    baseUrl: config.minimax.apiUrl,
    groupId: config.minimax.groupId,
    queryQps: config.tts.asyncPollQps,
    bodyLimits: { result: config.downloads.maxResultBytes },
  });
  return { provider: createMiniMaxProvider(client), close: () => client.close() };
}

function requireKey(key: string | undefined, name: string): string {
  // The config schema already refuses a missing key for the chosen provider; this keeps the types honest.
  if (!key) throw new Error(`${name} is not set`);
  return key;
}
