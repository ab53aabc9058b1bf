import { DiscordSetupError } from "../client.ts";

/**
 * Which gateway shards this process runs. One process runs a fixed range of shards with discord.js's
 * own `shards`/`shardCount` client options; processes on one or many machines each get their range
 * from SHARD_IDS (see the README's "Running as a fleet" for why this over ShardingManager).
 */

export interface ShardConfig {
  /** SHARD_COUNT: a number, `auto` (Discord's recommendation), or unset (one shard). */
  count: number | "auto" | undefined;
  /** SHARD_IDS: this process's shards (unset: all of them). */
  ids: number[] | undefined;
}

export interface ShardPlan {
  shardIds: number[];
  shardCount: number;
}

/** Resolves SHARD_COUNT/SHARD_IDS; `recommended` (GET /gateway/bot's `shards`) is asked only for `auto`. */
export async function resolveShardPlan(
  config: ShardConfig,
  recommended: () => Promise<number>,
): Promise<ShardPlan> {
  const count = config.count === "auto" ? await recommended() : (config.count ?? 1);
  if (!Number.isInteger(count) || count < 1) {
    throw new DiscordSetupError(`Discord recommended ${count} shards, which is not a shard count.`);
  }
  const ids = config.ids ?? Array.from({ length: count }, (_, i) => i);
  const outside = ids.filter((id) => id >= count);
  if (outside.length > 0) {
    throw new DiscordSetupError(
      `SHARD_IDS names shard ${outside.join(", ")}, but there are ${count} shards` +
        `${config.count === "auto" ? " (SHARD_COUNT=auto, Discord's recommendation)" : ""}: ` +
        `use ids from 0 to ${count - 1}, or set SHARD_COUNT to a fixed number for every process.`,
    );
  }
  return { shardIds: [...ids], shardCount: count };
}

/** "0-3", "0,2", "5": how a shard list reads in logs and metric labels. */
export function describeShards(ids: readonly number[]): string {
  const sorted = [...ids].sort((a, b) => a - b);
  const contiguous = sorted.every((id, i) => i === 0 || id === sorted[i - 1]! + 1);
  if (sorted.length > 2 && contiguous) return `${sorted[0]}-${sorted.at(-1)}`;
  return sorted.join(",");
}

/** Discord's global limit on bot-token requests: 50 per second per bot, for the whole fleet. */
export const DISCORD_GLOBAL_REQUESTS_PER_SECOND = 50;

/**
 * This process's share of Discord's global request limit: its shards' fraction of the fleet, rounded
 * down, so the processes together (each shard run once) never exceed it. Interaction replies are
 * exempt from the limit (`interaction-rest.ts`), so the share only paces bot-token requests (posts in
 * channels, edits of cards, command sync). One process alone keeps the whole limit.
 */
export function globalRequestShare(plan: ShardPlan, perBot = DISCORD_GLOBAL_REQUESTS_PER_SECOND): number {
  return Math.max(1, Math.floor((perBot * plan.shardIds.length) / plan.shardCount));
}
