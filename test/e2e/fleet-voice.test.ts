import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fleet, startFleet, waitFor } from "./fleet/harness.ts";

/**
 * Voice in a fleet: `/speak play:true` in a guild is played by the process that runs the guild's shard
 * (its VOICE_STATE_UPDATE goes out on that shard's connection) into that guild's voice server, and
 * nowhere else. A shard that logs in again with a new session leaves its guilds' voice channels.
 */

let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet({
    guilds: 4,
    shards: 2,
    maxConcurrency: 1,
    processes: [{ SHARD_IDS: "0" }, { SHARD_IDS: "1" }],
    voice: true,
    env: { VOICE_IDLE_TIMEOUT_SECONDS: "60" },
  });
}, 90_000);

afterAll(async () => {
  await fleet?.close();
}, 30_000);

const botChannel = (index: number) => {
  const world = fleet.guild(index).state.world;
  return world.voiceStates.get(world.botId)?.channelId ?? null;
};

describe("voice in a fleet", () => {
  it("plays /speak play:true in the caller's guild, from the process owning its shard", async () => {
    // One guild of each shard.
    const picks = [0, 1].map((shard) =>
      fleet.guildIds.findIndex((id) => fleet.discord.shardOf(id) === shard),
    );
    for (const index of picks) {
      const g = fleet.guild(index);
      const member = g.fixtures.users.member.id;
      g.setVoiceState(member, g.fixtures.channels.voice.id);
      const reply = await fleet
        .command(index, {
          name: "speak",
          user: member,
          options: { text: `Voice in guild ${index}.`, play: true },
        })
        .waitForResponse((m) => /Speaking in/.test(m.content), 20_000);
      expect(reply.content).toContain(`<#${g.fixtures.channels.voice.id}>`);
      const voice = fleet.voice[index]!;
      await waitFor(() => voice.sessions.some((s) => s.packets > 20), 20_000, `audio in guild ${index}`);
      expect(voice.sessions.every((s) => s.channelId === g.fixtures.channels.voice.id)).toBe(true);
    }
    // No other guild's voice server heard anything.
    fleet.voice.forEach((voice, index) => {
      if (!picks.includes(index)) expect(voice.sessions).toEqual([]);
    });
    // The join went out on the owning shard's connection only.
    for (const index of picks) {
      const guildId = fleet.guildIds[index]!;
      const joins = fleet.discord.gateway.ops.filter(
        (o) => o.op === 4 && (o.d as { guild_id?: string }).guild_id === guildId,
      );
      expect(joins.length).toBeGreaterThan(0);
      for (const join of joins) expect(join.shard).toEqual([fleet.discord.shardOf(guildId), 2]);
    }
  });

  it("leaves the voice channels of a shard whose session was invalidated, and comes back on a new session", async () => {
    const index = fleet.guildIds.findIndex((id) => fleet.discord.shardOf(id) === 1);
    expect(botChannel(index)).not.toBeNull();
    const g = fleet.guild(index);
    const before = g.messagesIn(g.fixtures.channels.text.id).length;
    // Discord drops the shard's connection and its session: the process identifies again.
    fleet.discord.gateway.disconnectShard(1, 4000, true);
    await waitFor(() => botChannel(index) === null, 20_000, "the bot to leave voice in that guild");
    const notice = await g.waitForMessage((m) => /lost the voice connection/.test(m.content), 10_000);
    expect(g.messagesIn(g.fixtures.channels.text.id).length).toBeGreaterThan(before);
    expect(notice.content).toMatch(/Use \/join/);
    const owner = fleet.bots.findIndex((b) => b.env.SHARD_IDS === "1");
    expect(fleet.logs(owner).find((l) => /left its voice channels/.test(String(l.msg)))).toMatchObject({
      shard: 1,
      voiceSessions: 1,
    });
    // The other shard's guild keeps its voice session.
    const other = fleet.guildIds.findIndex((id) => fleet.discord.shardOf(id) === 0);
    expect(botChannel(other)).not.toBeNull();
    // The shard is back and answers again, within the identify rate.
    await waitFor(
      () => fleet.discord.gateway.readySessions().some((s) => s.shard[0] === 1),
      20_000,
      "shard 1 back",
    );
    expect(fleet.discord.identifies.filter((i) => !i.accepted)).toEqual([]);
  });
});
