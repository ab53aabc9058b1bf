import { type Client, type CloseEvent, Events } from "discord.js";

/**
 * What follows a shard's life in this process:
 * - a shard that logs in again with a new session (after an invalidated session or a connection
 *   that could not be resumed) or closes for good leaves the voice channels of its servers: their
 *   voice sessions were bound to the old gateway session, and Discord drops them with it. The
 *   members get the usual notice and can call the bot back. (Resuming keeps them.)
 * - each shard's state for `/metrics` (`discord_shard_ready{shard="…"}`).
 * discord.js reconnects a shard that died by itself; a process that died is restarted by the process
 * manager (systemd, compose's `restart:`, Kubernetes).
 */

export interface ShardVoice {
  /** Whether the bot is in voice there (a status exists). */
  status(guildId: string): unknown;
  leave(guildId: string, reason: "failed"): boolean;
}

export interface ShardEventsDeps {
  client: Client;
  voice: ShardVoice;
  logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** Told each shard's readiness (1 ready, 0 not). */
  onShardState?: (shardId: number, ready: boolean) => void;
}

export function watchShards(deps: ShardEventsDeps): () => void {
  const { client, voice, logger } = deps;
  const sessions = new Set<number>();

  function leaveVoiceOf(shardId: number, why: string): void {
    let left = 0;
    for (const guild of client.guilds.cache.values()) {
      if (guild.shardId !== shardId || voice.status(guild.id) === undefined) continue;
      if (voice.leave(guild.id, "failed")) left += 1;
    }
    if (left > 0) logger.warn({ shard: shardId, voiceSessions: left }, `${why}; left its voice channels`);
  }

  const onReady = (shardId: number) => {
    deps.onShardState?.(shardId, true);
    // The first READY is the login; a later one is a new session replacing a lost one.
    if (sessions.has(shardId)) leaveVoiceOf(shardId, "shard logged in again with a new session");
    sessions.add(shardId);
  };
  const onResume = (shardId: number) => deps.onShardState?.(shardId, true);
  const onReconnecting = (shardId: number) => deps.onShardState?.(shardId, false);
  const onDisconnect = (_event: CloseEvent, shardId: number) => {
    deps.onShardState?.(shardId, false);
    leaveVoiceOf(shardId, "shard closed for good");
  };
  client.on(Events.ShardReady, onReady);
  client.on(Events.ShardResume, onResume);
  client.on(Events.ShardReconnecting, onReconnecting);
  client.on(Events.ShardDisconnect, onDisconnect);
  return () => {
    client.off(Events.ShardReady, onReady);
    client.off(Events.ShardResume, onResume);
    client.off(Events.ShardReconnecting, onReconnecting);
    client.off(Events.ShardDisconnect, onDisconnect);
  };
}
