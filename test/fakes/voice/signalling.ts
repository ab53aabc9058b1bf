import type { FakeDiscord, GatewayOpContext } from "../discord/index.ts";
import type { SessionRegistry } from "./registry.ts";
import type { Json } from "./session.ts";

/**
 * The main-gateway half of joining voice: after the fake Discord's own op 4 handling has moved the bot
 * (and sent VOICE_STATE_UPDATE), send VOICE_SERVER_UPDATE with a fresh token. A request the fake
 * ignored (no CONNECT, full channel…) gets no answer, as on Discord. Leaving needs nothing here: the
 * world watcher ends the session once the bot's voice state is gone.
 */

export interface SignallingOptions {
  endpoint: string;
  /** Replaces the token sent to the client (the fake keeps expecting the one it issued). */
  tokenFor: (issued: string) => string;
}

export function installSignalling(
  discord: FakeDiscord,
  registry: SessionRegistry,
  options: SignallingOptions,
): () => void {
  const onVoiceStateUpdate = (d: unknown, ctx: GatewayOpContext) => {
    const body = (d ?? {}) as Json;
    const world = discord.state.world;
    if (body.guild_id !== world.guild.id || typeof body.channel_id !== "string") return;
    const record = discord.gatewayOps.findLast((r) => r.d === d);
    if (record?.ignoredReason !== undefined) return;
    if (world.voiceStates.get(world.botId)?.channelId !== body.channel_id) return;
    const token = registry.issueToken(world.guild.id);
    ctx.dispatch("VOICE_SERVER_UPDATE", {
      token: options.tokenFor(token),
      guild_id: world.guild.id,
      endpoint: options.endpoint,
    });
  };
  const unsubscribe = discord.onGatewayOp(4, onVoiceStateUpdate);
  const onWorldChange = () => registry.syncWithWorld();
  discord.state.bus.on("change", onWorldChange);
  return () => {
    unsubscribe();
    discord.state.bus.off("change", onWorldChange);
  };
}
