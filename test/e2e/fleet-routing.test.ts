import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Fleet, startFleet, waitFor } from "./fleet/harness.ts";

/**
 * Two real bot processes on one real Redis, 2 shards (one each, SHARD_IDS=0 and 1) and 4 guilds behind
 * the sharded fake Discord: each process opens only its shard, the logins keep the identify rate
 * (max_concurrency 1: both shards share one bucket), each guild's /speak is answered once, by the
 * process owning its shard, and the commands are registered once.
 */

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({
    guilds: 4,
    shards: 2,
    maxConcurrency: 1,
    processes: [{ SHARD_IDS: "0" }, { SHARD_IDS: "1" }],
  });
}, 90_000);

afterAll(async () => {
  await fleet?.close();
}, 30_000);

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;

describe("a fleet of 2 processes × 1 shard", () => {
  it("identifies each shard once, from its own process, without breaking the identify rate", () => {
    const identifies = fleet.discord.identifies;
    expect(identifies.filter((i) => !i.accepted)).toEqual([]);
    expect(identifies.map((i) => [i.shardId, i.shardCount]).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const [first, second] = [...identifies].sort((a, b) => a.at - b.at);
    // One bucket (max_concurrency 1): Discord's 5 s between the two logins.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(5000);
    // Each process says which shard it runs.
    for (const [index, shard] of [
      [0, "0"],
      [1, "1"],
    ] as const) {
      expect(fleet.logs(index).find((l) => l.msg === "gateway shards of this process")).toMatchObject({
        shards: shard,
        shardCount: 2,
        // Half of Discord's 50 bot-token requests per second each.
        globalRequestsPerSecond: 25,
      });
    }
  });

  it("answers /speak exactly once in every guild", async () => {
    const shards = new Set(fleet.guildIds.map((id) => fleet.discord.shardOf(id)));
    expect(shards).toEqual(new Set([0, 1]));
    const handles = fleet.guildIds.map((_, i) =>
      fleet.command(i, { name: "speak", options: { text: `Hello from guild ${i + 1}.` } }),
    );
    const replies = await Promise.all(handles.map((h) => h.waitForResponse(hasFiles, 20_000)));
    expect(replies).toHaveLength(4);
    // Give a second process time to answer too, if one were going to.
    await new Promise((r) => setTimeout(r, 1000));
    for (const handle of handles) {
      expect(handle.callbacks).toHaveLength(1);
      expect(handle.callbacks[0]!.accepted).toBe(true);
    }
    const synth = fleet.minimax.requests.filter((r) => r.path === "/v1/t2a_v2");
    expect(synth).toHaveLength(4);
  });

  it("registers the slash commands once for the whole fleet", () => {
    const writes = fleet.discord.commandWrites();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ method: "PUT" });
    expect(fleet.guild(0).registeredCommands().length).toBeGreaterThan(0);
  });

  it("reports its shard in /healthz and as a label in /metrics", async () => {
    for (const [index, shard] of [
      [0, "0"],
      [1, "1"],
    ] as const) {
      const health = await fleet.scrape(index, "/healthz");
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toMatchObject({ ok: true, shards: { [shard]: "ready" } });
      const metrics = await fleet.scrape(index, "/metrics");
      expect(metrics.body).toContain(`discord_shard_ready{shard="${shard}",shards="${shard}"} 1`);
    }
  });

  it("takes a SIGKILLed process's shard back when it restarts, within the identify rate", async () => {
    const index = fleet.discord.shardOf(fleet.guildIds[0]!) === 1 ? 0 : 1;
    const guildOfOther = fleet.guildIds.findIndex((id) => fleet.discord.shardOf(id) === index);
    await fleet.kill(index);
    await fleet.restart(index);
    await waitFor(
      () => fleet.discord.gateway.readySessions().filter((s) => s.shard[0] === index).length === 1,
      10_000,
      "the shard to be back",
    );
    const handle = fleet.command(guildOfOther, { name: "speak", options: { text: "Back again." } });
    await handle.waitForResponse(hasFiles, 20_000);
    expect(handle.callbacks).toHaveLength(1);
    expect(fleet.discord.identifies.filter((i) => !i.accepted)).toEqual([]);
    // The restarted process does not register the commands again unless it runs shard 0, and then
    // finds them unchanged.
    const synced = fleet.bots.flatMap((b) => b.logs.filter((l) => String(l.msg).includes("commands")));
    expect(fleet.discord.commandWrites(), JSON.stringify(synced)).toHaveLength(1);
  });
});
