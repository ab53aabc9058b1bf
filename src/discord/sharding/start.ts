import { type Client, Routes } from "discord.js";
import type { Logger } from "../../logger.ts";
import type { Metrics } from "../../metrics/registry.ts";
import { explainDiscordError, useShards } from "../client.ts";
import {
  describeShards,
  globalRequestShare,
  resolveShardPlan,
  type ShardConfig,
  type ShardPlan,
} from "./plan.ts";
import { type ShardVoice, watchShards } from "./shard-events.ts";

/**
 * Before login: the shards this process opens (SHARD_COUNT=auto asks GET /gateway/bot), the shard
 * list as a label on every metric, and the shard events followed (voice clean-up, readiness gauge).
 */
export async function startSharding(deps: {
  client: Client;
  config: { shards: ShardConfig; discord: { token: string | undefined; apiUrl: string } };
  logger: Logger;
  metrics: Metrics;
  voice: ShardVoice;
}): Promise<{ plan: ShardPlan; stop: () => void }> {
  const { client, config, logger, metrics } = deps;
  const plan = await resolveShardPlan(config.shards, async () => {
    try {
      if (config.discord.token) client.rest.setToken(config.discord.token);
      const info = (await client.rest.get(Routes.gatewayBot())) as { shards: number };
      return info.shards;
    } catch (err) {
      throw explainDiscordError(err, { apiUrl: config.discord.apiUrl }) ?? err;
    }
  });
  useShards(client, plan);
  // Discord counts the global limit per bot token, across every process: each keeps its share. (A
  // fleet that needs the whole limit wherever the load is can put a REST proxy in DISCORD_API_URL.)
  const share = globalRequestShare(plan);
  const rest = client.rest.options as { globalRequestsPerSecond: number };
  if (share < rest.globalRequestsPerSecond) rest.globalRequestsPerSecond = share;
  const label = describeShards(plan.shardIds);
  metrics.registry.setDefaultLabels({ shards: label });
  for (const id of plan.shardIds) metrics.shardReady.set({ shard: String(id) }, 0);
  logger.info(
    { shards: label, shardCount: plan.shardCount, globalRequestsPerSecond: rest.globalRequestsPerSecond },
    "gateway shards of this process",
  );
  const stop = watchShards({
    client,
    voice: deps.voice,
    logger,
    onShardState: (id, ready) => metrics.shardReady.set({ shard: String(id) }, ready ? 1 : 0),
  });
  return { plan, stop };
}

/**
 * Slash commands are synced by one process of a fleet: the one running shard 0 (every fleet has
 * exactly one, and a restart of it syncs again). The sync itself compares with what Discord has.
 */
export function syncsCommands(client: Client): boolean {
  const shards = client.options.shards;
  return Array.isArray(shards) ? shards.includes(0) : true;
}
