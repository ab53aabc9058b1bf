import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/redis-server.ts";
import {
  type FakeDiscordFleet,
  type FakeDiscordFleetOptions,
  startFakeDiscordFleet,
} from "../../fakes/discord/fleet.ts";
import type { DispatchCommandOptions, FakeDiscord, InteractionHandle } from "../../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../../fakes/index.ts";
import type { FakeMiniMaxOptions } from "../../fakes/minimax/options.ts";
import { FAKE_VOICE_CERT_PATH } from "../../fakes/voice/certificate.ts";
import { type FakeVoice, startFakeVoice } from "../../fakes/voice/index.ts";
import { type RedisServer, startRedisServer } from "../../storage/redis-server.ts";

/**
 * A fleet of real bot processes (`node bin/start.mjs`, as `npm start` runs it) on one real
 * `redis-server`, logged into the sharded fake Discord (several guilds, `fleet.ts`) with the fake
 * MiniMax behind them, all on loopback.
 *
 *   const fleet = await startFleet({ guilds: 4, shards: 2, processes: [{ SHARD_IDS: "0" }, { SHARD_IDS: "1" }] });
 *   const reply = await fleet.command(0, { name: "speak", options: { text: "hi" } }).waitForResponse();
 *   await fleet.kill(1);           // SIGKILL; resolves once the process is gone
 *   await fleet.restart(1);        // same env (plus extra), resolves when its shards are ready again
 *   fleet.logs(0)                  // that process's JSON log lines, parsed
 *   await fleet.close();
 *
 * - `processes`: one entry per bot process, the env it adds (SHARD_IDS…); a number N means N processes
 *   splitting the shards in contiguous ranges. Every process gets STORAGE_URL (the Redis), SHARD_COUNT
 *   (`shards`), DISCORD_*, MINIMAX_*, DOWNLOAD_ALLOW_LOOPBACK=true, its own METRICS_PORT, no cooldowns.
 * - `env`: added to every process (after the defaults, so it can override them).
 * - `voice: true`: a fake voice server per guild (`fleet.voice[i]`); the processes trust its certificate.
 * - Guild `i` is `fleet.guild(i)`, a whole single-guild `FakeDiscord` (dispatchCommand, waitForMessage,
 *   messagesIn, setVoiceState…); `fleet.discord` is the front (identifies, REST requests, shardOf).
 * - Each process runs in its own empty directory (no developer `.env`); only PATH is inherited.
 * - Readiness is read from the processes' "logged in to Discord" and "application commands …" info
 *   lines, so LOG_LEVEL stays info (the default here) or lower.
 */

export interface FleetOptions {
  guilds?: number;
  shards?: number;
  maxConcurrency?: number;
  processes?: number | Record<string, string>[];
  env?: Record<string, string>;
  minimax?: FakeMiniMaxOptions;
  discord?: Omit<FakeDiscordFleetOptions, "guilds" | "shards" | "maxConcurrency">;
  voice?: boolean;
  /** Wait for every process to log in (default true). */
  waitReady?: boolean;
}

export interface FleetBot {
  index: number;
  env: Record<string, string>;
  child: ChildProcess;
  metricsPort: number;
  /** Parsed JSON log lines (stdout) of every run of this process, in order. */
  logs: Record<string, unknown>[];
  /** Raw stderr (setup errors are printed there). */
  stderr: string;
}

export interface Fleet {
  redis: RedisServer;
  discord: FakeDiscordFleet;
  minimax: FakeMiniMax;
  voice: FakeVoice[];
  bots: FleetBot[];
  /** Guild ids, in guild order. */
  guildIds: string[];
  guild(index: number): FakeDiscord;
  /** A slash command in guild `index` (default user: that guild's member, channel: its text channel). */
  command(index: number, opts: DispatchCommandOptions): InteractionHandle;
  logs(bot: number): Record<string, unknown>[];
  /** Resolves once bot `index` logged in (its shards are ready). */
  waitReady(index: number, timeoutMs?: number): Promise<void>;
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  restart(index: number, extraEnv?: Record<string, string>): Promise<void>;
  /** GET `/metrics` or `/healthz` of a process. */
  scrape(index: number, path: "/metrics" | "/healthz"): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL("../../../bin/start.mjs", import.meta.url));
export const FLEET_MINIMAX_KEY = "fleet-key";

export async function startFleet(opts: FleetOptions = {}): Promise<Fleet> {
  if (/^(warn|error|fatal|silent)$/.test(opts.env?.LOG_LEVEL ?? "")) {
    throw new Error("startFleet: readiness is read from info log lines; keep LOG_LEVEL at info or lower");
  }
  const shards = opts.shards ?? 2;
  const redis = await startRedisServer();
  const minimax = await startFakeMiniMax({ apiKey: FLEET_MINIMAX_KEY, ...opts.minimax });
  const discord = await startFakeDiscordFleet({
    ...opts.discord,
    guilds: opts.guilds ?? 4,
    shards,
    maxConcurrency: opts.maxConcurrency ?? 1,
  });
  const voice = opts.voice ? await Promise.all(discord.guilds.map((g) => startFakeVoice(g))) : [];
  const perProcess = Array.isArray(opts.processes)
    ? opts.processes
    : splitShards(shards, opts.processes ?? 2).map((ids) => ({ SHARD_IDS: ids.join(",") }));
  const bots: FleetBot[] = [];
  const dirs: string[] = [];

  const baseEnv = (metricsPort: number): Record<string, string> => ({
    PATH: process.env.PATH ?? "",
    DISCORD_TOKEN: discord.botToken,
    DISCORD_API_URL: discord.apiUrl,
    MINIMAX_API_URL: minimax.url,
    MINIMAX_API_KEY: FLEET_MINIMAX_KEY,
    DOWNLOAD_ALLOW_LOOPBACK: "true",
    STORAGE_URL: redis.url,
    SHARD_COUNT: String(shards),
    METRICS_PORT: String(metricsPort),
    SPEAK_COOLDOWN_SECONDS: "0",
    SPEAK_MAX_CONCURRENT: "100",
    LOG_LEVEL: "info",
    ...(opts.voice ? { NODE_EXTRA_CA_CERTS: FAKE_VOICE_CERT_PATH } : {}),
  });

  function spawnBot(bot: FleetBot, dir: string): void {
    const child = spawn(process.execPath, [ENTRY], {
      cwd: dir,
      env: bot.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let pending = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          bot.logs.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          bot.logs.push({ msg: line, raw: true });
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      bot.stderr += chunk.toString();
    });
    bot.child = child;
  }

  for (const [index, extra] of perProcess.entries()) {
    const dir = await mkdtemp(join(tmpdir(), `bot-fleet-${index}-`));
    dirs.push(dir);
    const metricsPort = await freePort();
    const bot: FleetBot = {
      index,
      env: { ...baseEnv(metricsPort), ...opts.env, ...extra },
      child: undefined as unknown as ChildProcess,
      metricsPort,
      logs: [],
      stderr: "",
    };
    bots.push(bot);
    spawnBot(bot, dir);
  }

  const loggedInCount = (bot: FleetBot) => bot.logs.filter((l) => l.msg === "logged in to Discord").length;
  const runsReady = bots.map(() => 1);

  const fleet: Fleet = {
    redis,
    discord,
    minimax,
    voice,
    bots,
    guildIds: discord.guilds.map((g) => g.fixtures.guild.id),
    guild: (index) => discord.guilds[index]!,
    command(index, cmd) {
      const g = discord.guilds[index]!;
      return g.dispatchCommand({ channelId: g.fixtures.channels.text.id, ...cmd });
    },
    logs: (index) => bots[index]!.logs,
    async waitReady(index, timeoutMs = 30_000) {
      const bot = bots[index]!;
      await waitFor(
        () => {
          if (bot.child.exitCode !== null)
            throw new Error(`bot ${index} exited (${bot.child.exitCode}): ${bot.stderr.slice(-2000)}`);
          return loggedInCount(bot) >= runsReady[index]!;
        },
        timeoutMs,
        `bot ${index} to log in`,
      );
    },
    async kill(index, signal = "SIGKILL") {
      const child = bots[index]!.child;
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
    async restart(index, extraEnv = {}) {
      await fleet.kill(index);
      const bot = bots[index]!;
      Object.assign(bot.env, extraEnv);
      runsReady[index] = loggedInCount(bot) + 1;
      spawnBot(bot, dirs[index]!);
      await fleet.waitReady(index);
    },
    async scrape(index, path) {
      const res = await fetch(`http://127.0.0.1:${bots[index]!.metricsPort}${path}`, {
        signal: AbortSignal.timeout(5000),
      });
      return { status: res.status, body: await res.text() };
    },
    async close() {
      await Promise.all(bots.map((_, i) => fleet.kill(i, "SIGTERM").catch(() => undefined)));
      for (const v of voice) await v.close();
      await discord.close();
      await minimax.close();
      await redis.stop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
  if (opts.waitReady ?? true) {
    try {
      // Logins wait for each other through the identify rate (5 s per bucket): allow for it.
      const budget = 30_000 + Math.ceil(shards / (opts.maxConcurrency ?? 1)) * 6_000;
      await Promise.all(bots.map((_, i) => fleet.waitReady(i, budget)));
      // The process running shard 0 syncs the (global) commands once it is ready.
      await waitFor(
        () =>
          bots.some((b) =>
            b.logs.some((l) => /^application commands (registered|unchanged)$/.test(String(l.msg))),
          ),
        15_000,
        "the commands",
      );
    } catch (err) {
      await fleet.close();
      throw err;
    }
  }
  return fleet;
}

/** `count` shards in `processes` contiguous ranges: 4 in 2 → [[0,1],[2,3]]. */
export function splitShards(count: number, processes: number): number[][] {
  const out: number[][] = [];
  for (let p = 0; p < processes; p++) {
    const from = Math.floor((p * count) / processes);
    const to = Math.floor(((p + 1) * count) / processes);
    out.push(Array.from({ length: to - from }, (_, i) => from + i));
  }
  return out.filter((ids) => ids.length > 0);
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
