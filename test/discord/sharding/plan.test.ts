import { describe, expect, it, vi } from "vitest";
import { DiscordSetupError } from "../../../src/discord/client.ts";
import { describeShards, globalRequestShare, resolveShardPlan } from "../../../src/discord/sharding/plan.ts";

describe("resolveShardPlan", () => {
  it.each([
    [
      { count: undefined, ids: undefined },
      { shardIds: [0], shardCount: 1 },
    ],
    [
      { count: 4, ids: undefined },
      { shardIds: [0, 1, 2, 3], shardCount: 4 },
    ],
    [
      { count: 4, ids: [1, 3] },
      { shardIds: [1, 3], shardCount: 4 },
    ],
  ] as const)("%j → %j without asking Discord", async (config, expected) => {
    const recommended = vi.fn(async () => 9);
    expect(
      await resolveShardPlan({ count: config.count, ids: config.ids && [...config.ids] }, recommended),
    ).toEqual(expected);
    expect(recommended).not.toHaveBeenCalled();
  });

  it("asks GET /gateway/bot's recommendation for auto", async () => {
    expect(await resolveShardPlan({ count: "auto", ids: undefined }, async () => 3)).toEqual({
      shardIds: [0, 1, 2],
      shardCount: 3,
    });
    expect(await resolveShardPlan({ count: "auto", ids: [2] }, async () => 3)).toEqual({
      shardIds: [2],
      shardCount: 3,
    });
  });

  it("refuses SHARD_IDS beyond Discord's recommended count with a line that says what to do", async () => {
    const plan = resolveShardPlan({ count: "auto", ids: [0, 4] }, async () => 2);
    await expect(plan).rejects.toBeInstanceOf(DiscordSetupError);
    await expect(plan).rejects.toThrow(/SHARD_IDS names shard 4, but there are 2 shards.*SHARD_COUNT=auto/);
  });
});

describe("describeShards", () => {
  it.each([
    [[0], "0"],
    [[0, 1], "0,1"],
    [[3, 1, 2, 0], "0-3"],
    [[0, 2, 4], "0,2,4"],
  ])("%j → %s", (ids, label) => {
    expect(describeShards(ids)).toBe(label);
  });
});

describe("globalRequestShare", () => {
  it.each([
    [[0], 1, 50],
    [[0, 1, 2, 3], 4, 50],
    [[0], 2, 25],
    [[0, 1], 4, 25],
    [[0], 3, 16],
    [[2], 64, 1],
  ])("shards %j of %i → %i requests per second", (shardIds, shardCount, share) => {
    expect(globalRequestShare({ shardIds, shardCount })).toBe(share);
  });

  it("never lets a fleet that runs every shard once exceed 50 per second", () => {
    for (const [count, processes] of [
      [2, 2],
      [3, 3],
      [7, 3],
      [16, 5],
    ] as const) {
      let total = 0;
      for (let p = 0; p < processes; p++) {
        const from = Math.floor((p * count) / processes);
        const to = Math.floor(((p + 1) * count) / processes);
        total += globalRequestShare({
          shardIds: Array.from({ length: to - from }, (_, i) => from + i),
          shardCount: count,
        });
      }
      expect(total).toBeLessThanOrEqual(50);
    }
  });
});
