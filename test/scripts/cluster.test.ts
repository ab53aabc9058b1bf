import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shardRanges } from "../../scripts/cluster.ts";
import { type FakeDiscordFleet, startFakeDiscordFleet } from "../fakes/discord/fleet.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";

/** `npm run cluster`: CLUSTERS processes, a shard range each, on a redis-server it starts itself. */

const SCRIPT = fileURLToPath(new URL("../../scripts/cluster.ts", import.meta.url));
let discord: FakeDiscordFleet;
let minimax: FakeMiniMax;
let dir: string;

beforeAll(async () => {
  discord = await startFakeDiscordFleet({ guilds: 3, shards: 4, maxConcurrency: 4 });
  minimax = await startFakeMiniMax({ apiKey: "cluster-key" });
  dir = await mkdtemp(join(tmpdir(), "bot-cluster-"));
});
afterAll(async () => {
  await discord?.close();
  await minimax?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("shardRanges", () => {
  it.each([
    [2, 2, [[0], [1]]],
    [
      4,
      2,
      [
        [0, 1],
        [2, 3],
      ],
    ],
    [
      5,
      2,
      [
        [0, 1],
        [2, 3, 4],
      ],
    ],
    [1, 3, [[0]]],
  ])("%i shards in %i processes → %j", (count, processes, ranges) => {
    expect(shardRanges(count, processes)).toEqual(ranges);
  });
});

describe("npm run cluster", () => {
  it("starts CLUSTERS processes with SHARD_COUNT=auto on its own Redis, and stops them all on SIGTERM", async () => {
    const child = spawn(process.execPath, [SCRIPT], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? "",
        CLUSTERS: "2",
        SHARD_COUNT: "auto",
        DISCORD_TOKEN: discord.botToken,
        DISCORD_API_URL: discord.apiUrl,
        MINIMAX_API_URL: minimax.url,
        MINIMAX_API_KEY: "cluster-key",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const started = Date.now();
    while ((out.match(/"logged in to Discord"/g) ?? []).length < 2) {
      if (child.exitCode !== null || Date.now() - started > 60_000)
        throw new Error(`cluster did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(
      discord.identifies
        .filter((i) => i.accepted)
        .map((i) => i.shardId)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
    expect(out).toContain('"msg":"started a redis-server for this cluster (no persistence)"');
    expect(out).toMatch(/"shards":"0,1"[^\n]*"msg":"gateway shards of this process"/);
    expect(out).toMatch(/"shards":"2,3"[^\n]*"msg":"gateway shards of this process"/);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(0);
    for (let i = 0; i < 100 && discord.gateway.readySessions().length > 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(discord.gateway.readySessions()).toEqual([]);
  }, 90_000);
});
