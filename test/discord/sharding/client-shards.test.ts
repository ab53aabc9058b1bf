import { afterEach, describe, expect, it } from "vitest";
import { createDiscordClient, useShards } from "../../../src/discord/client.ts";

/** discord.js reads SHARDS/SHARD_COUNT from the environment by itself; the bot's client must not. */

const saved = { SHARDS: process.env.SHARDS, SHARD_COUNT: process.env.SHARD_COUNT };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe("createDiscordClient and the shard variables", () => {
  it.each([
    [{ SHARD_COUNT: "2" }],
    [{ SHARD_COUNT: "auto" }],
    [{ SHARD_COUNT: "" }],
    [{ SHARDS: "[0,1,2]", SHARD_COUNT: "4" }],
  ])("ignores %j: one shard until the app chooses, and the environment is left as it was", async (env) => {
    Object.assign(process.env, env);
    const client = createDiscordClient({ apiUrl: "http://127.0.0.1:9/api" });
    try {
      expect(client.options.shards).toEqual([0]);
      expect(client.options.shardCount).toBe(1);
      for (const [name, value] of Object.entries(env)) expect(process.env[name]).toBe(value);
      useShards(client, { shardIds: [1, 3], shardCount: 4 });
      expect(client.options.shards).toEqual([1, 3]);
      expect(client.options.shardCount).toBe(4);
    } finally {
      await client.destroy();
    }
  });
});
