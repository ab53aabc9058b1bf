import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type FakeDiscordFleet, startFakeDiscordFleet } from "./fleet.ts";

/** The sharded fleet fake on the wire: identify rules, READY per shard, and events routed by shard. */

let fleet: FakeDiscordFleet | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await fleet?.close();
  fleet = undefined;
});

interface Frame {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** A raw gateway client that records every frame. */
async function connect(
  f: FakeDiscordFleet,
): Promise<{ ws: WebSocket; frames: Frame[]; closed: Promise<number> }> {
  const ws = new WebSocket(`${f.gatewayUrl}?v=10&encoding=json`);
  sockets.push(ws);
  const frames: Frame[] = [];
  ws.on("message", (data) => frames.push(JSON.parse(String(data)) as Frame));
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await once(ws, "open");
  return { ws, frames, closed };
}

function identify(ws: WebSocket, token: string, shard: unknown): void {
  ws.send(JSON.stringify({ op: 2, d: { token, intents: 1 | (1 << 7), properties: {}, shard } }));
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 3000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the sharded fleet fake", () => {
  it("answers GET /gateway/bot with its shards and max_concurrency", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 2, shards: 4, maxConcurrency: 16 });
    const res = await fetch(`${fleet.apiUrl}/v10/gateway/bot`, {
      headers: { authorization: `Bot ${fleet.botToken}` },
    });
    expect(await res.json()).toMatchObject({
      url: fleet.gatewayUrl,
      shards: 4,
      session_start_limit: { max_concurrency: 16 },
    });
    const refused = await fetch(`${fleet.apiUrl}/v10/gateway/bot`, {
      headers: { authorization: "Bot nope" },
    });
    expect(refused.status).toBe(401);
  });

  it("sends each shard READY and GUILD_CREATE for its own guilds, and routes events by (guild_id >> 22) % count", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 4, shards: 2, maxConcurrency: 2 });
    const f = fleet;
    const clients = [await connect(f), await connect(f)];
    identify(clients[0]!.ws, f.botToken, [0, 2]);
    identify(clients[1]!.ws, f.botToken, [1, 2]);
    for (const [shard, c] of clients.entries()) {
      const mine = f.guilds
        .filter((g) => f.shardOf(g.fixtures.guild.id, 2) === shard)
        .map((g) => g.fixtures.guild.id);
      expect(mine.length).toBeGreaterThan(0);
      const creates = await until(() => {
        const list = c.frames.filter((x) => x.t === "GUILD_CREATE");
        return list.length === mine.length ? list : undefined;
      }, "GUILD_CREATEs");
      const ready = c.frames.find((x) => x.t === "READY")!.d as { shard: number[]; guilds: { id: string }[] };
      expect(ready.shard).toEqual([shard, 2]);
      expect(ready.guilds.map((g) => g.id).sort()).toEqual([...mine].sort());
      expect(creates.map((x) => (x.d as { id: string }).id).sort()).toEqual([...mine].sort());
    }
    // A member joins voice in every guild: each event reaches its shard's connection only.
    for (const g of f.guilds) g.setVoiceState(g.fixtures.users.member.id, g.fixtures.channels.voice.id);
    for (const [shard, c] of clients.entries()) {
      const expected = f.guilds.filter((g) => f.shardOf(g.fixtures.guild.id, 2) === shard).length;
      const events = await until(() => {
        const list = c.frames.filter((x) => x.t === "VOICE_STATE_UPDATE");
        return list.length === expected ? list : undefined;
      }, "voice events");
      for (const e of events) expect(f.shardOf((e.d as { guild_id: string }).guild_id, 2)).toBe(shard);
      // Sequence numbers are per connection, without gaps.
      const seqs = c.frames.filter((x) => x.op === 0).map((x) => x.s);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
  });

  it("answers op 9 (d: false) to an IDENTIFY that breaks the bucket's 5 s rule, and lets other buckets in", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 2, shards: 4, maxConcurrency: 2 });
    const f = fleet;
    const [a, b, c] = [await connect(f), await connect(f), await connect(f)];
    identify(a.ws, f.botToken, [0, 4]);
    await until(() => a.frames.find((x) => x.t === "READY"), "READY of shard 0");
    identify(b.ws, f.botToken, [1, 4]); // bucket 1: allowed at once
    identify(c.ws, f.botToken, [2, 4]); // bucket 0 again within 5 s: refused
    await until(() => b.frames.find((x) => x.t === "READY"), "READY of shard 1");
    const invalid = await until(() => c.frames.find((x) => x.op === 9), "op 9");
    expect(invalid.d).toBe(false);
    expect(c.frames.some((x) => x.t === "READY")).toBe(false);
    expect(f.identifies.map((i) => [i.shardId, i.bucket, i.accepted, i.reason ?? null])).toEqual([
      [0, 0, true, null],
      [1, 1, true, null],
      [2, 0, false, "rate"],
    ]);
  });

  it("accepts the next IDENTIFY in a bucket once the (shortened) window has passed", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 1, shards: 2, maxConcurrency: 1, identifyWindowMs: 200 });
    const f = fleet;
    const [a, b] = [await connect(f), await connect(f)];
    identify(a.ws, f.botToken, [0, 2]);
    await until(() => a.frames.find((x) => x.t === "READY"), "READY of shard 0");
    await new Promise((r) => setTimeout(r, 250));
    identify(b.ws, f.botToken, [1, 2]);
    await until(() => b.frames.find((x) => x.t === "READY"), "READY of shard 1");
    expect(f.identifies.every((i) => i.accepted)).toBe(true);
  });

  it.each([
    [[2, 2], 4010],
    [[0, 0], 4010],
    ["0", 4010],
  ])("closes an IDENTIFY with shard %j with %i (Invalid shard)", async (shard, code) => {
    fleet = await startFakeDiscordFleet({ guilds: 1, shards: 2 });
    const c = await connect(fleet);
    identify(c.ws, fleet.botToken, shard);
    expect(await c.closed).toBe(code);
  });

  it("closes a shard count below what the guilds need with 4011 (Sharding required)", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 1, shards: 4, requiredShards: 2 });
    const c = await connect(fleet);
    identify(c.ws, fleet.botToken, [0, 1]);
    expect(await c.closed).toBe(4011);
  });

  it("forwards REST to the guild each route names, and shares the global commands", async () => {
    fleet = await startFakeDiscordFleet({ guilds: 3, shards: 1 });
    const f = fleet;
    const auth = { authorization: `Bot ${f.botToken}`, "content-type": "application/json" };
    const third = f.guilds[2]!;
    const sent = await fetch(`${f.apiUrl}/v10/channels/${third.fixtures.channels.text.id}/messages`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ content: "hello third guild" }),
    });
    expect(sent.status).toBe(200);
    expect(third.messagesIn(third.fixtures.channels.text.id).map((m) => m.content)).toEqual([
      "hello third guild",
    ]);
    expect(f.guilds[0]!.allMessages()).toEqual([]);
    const appId = f.guilds[0]!.fixtures.application.id;
    const put = await fetch(`${f.apiUrl}/v10/applications/${appId}/commands`, {
      method: "PUT",
      headers: auth,
      body: JSON.stringify([{ name: "speak", description: "Say it", type: 1 }]),
    });
    expect(put.status).toBe(200);
    for (const g of f.guilds) expect(g.registeredCommands().map((c) => c.name)).toEqual(["speak"]);
    expect(f.commandWrites()).toHaveLength(1);
  });
});
