import { Redis } from "ioredis";
import type { Logger } from "../../logger.ts";
import type { DiscordClientOptions } from "../client.ts";
import { botIdFromToken, createRedisIdentifyThrottler } from "./identify-throttler.ts";

/**
 * What the processes of a fleet share for the gateway: with STORAGE_URL=redis://… the IDENTIFY
 * throttler lives in that Redis, so shards on every process and machine keep Discord's
 * `max_concurrency` rule together. With SQLite (one process) discord.js's own throttler is right.
 */

export interface ShardCoordinator {
  /** For `createDiscordClient`; undefined keeps discord.js's in-process throttler. */
  buildIdentifyThrottler: DiscordClientOptions["buildIdentifyThrottler"];
  close(): Promise<void>;
}

export function createShardCoordinator(opts: { storageUrl: string; logger: Logger }): ShardCoordinator {
  if (!/^rediss?:\/\//.test(opts.storageUrl)) {
    return { buildIdentifyThrottler: undefined, close: async () => {} };
  }
  let redis: Redis | undefined;
  const connection = () => {
    if (redis) return redis;
    redis = new Redis(opts.storageUrl, {
      lazyConnect: true,
      // Every call has a deadline: a Redis that does not answer fails the call, and the throttler
      // logs and tries again rather than letting a shard identify outside the rule.
      commandTimeout: 2000,
      maxRetriesPerRequest: 1,
    });
    redis.on("error", (err) => opts.logger.debug({ err }, "identify throttler: Redis connection error"));
    return redis;
  };
  let warned = 0;
  return {
    async buildIdentifyThrottler(manager) {
      const info = await manager.fetchGatewayInformation();
      const maxConcurrency = info.session_start_limit.max_concurrency;
      opts.logger.debug({ maxConcurrency }, "identify throttled through Redis");
      return createRedisIdentifyThrottler({
        redis: connection(),
        maxConcurrency,
        botId: botIdFromToken(manager.options.token),
        onError: (err) => {
          // One warning per minute at most: a Redis outage must not flood the log.
          if (Date.now() - warned < 60_000) return;
          warned = Date.now();
          opts.logger.warn({ err }, "identify throttler: Redis did not answer; shards wait to log in");
        },
      });
    },
    async close() {
      if (!redis) return;
      // Nothing to flush (the keys expire by themselves), and QUIT would wait for a Redis that is down.
      redis.disconnect();
      redis = undefined;
    },
  };
}
