import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type App, createApp } from "../src/app.ts";
import { type Config, parseConfig } from "../src/config.ts";
import { createLogger } from "../src/logger.ts";
import type { FakeDiscord } from "../test/fakes/discord/index.ts";

/** The whole bot (createApp) logged into a fake Discord, with limits out of the way for benchmarks. */
export interface BenchBot {
  app: App;
  config: Config;
  stop(): Promise<void>;
}

export async function startBenchBot(
  discord: FakeDiscord,
  minimaxUrl: string,
  env: Record<string, string> = {},
): Promise<BenchBot> {
  const dir = await mkdtemp(join(tmpdir(), "bench-bot-"));
  const config = parseConfig(
    {
      DISCORD_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.fixtures.guild.id,
      MINIMAX_API_URL: minimaxUrl,
      MINIMAX_API_KEY: "bench-key",
      DOWNLOAD_ALLOW_LOOPBACK: "true",
      STORAGE_URL: `sqlite://${join(dir, "bot.sqlite")}`,
      TTS_RATE_LIMIT_RPM: "100000",
      SPEAK_COOLDOWN_SECONDS: "0",
      SPEAK_MAX_CONCURRENT: "100",
      LOG_LEVEL: "warn",
      ...env,
    },
    { requireDiscordToken: true },
  );
  const app = createApp(config, createLogger({ level: "warn" }));
  try {
    await app.start();
    while (discord.registeredCommands(discord.fixtures.guild.id).length === 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    await app.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    app,
    config,
    async stop() {
      await app.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
