import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { type App, createApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config.ts";
import { createLogger } from "../../src/logger.ts";
import { type FakeDiscord, startFakeDiscord } from "../../test/fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../../test/fakes/index.ts";
import { type FakeVoice, startFakeVoice } from "../../test/fakes/voice/index.ts";

/**
 * Everything the demo runs, in this process and on loopback: the fake Discord (REST, gateway and its
 * voice server), the fake MiniMax, and the bot itself (the real `createApp`) with a temporary SQLite
 * file. No token, no key, no internet.
 */

export const DEMO_KEY = "demo-minimax-key";

/** Shorter than the bot's default (3000) so the narration step stays short. */
export const DEMO_SYNC_MAX_CHARS = 600;

export interface Stack {
  app: App;
  discord: FakeDiscord;
  minimax: FakeMiniMax;
  voice: FakeVoice;
  env: Record<string, string>;
  /** The bot's latest warning or error, for the one-line failure message. */
  lastBotProblem(): string | undefined;
  /** Stops everything that was started, in reverse order; never throws. */
  close(): Promise<void>;
}

export interface StackOptions {
  /** Where the bot's log lines go (debug level) when verbose; otherwise only warnings are kept, in memory. */
  verboseLog?: (line: string) => void;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of closers.reverse()) await fn().catch(() => undefined);
    closers.length = 0;
  };
  let lastProblem: string | undefined;
  try {
    // A task narrates for 1.5 s and the bot first polls after 1 s, so every status shows up once.
    const minimax = await startFakeMiniMax({ apiKey: DEMO_KEY, asyncProcessingMs: 1500 });
    closers.push(() => minimax.close());
    const discord = await startFakeDiscord();
    closers.push(() => discord.close());
    const voice = await startFakeVoice(discord);
    closers.push(() => voice.close());
    const dataDir = await mkdtemp(join(tmpdir(), "tts-bot-demo-"));
    closers.push(() => rm(dataDir, { recursive: true, force: true }));

    const env: Record<string, string> = {
      DISCORD_TOKEN: discord.botToken,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_GUILD_ID: discord.fixtures.guild.id,
      MINIMAX_API_URL: minimax.url,
      MINIMAX_API_KEY: DEMO_KEY,
      DOWNLOAD_ALLOW_LOOPBACK: "true",
      STORAGE_URL: `sqlite://${join(dataDir, "bot.sqlite")}`,
      SYNC_MAX_CHARS: String(DEMO_SYNC_MAX_CHARS),
      LOG_LEVEL: opts.verboseLog ? "debug" : "warn",
    };
    const destination = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split("\n")) {
          if (!line.trim()) continue;
          if (opts.verboseLog) opts.verboseLog(line);
          else lastProblem = problemOf(line) ?? lastProblem;
        }
        cb();
      },
    });
    // Only the variables above: no .env file and nothing from the caller's environment.
    const config = parseConfig(env, { requireDiscordToken: true });
    const logger = createLogger({
      level: config.logLevel,
      destination,
      secrets: [discord.botToken, DEMO_KEY],
    });
    const app = createApp(config, logger, { drainMs: 3000, jobs: { firstPollMs: 1000 } });
    closers.push(() => app.stop());
    await app.start();
    await until(
      () => discord.registeredCommands(discord.fixtures.guild.id).length > 0,
      15_000,
      "the bot to register its commands",
    );
    return { app, discord, minimax, voice, env, lastBotProblem: () => lastProblem, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function problemOf(line: string): string | undefined {
  try {
    const parsed = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
    if ((parsed.level ?? 0) < 40) return undefined;
    return [parsed.msg, parsed.err?.message].filter(Boolean).join(": ") || undefined;
  } catch {
    return undefined;
  }
}

/** Polls `check` until it returns something other than undefined/false. */
export async function until<T>(
  check: () => T | undefined | false,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
