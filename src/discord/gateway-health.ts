import { type Client, type CloseEvent, Events, Status } from "discord.js";
import type { GatewayState } from "../metrics/health.ts";

/**
 * The gateway connection as `/healthz` reports it, kept from the client's shard events:
 * - `ready`: connected and identified (or resumed);
 * - `reconnecting`: connecting for the first time, or lost and coming back by itself (discord.js
 *   resumes or identifies again);
 * - `gone`: closed for good (an unrecoverable close code, an invalidated session, or the client was
 *   destroyed) — only a restart brings it back.
 *
 * Each transition is logged once: losing the connection is a warning, getting it back is info, and
 * losing it for good is an error.
 */

export interface GatewayHealthLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface GatewayHealth {
  state(): GatewayState;
  /** Each shard of this process, by id (a process of a fleet runs several). */
  shards(): Record<string, GatewayState>;
  /** Stops listening (the client is being destroyed); the state is `gone` from then on. */
  close(): void;
}

export function watchGateway(client: Client, logger: GatewayHealthLogger): GatewayHealth {
  let current: GatewayState = client.ws.status === Status.Ready ? "ready" : "reconnecting";
  let everReady = current === "ready";
  let closed = false;

  function move(next: GatewayState, details: Record<string, unknown>): void {
    if (closed || next === current) return;
    current = next;
    if (next === "ready") {
      // The first connection is logged by the app ("logged in to Discord"); only comebacks here.
      if (everReady) logger.info(details, "Discord gateway connection is back");
      everReady = true;
    } else if (next === "reconnecting") {
      logger.warn(details, "lost the Discord gateway connection; reconnecting");
    } else {
      logger.error(details, "the Discord gateway connection is gone and will not come back by itself");
    }
  }

  const onReady = (shard: number) => move("ready", { shard });
  const onResume = (shard: number, replayed: number) => move("ready", { shard, replayed });
  const onReconnecting = (shard: number) => move("reconnecting", { shard });
  const onDisconnect = (event: CloseEvent, shard: number) => move("gone", { shard, code: event.code });
  const onInvalidated = () => move("gone", { reason: "session invalidated" });
  client.on(Events.ShardReady, onReady);
  client.on(Events.ShardResume, onResume);
  client.on(Events.ShardReconnecting, onReconnecting);
  client.on(Events.ShardDisconnect, onDisconnect);
  client.on(Events.Invalidated, onInvalidated);

  return {
    state() {
      if (closed) return "gone";
      if (current !== "ready") return current;
      // The events say ready; a shard the manager already counts as down wins (events can lag).
      const shards = [...client.ws.shards.values()];
      if (shards.some((s) => s.status === Status.Disconnected)) return "gone";
      // With several shards, one back is not all back: the process is ready once every shard is.
      if (shards.some((s) => s.status !== Status.Ready)) return "reconnecting";
      return current;
    },
    shards() {
      const out: Record<string, GatewayState> = {};
      for (const [id, shard] of client.ws.shards) {
        out[String(id)] = closed
          ? "gone"
          : shard.status === Status.Ready
            ? "ready"
            : shard.status === Status.Disconnected
              ? "gone"
              : "reconnecting";
      }
      return out;
    },
    close() {
      if (closed) return;
      closed = true;
      client.off(Events.ShardReady, onReady);
      client.off(Events.ShardResume, onResume);
      client.off(Events.ShardReconnecting, onReconnecting);
      client.off(Events.ShardDisconnect, onDisconnect);
      client.off(Events.Invalidated, onInvalidated);
    },
  };
}
