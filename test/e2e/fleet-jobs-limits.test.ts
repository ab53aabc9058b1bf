import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Fleet, startFleet } from "./fleet/harness.ts";

/**
 * MiniMax's synthesis limit held by the fleet, not per process: 2 real bot processes on one Redis,
 * `TTS_RATE_LIMIT_RPM=4` on each, the fake MiniMax allowing 4 per sliding minute. Four `/speak` (two on
 * each process) use the account's minute; the next ones, on either process, wait in line (and are told
 * so) instead of going out: one budget per process would have sent them, and MiniMax would refuse them.
 */

const RPM = 4;
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({
    guilds: 4,
    shards: 2,
    processes: [{ SHARD_IDS: "0" }, { SHARD_IDS: "1" }],
    env: { TTS_RATE_LIMIT_RPM: String(RPM) },
    minimax: { rpm: RPM },
  });
}, 120_000);

afterAll(async () => {
  await fleet?.close();
}, 30_000);

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;
const synthesis = () => fleet.minimax.requests.filter((r) => r.path === "/v1/t2a_v2");

describe("the account's synthesis limit across a fleet", () => {
  it("sends no more than TTS_RATE_LIMIT_RPM per minute from both processes together", async () => {
    // Guilds of both shards, so both processes speak.
    const shards = fleet.guildIds.map((id) => fleet.discord.shardOf(id));
    expect(new Set(shards)).toEqual(new Set([0, 1]));
    const first = fleet.guildIds.map((_, i) =>
      fleet.command(i, { name: "speak", options: { text: `First words in guild ${i + 1}.` } }),
    );
    await Promise.all(first.map((h) => h.waitForResponse(hasFiles, 20_000)));
    expect(synthesis()).toHaveLength(RPM);

    // One more on each process: the fleet's minute is used up, so both wait in line and say so.
    const byShard = [shards.indexOf(0), shards.indexOf(1)];
    const more = byShard.map((guild) =>
      fleet.command(guild, { name: "speak", options: { text: "One more, please." } }),
    );
    for (const h of more) {
      const notice = await h.waitForResponse((m) => m.content.includes("in line"), 20_000);
      expect(notice.content).toMatch(/^⏳ You are #\d+ in line; about /);
    }
    // Nothing beyond the budget reached MiniMax, and nothing it had to refuse.
    expect(synthesis()).toHaveLength(RPM);
  });
});
