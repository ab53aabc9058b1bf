import { EventEmitter } from "node:events";
import type { Client } from "discord.js";
import { Events } from "discord.js";
import { describe, expect, it } from "vitest";
import { watchShards } from "../../../src/discord/sharding/shard-events.ts";

/** A client stand-in: shard events and a guild cache with each guild's shard. */
function setup(inVoice: string[]) {
  const client = Object.assign(new EventEmitter(), {
    guilds: {
      cache: new Map([
        ["g0", { id: "g0", shardId: 0 }],
        ["g1", { id: "g1", shardId: 1 }],
        ["g2", { id: "g2", shardId: 1 }],
        ["g3", { id: "g3", shardId: 1 }],
      ]),
    },
  });
  const voice = new Set(inVoice);
  const left: string[] = [];
  const states: [number, boolean][] = [];
  const warnings: object[] = [];
  const stop = watchShards({
    client: client as unknown as Client,
    voice: {
      status: (id) => (voice.has(id) ? {} : undefined),
      leave: (id) => {
        left.push(id);
        return voice.delete(id);
      },
    },
    logger: { info: () => {}, warn: (obj) => warnings.push(obj) },
    onShardState: (id, ready) => states.push([id, ready]),
  });
  return { client, left, states, warnings, stop };
}

describe("watchShards", () => {
  it("keeps voice across the first login and a resume, and leaves the shard's voice channels on a new session", () => {
    const { client, left, states, warnings } = setup(["g0", "g1", "g2"]);
    client.emit(Events.ShardReady, 0);
    client.emit(Events.ShardReady, 1);
    client.emit(Events.ShardReconnecting, 1);
    client.emit(Events.ShardResume, 1, 3);
    expect(left).toEqual([]);
    client.emit(Events.ShardReady, 1); // a new session: the old voice sessions are gone
    expect(left.sort()).toEqual(["g1", "g2"]);
    expect(warnings).toEqual([{ shard: 1, voiceSessions: 2 }]);
    expect(states).toEqual([
      [0, true],
      [1, true],
      [1, false],
      [1, true],
      [1, true],
    ]);
  });

  it("leaves the voice channels of a shard that closed for good, and stops listening when asked", () => {
    const { client, left, states, stop } = setup(["g0", "g3"]);
    client.emit(Events.ShardReady, 0);
    client.emit(Events.ShardDisconnect, { code: 4014 }, 0);
    expect(left).toEqual(["g0"]);
    expect(states.at(-1)).toEqual([0, false]);
    stop();
    client.emit(Events.ShardDisconnect, { code: 4014 }, 1);
    expect(left).toEqual(["g0"]);
  });
});
