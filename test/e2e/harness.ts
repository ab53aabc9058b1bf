import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { type App, createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { type FakeDiscord, startFakeDiscord } from "../fakes/discord/index.ts";
import type { FakeDiscordOptions } from "../fakes/discord/state.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import type { FakeMiniMaxOptions } from "../fakes/minimax/options.ts";

/**
 * The whole bot as it runs in production (createApp: storage, providers, command registry,
 * dispatcher), logged into the fake Discord with the fake MiniMax behind it, all on loopback.
 */

export interface Harness {
  app: App;
  discord: FakeDiscord;
  minimax: FakeMiniMax;
  /** Parsed JSON log lines the bot wrote. */
  logs: Record<string, unknown>[];
  dataDir: string;
  env: Record<string, string>;
  /** Restart the bot on the same storage (and the same fakes). */
  restart(extraEnv?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  discord?: FakeDiscordOptions;
  minimax?: FakeMiniMaxOptions;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const minimax = await startFakeMiniMax({ apiKey: "e2e-key", ...opts.minimax });
  const discord = await startFakeDiscord(opts.discord);
  const dataDir = await mkdtemp(join(tmpdir(), "bot-e2e-"));
  const logs: Record<string, unknown>[] = [];
  const env: Record<string, string> = {
    DISCORD_TOKEN: discord.botToken,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: discord.fixtures.guild.id,
    MINIMAX_API_URL: minimax.url,
    MINIMAX_API_KEY: "e2e-key",
    DOWNLOAD_ALLOW_LOOPBACK: "true",
    STORAGE_URL: `sqlite://${join(dataDir, "bot.sqlite")}`,
    SPEAK_COOLDOWN_SECONDS: "0",
    SPEAK_MAX_CONCURRENT: "100",
    LOG_LEVEL: "debug",
    ...opts.env,
  };
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line.trim()) logs.push(JSON.parse(line));
      cb();
    },
  });

  let app: App;
  async function boot(extra: Record<string, string> = {}): Promise<App> {
    Object.assign(env, extra);
    const config = parseConfig(env, { requireDiscordToken: true });
    const logger = createLogger({
      level: config.logLevel,
      destination,
      secrets: [discord.botToken, "e2e-key"],
    });
    const a = createApp(config, logger, {
      drainMs: 5000,
      tts: { retry: { retries: 2, baseMs: 10, maxMs: 50 } },
    });
    await a.start();
    await waitFor(
      // DISCORD_GUILD_ID="" registers globally (what user installs and DMs need).
      () => discord.registeredCommands(env.DISCORD_GUILD_ID || undefined).length > 0,
      10_000,
      "commands registered",
    );
    return a;
  }
  app = await boot();

  const harness: Harness = {
    get app() {
      return app;
    },
    discord,
    minimax,
    logs,
    dataDir,
    env,
    async restart(extra) {
      await app.stop();
      app = await boot(extra);
    },
    async close() {
      await app.stop();
      await discord.close();
      await minimax.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * `npm start` as a real process (for signal and crash tests), logged into the given fakes. Runs in
 * `cwd` so no developer `.env` is picked up; only PATH is inherited.
 */
export function spawnBot(opts: {
  discord: FakeDiscord;
  minimaxUrl: string;
  minimaxKey: string;
  cwd: string;
  env?: Record<string, string>;
  stdout?: "pipe" | "ignore";
}): ChildProcess {
  const entry = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
  return spawn(process.execPath, [entry], {
    cwd: opts.cwd,
    env: {
      PATH: process.env.PATH ?? "",
      DISCORD_TOKEN: opts.discord.botToken,
      DISCORD_API_URL: opts.discord.apiUrl,
      DISCORD_GUILD_ID: opts.discord.fixtures.guild.id,
      MINIMAX_API_URL: opts.minimaxUrl,
      MINIMAX_API_KEY: opts.minimaxKey,
      DOWNLOAD_ALLOW_LOOPBACK: "true",
      ...opts.env,
    },
    stdio: ["ignore", opts.stdout ?? "ignore", "inherit"],
  });
}
