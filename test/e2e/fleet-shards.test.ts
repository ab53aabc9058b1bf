import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Fleet, startFleet } from "./fleet/harness.ts";

/**
 * Two real processes × 2 shards each (SHARD_COUNT=4, SHARD_IDS=0,1 and 2,3) on one Redis, 6 guilds,
 * max_concurrency 2: the buckets (shard % 2) are shared by shards in different processes (0 and 2,
 * 1 and 3), so only the Redis throttler keeps the logins apart.
 */

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({ guilds: 6, shards: 4, maxConcurrency: 2, processes: 2 });
}, 90_000);

afterAll(async () => {
  await fleet?.close();
}, 30_000);

describe("a fleet of 2 processes × 2 shards", () => {
  it("splits the shards in ranges and logs every shard in once, 5 s apart within a bucket", () => {
    expect(fleet.bots.map((b) => b.env.SHARD_IDS)).toEqual(["0,1", "2,3"]);
    const accepted = fleet.discord.identifies.filter((i) => i.accepted);
    expect(fleet.discord.identifies.filter((i) => !i.accepted)).toEqual([]);
    expect(accepted.map((i) => i.shardId).sort()).toEqual([0, 1, 2, 3]);
    for (const bucket of [0, 1]) {
      const times = accepted.filter((i) => i.bucket === bucket).map((i) => i.at);
      expect(times).toHaveLength(2);
      expect(Math.abs(times[1]! - times[0]!)).toBeGreaterThanOrEqual(5000);
    }
  });

  it("answers /speak exactly once in each of the 6 guilds", async () => {
    expect(new Set(fleet.guildIds.map((id) => fleet.discord.shardOf(id))).size).toBe(4);
    const handles = fleet.guildIds.map((_, i) =>
      fleet.command(i, { name: "speak", options: { text: `Guild number ${i + 1} speaking.` } }),
    );
    await Promise.all(
      handles.map((h) => h.waitForResponse((m: FakeMessage) => m.attachments.length > 0, 20_000)),
    );
    await new Promise((r) => setTimeout(r, 1000));
    for (const handle of handles) expect(handle.callbacks.map((c) => c.accepted)).toEqual([true]);
    expect(fleet.discord.commandWrites()).toHaveLength(1);
  });
});
