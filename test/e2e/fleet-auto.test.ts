import { afterEach, describe, expect, it } from "vitest";
import { type Fleet, startFleet, waitFor } from "./fleet/harness.ts";

/** SHARD_COUNT=auto: Discord's recommended count (GET /gateway/bot), checked against SHARD_IDS. */

let fleet: Fleet | undefined;
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
}, 30_000);

describe("SHARD_COUNT=auto", () => {
  it("opens every recommended shard when SHARD_IDS is not set", async () => {
    fleet = await startFleet({
      guilds: 3,
      shards: 2,
      maxConcurrency: 2,
      processes: [{}],
      env: { SHARD_COUNT: "auto" },
    });
    expect(fleet.logs(0).find((l) => l.msg === "gateway shards of this process")).toMatchObject({
      shards: "0,1",
      shardCount: 2,
    });
    expect(fleet.discord.identifies.map((i) => [i.shardId, i.shardCount, i.accepted]).sort()).toEqual([
      [0, 2, true],
      [1, 2, true],
    ]);
  }, 60_000);

  it("refuses, in one line, a SHARD_IDS beyond the recommended count", async () => {
    fleet = await startFleet({
      guilds: 1,
      shards: 2,
      processes: [{ SHARD_COUNT: "auto", SHARD_IDS: "1,2" }],
      waitReady: false,
    });
    const bot = fleet.bots[0]!;
    await waitFor(() => bot.child.exitCode !== null, 20_000, "the process to exit");
    expect(bot.child.exitCode).toBe(1);
    // The last line (a warning from elsewhere may come before it).
    expect(bot.stderr.trim().split("\n").at(-1)).toBe(
      "SHARD_IDS names shard 2, but there are 2 shards (SHARD_COUNT=auto, Discord's recommendation): " +
        "use ids from 0 to 1, or set SHARD_COUNT to a fixed number for every process.",
    );
    expect(fleet.discord.identifies).toEqual([]);
  }, 60_000);
});
