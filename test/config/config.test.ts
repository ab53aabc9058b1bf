import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.ts";

const base = { DISCORD_TOKEN: "discord-token-value", MINIMAX_API_KEY: "minimax-key-value" };

function problemsOf(env: Record<string, string | undefined>, requireDiscordToken = true) {
  try {
    parseConfig(env, { requireDiscordToken });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("applies the design's defaults", () => {
    const c = parseConfig(base, { requireDiscordToken: true });
    expect(c.discord.apiUrl).toBe("https://discord.com/api");
    expect(c.discord.guildId).toBeUndefined();
    expect(c.tts).toEqual({
      provider: "minimax",
      model: "speech-2.5-turbo-preview",
      defaultVoice: "Wise_Woman",
      syncMaxChars: 3000,
      rateLimitRpm: 60,
      asyncPollQps: 10,
    });
    expect(c.minimax.apiUrl).toBe("https://api.minimax.io");
    expect(c.aimlapi.apiUrl).toBe("https://api.aimlapi.com");
    expect(c.storageUrl).toBe("sqlite://data/bot.sqlite");
    expect(c.logLevel).toBe("info");
    expect(c.metricsPort).toBeUndefined();
    expect(c.minimax.groupId).toBeUndefined();
    expect(c.voice).toEqual({ autoRead: false, idleMs: 300_000, queueMax: 25, queueMaxPerUser: 5 });
  });

  it.each([
    [
      "DISCORD_API_URL",
      "http://127.0.0.1:9999/api/",
      (c: ReturnType<typeof parseConfig>) => c.discord.apiUrl,
      "http://127.0.0.1:9999/api",
    ],
    [
      "DISCORD_GUILD_ID",
      "123456789012345678",
      (c: ReturnType<typeof parseConfig>) => c.discord.guildId,
      "123456789012345678",
    ],
    ["SYNC_MAX_CHARS", "1200", (c: ReturnType<typeof parseConfig>) => c.tts.syncMaxChars, 1200],
    ["METRICS_PORT", "9100", (c: ReturnType<typeof parseConfig>) => c.metricsPort, 9100],
    ["MINIMAX_GROUP_ID", "g-1", (c: ReturnType<typeof parseConfig>) => c.minimax.groupId, "g-1"],
    ["MINIMAX_GROUP_ID", "", (c: ReturnType<typeof parseConfig>) => c.minimax.groupId, undefined],
    [
      "STORAGE_URL",
      "redis://127.0.0.1:6379",
      (c: ReturnType<typeof parseConfig>) => c.storageUrl,
      "redis://127.0.0.1:6379",
    ],
    ["LOG_LEVEL", "debug", (c: ReturnType<typeof parseConfig>) => c.logLevel, "debug"],
    ["AUTO_READ", "true", (c: ReturnType<typeof parseConfig>) => c.voice.autoRead, true],
    ["AUTO_READ", "0", (c: ReturnType<typeof parseConfig>) => c.voice.autoRead, false],
    ["VOICE_IDLE_TIMEOUT_SECONDS", "60", (c: ReturnType<typeof parseConfig>) => c.voice.idleMs, 60_000],
    ["VOICE_QUEUE_MAX", "3", (c: ReturnType<typeof parseConfig>) => c.voice.queueMax, 3],
    ["VOICE_QUEUE_MAX_PER_USER", "2", (c: ReturnType<typeof parseConfig>) => c.voice.queueMaxPerUser, 2],
  ] as const)("reads %s=%j", (name, value, pick, expected) => {
    expect(pick(parseConfig({ ...base, [name]: value }, { requireDiscordToken: true }))).toEqual(expected);
  });

  it.each([
    ["AUTO_READ", "yes", /true or false/],
    ["VOICE_IDLE_TIMEOUT_SECONDS", "5", /between 10 and 86400/],
    ["VOICE_QUEUE_MAX", "0", /between 1 and 500/],
  ])("refuses %s=%s with the reason", (name, value, reason) => {
    const err = problemsOf({ ...base, [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.variable).toBe(name);
    expect(err.problems[0]!.message).toMatch(reason);
  });

  it("requires DISCORD_TOKEN only for the bot", () => {
    const err = problemsOf({ MINIMAX_API_KEY: "k-123456" });
    expect(err.problems.map((p) => p.variable)).toEqual(["DISCORD_TOKEN"]);
    expect(err.message).toContain("DISCORD_TOKEN");
    expect(err.message).toContain(".env.example");
    expect(() => parseConfig({ MINIMAX_API_KEY: "k-123456" }, { requireDiscordToken: false })).not.toThrow();
  });

  it("requires the key of the chosen provider", () => {
    expect(problemsOf({ DISCORD_TOKEN: "t" }).problems.map((p) => p.variable)).toEqual(["MINIMAX_API_KEY"]);
    const aiml = problemsOf({ DISCORD_TOKEN: "t", TTS_PROVIDER: "aimlapi" });
    expect(aiml.problems.map((p) => p.variable)).toEqual(["AIMLAPI_API_KEY"]);
    expect(() =>
      parseConfig({ TTS_PROVIDER: "aimlapi", AIMLAPI_API_KEY: "abcdef" }, { requireDiscordToken: false }),
    ).not.toThrow();
  });

  it("reports every problem at once, naming each variable and what is wrong", () => {
    const err = problemsOf({
      MINIMAX_API_KEY: "k",
      SYNC_MAX_CHARS: "lots",
      TTS_PROVIDER: "elevenlabs",
      LOG_LEVEL: "loud",
      METRICS_PORT: "70000",
      DISCORD_API_URL: "ftp://x",
      DISCORD_GUILD_ID: "abc",
      STORAGE_URL: "postgres://db",
    });
    const vars = err.problems.map((p) => p.variable).sort();
    expect(vars).toEqual(
      [
        "DISCORD_API_URL",
        "DISCORD_GUILD_ID",
        "DISCORD_TOKEN",
        "LOG_LEVEL",
        "METRICS_PORT",
        "STORAGE_URL",
        "SYNC_MAX_CHARS",
        "TTS_PROVIDER",
      ].sort(),
    );
    expect(err.message).toMatch(/SYNC_MAX_CHARS: must be a whole number.*\(got "lots"\)/);
    expect(err.message).toMatch(/TTS_PROVIDER: must be minimax or aimlapi/);
  });

  it("never echoes a secret value in the message", () => {
    const err = problemsOf({ DISCORD_TOKEN: "t", MINIMAX_API_KEY: "   ", TTS_PROVIDER: "minimax" });
    expect(err.message).toContain("MINIMAX_API_KEY");
    const err2 = problemsOf({
      DISCORD_TOKEN: "super-secret-token",
      MINIMAX_API_KEY: "k",
      SYNC_MAX_CHARS: "0",
    });
    expect(err2.message).not.toContain("super-secret-token");
  });
});

describe("speech outside servers (DM_DAILY_CHARS, DM_COOLDOWN_SECONDS)", () => {
  it("defaults to 2000 characters a day and 30 s between requests", () => {
    expect(parseConfig(base, { requireDiscordToken: true }).personal).toEqual({
      dailyChars: 2000,
      cooldownMs: 30_000,
    });
  });

  it("takes 0 (off / no cooldown) and other whole numbers", () => {
    const config = parseConfig(
      { ...base, DM_DAILY_CHARS: "0", DM_COOLDOWN_SECONDS: "0" },
      { requireDiscordToken: true },
    );
    expect(config.personal).toEqual({ dailyChars: 0, cooldownMs: 0 });
  });

  it.each([
    ["DM_DAILY_CHARS", "-1"],
    ["DM_DAILY_CHARS", "lots"],
    ["DM_COOLDOWN_SECONDS", "86401"],
  ])("refuses %s=%s", (variable, value) => {
    expect(() => parseConfig({ ...base, [variable]: value }, { requireDiscordToken: true })).toThrow(
      new RegExp(`${variable}: must be a whole number`),
    );
  });
});
