import { existsSync } from "node:fs";
import { z } from "zod";

/**
 * The one place environment variables are read. Names and defaults follow the design's configuration
 * table; `.env.example` documents each one. Every problem is collected and reported at once.
 */

/** `FOO=` in a .env file means "not set", not "set to the empty string". */
const optionalString = z.preprocess((v) => (v === "" ? undefined : v), z.string().trim().min(1).optional());

function withDefault<T extends z.ZodType>(schema: T, fallback: z.input<T>) {
  return z.preprocess((v) => (v === undefined || v === "" ? fallback : v), schema);
}

const httpUrl = z
  .string()
  .trim()
  .refine((v) => URL.canParse(v) && /^https?:$/.test(new URL(v).protocol), "must be an http(s) URL")
  .transform((v) => v.replace(/\/+$/, ""));

function intBetween(min: number, max: number) {
  return z.coerce
    .number({ error: "must be a whole number" })
    .int(`must be a whole number between ${min} and ${max}`)
    .min(min, `must be a whole number between ${min} and ${max}`)
    .max(max, `must be a whole number between ${min} and ${max}`);
}

const snowflake = z.string().regex(/^\d{17,20}$/, "must be a Discord id (17 to 20 digits)");

/**
 * Where provider downloads may go when DOWNLOAD_ALLOWED_HOSTS is not set: MiniMax's API hosts and the
 * object storage its signed result links point at, and the AI/ML API's own hosts and CDN.
 * `*.example.com` matches example.com and every name under it.
 */
export const DEFAULT_DOWNLOAD_HOSTS = [
  "*.minimax.io",
  "*.minimaxi.com",
  "*.minimax.chat",
  "*.minimaxi.chat",
  "*.aliyuncs.com",
  "*.aimlapi.com",
] as const;

/** Far above what any bot needs (Discord asks for one shard per 1,000 to 2,500 servers). */
const MAX_SHARDS = 65_535;

/**
 * SHARD_IDS: the shards this process runs, a comma list of ids (`0,1,2,3`); ranges are spelled out
 * so the list reads the same in every tool. Sorted, no duplicates.
 */
const shardIdList = z
  .string()
  .transform((v) => v.split(",").map((part) => part.trim()))
  .pipe(
    z
      .array(z.string().regex(/^\d{1,5}$/, "must be a comma list of shard ids such as 0,1,2"))
      .min(1, "must name at least one shard"),
  )
  .transform((parts) => parts.map(Number))
  .refine((ids) => new Set(ids).size === ids.length, "names a shard twice")
  .transform((ids) => [...ids].sort((a, b) => a - b));

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const EnvSchema = z
  .object({
    NODE_ENV: withDefault(z.enum(["development", "production", "test"]), "production"),
    DISCORD_TOKEN: optionalString,
    DISCORD_API_URL: withDefault(httpUrl, "https://discord.com/api"),
    DISCORD_GUILD_ID: z.preprocess((v) => (v === "" ? undefined : v), snowflake.optional()),
    TTS_PROVIDER: withDefault(
      z.enum(["minimax", "aimlapi"], { error: "must be minimax or aimlapi" }),
      "minimax",
    ),
    MINIMAX_API_KEY: optionalString,
    MINIMAX_API_URL: withDefault(httpUrl, "https://api.minimax.io"),
    MINIMAX_GROUP_ID: optionalString,
    AIMLAPI_API_KEY: optionalString,
    AIMLAPI_API_URL: withDefault(httpUrl, "https://api.aimlapi.com"),
    TTS_MODEL: withDefault(z.string().trim().min(1), "speech-2.5-turbo-preview"),
    TTS_DEFAULT_VOICE: withDefault(z.string().trim().min(1).max(256), "Wise_Woman"),
    SYNC_MAX_CHARS: withDefault(intBetween(1, 9999), "3000"),
    STORAGE_URL: withDefault(
      z.string().regex(/^(sqlite|redis|rediss):\/\/.+/, "must start with sqlite://, redis:// or rediss://"),
      "sqlite://data/bot.sqlite",
    ),
    LOG_LEVEL: withDefault(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }), "info"),
    METRICS_PORT: z.preprocess((v) => (v === "" ? undefined : v), intBetween(1, 65535).optional()),
    TTS_RATE_LIMIT_RPM: withDefault(intBetween(1, 100_000), "60"),
    ASYNC_POLL_QPS: withDefault(intBetween(1, 1000), "10"),
    SPEAK_COOLDOWN_SECONDS: withDefault(intBetween(0, 3600), "3"),
    SPEAK_BURST: withDefault(intBetween(1, 100), "5"),
    SPEAK_MAX_CONCURRENT: withDefault(intBetween(1, 100), "2"),
    AUDIO_CACHE_MAX_MB: withDefault(intBetween(0, 1_000_000), "256"),
    DM_DAILY_CHARS: withDefault(intBetween(0, 1_000_000), "2000"),
    DM_COOLDOWN_SECONDS: withDefault(intBetween(0, 86_400), "30"),
    AUTO_READ: withDefault(
      z
        .enum(["true", "false", "1", "0"], { error: "must be true or false" })
        .transform((v) => v === "true" || v === "1"),
      "false",
    ),
    VOICE_IDLE_TIMEOUT_SECONDS: withDefault(intBetween(10, 86_400), "300"),
    VOICE_QUEUE_MAX: withDefault(intBetween(1, 500), "25"),
    VOICE_QUEUE_MAX_PER_USER: withDefault(intBetween(1, 500), "5"),
    DOWNLOAD_ALLOW_LOOPBACK: withDefault(
      z
        .enum(["true", "false", "1", "0"], { error: "must be true or false" })
        .transform((v) => v === "true" || v === "1"),
      "false",
    ),
    DOWNLOAD_ALLOWED_HOSTS: withDefault(
      z
        .string()
        .transform((v) =>
          v
            .split(",")
            .map((h) => h.trim().toLowerCase())
            .filter((h) => h.length > 0),
        )
        .pipe(
          z
            .array(
              z
                .string()
                .regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/, "must be host names or *.domain patterns"),
            )
            .min(1, "must name at least one host"),
        ),
      DEFAULT_DOWNLOAD_HOSTS.join(","),
    ),
    RESULT_MAX_MB: withDefault(intBetween(1, 2048), "200"),
    METRICS_HOST: withDefault(z.string().trim().min(1), "127.0.0.1"),
    RECORD_TTL_DAYS: withDefault(intBetween(1, 3650), "30"),
    SHARD_COUNT: z.preprocess(
      (v) => (v === "" ? undefined : v),
      z
        .string()
        .trim()
        .refine(
          (v) => v === "auto" || (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_SHARDS),
          `must be auto or a whole number between 1 and ${MAX_SHARDS}`,
        )
        .transform((v) => (v === "auto" ? ("auto" as const) : Number(v)))
        .optional(),
    ),
    SHARD_IDS: z.preprocess((v) => (v === "" ? undefined : v), shardIdList.optional()),
  })
  .superRefine((env, ctx) => {
    if (env.SHARD_IDS !== undefined && env.SHARD_COUNT === undefined) {
      ctx.addIssue({ code: "custom", path: ["SHARD_IDS"], message: "needs SHARD_COUNT (the shards in all)" });
    }
    const count = env.SHARD_COUNT;
    const outside = typeof count === "number" ? env.SHARD_IDS?.filter((id) => id >= count) : undefined;
    if (outside && outside.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["SHARD_IDS"],
        message: `shard ${outside.join(", ")} does not exist with SHARD_COUNT=${count} (ids go from 0 to ${Number(count) - 1})`,
      });
    }
    if (env.TTS_PROVIDER === "minimax" && !env.MINIMAX_API_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["MINIMAX_API_KEY"],
        message: "required when TTS_PROVIDER is minimax (the default)",
      });
    }
    if (env.TTS_PROVIDER === "aimlapi" && !env.AIMLAPI_API_KEY) {
      ctx.addIssue({
        code: "custom",
        path: ["AIMLAPI_API_KEY"],
        message: "required when TTS_PROVIDER is aimlapi",
      });
    }
  });

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  nodeEnv: Env["NODE_ENV"];
  discord: { token: string | undefined; apiUrl: string; guildId: string | undefined };
  tts: {
    provider: "minimax" | "aimlapi";
    model: string;
    defaultVoice: string;
    syncMaxChars: number;
    rateLimitRpm: number;
    asyncPollQps: number;
  };
  speak: { cooldownMs: number; burst: number; maxConcurrentPerUser: number };
  /**
   * `/speak` and Read aloud outside servers (DMs, group DMs, servers without the bot): each member's
   * own daily characters (0 turns speech there off) and the wait between two requests.
   */
  personal: { dailyChars: number; cooldownMs: number };
  audioCacheMaxBytes: number;
  voice: {
    /** Read chat aloud where a guild enabled it; needs the privileged Message Content intent. */
    autoRead: boolean;
    idleMs: number;
    queueMax: number;
    queueMaxPerUser: number;
  };
  minimax: { apiKey: string | undefined; apiUrl: string; groupId: string | undefined };
  aimlapi: { apiKey: string | undefined; apiUrl: string };
  storageUrl: string;
  logLevel: Env["LOG_LEVEL"];
  metricsPort: number | undefined;
  /** Address the metrics server binds to. */
  metricsHost: string;
  /** How long finished jobs and requests are kept (ms). */
  recordTtlMs: number;
  /**
   * Gateway shards: `count` in all (`auto`: Discord's recommendation, unset: one shard) and the `ids`
   * this process runs (unset: all of them).
   */
  shards: { count: number | "auto" | undefined; ids: number[] | undefined };
  /** Downloads of provider results (MiniMax files, AI/ML API audio URLs): untrusted URLs. */
  downloads: {
    /** Tests and local fakes only: http:// and loopback addresses allowed. */
    allowLoopback: boolean;
    /** Host names or `*.domain` patterns a download may go to. */
    allowedHosts: string[];
    /** Largest async result (archive) accepted. */
    maxResultBytes: number;
  };
}

export class ConfigError extends Error {
  readonly problems: { variable: string; message: string }[];
  constructor(problems: { variable: string; message: string }[]) {
    const lines = problems.map((p) => `  - ${p.variable}: ${p.message}`);
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}\n` +
        "Set these in the environment or in a .env file; .env.example lists every variable with its default.",
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** The bot needs a Discord token; the CLI does not. */
  requireDiscordToken: boolean;
}

export function parseConfig(env: Record<string, string | undefined>, opts: LoadOptions): Config {
  const parsed = EnvSchema.safeParse(env);
  const problems: { variable: string; message: string }[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const variable = String(issue.path[0] ?? "environment");
      const got = env[variable];
      const shown = got !== undefined && got !== "" && !isSecret(variable) ? ` (got "${got}")` : "";
      problems.push({ variable, message: `${issue.message}${shown}` });
    }
  }
  const tokenMissing = opts.requireDiscordToken && !(env.DISCORD_TOKEN ?? "").trim();
  if (tokenMissing) {
    problems.unshift({ variable: "DISCORD_TOKEN", message: "required to run the bot, but not set" });
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    discord: { token: e.DISCORD_TOKEN, apiUrl: e.DISCORD_API_URL, guildId: e.DISCORD_GUILD_ID },
    tts: {
      provider: e.TTS_PROVIDER,
      model: e.TTS_MODEL,
      defaultVoice: e.TTS_DEFAULT_VOICE,
      syncMaxChars: e.SYNC_MAX_CHARS,
      rateLimitRpm: e.TTS_RATE_LIMIT_RPM,
      asyncPollQps: e.ASYNC_POLL_QPS,
    },
    minimax: { apiKey: e.MINIMAX_API_KEY, apiUrl: e.MINIMAX_API_URL, groupId: e.MINIMAX_GROUP_ID },
    aimlapi: { apiKey: e.AIMLAPI_API_KEY, apiUrl: e.AIMLAPI_API_URL },
    speak: {
      cooldownMs: e.SPEAK_COOLDOWN_SECONDS * 1000,
      burst: e.SPEAK_BURST,
      maxConcurrentPerUser: e.SPEAK_MAX_CONCURRENT,
    },
    personal: { dailyChars: e.DM_DAILY_CHARS, cooldownMs: e.DM_COOLDOWN_SECONDS * 1000 },
    audioCacheMaxBytes: e.AUDIO_CACHE_MAX_MB * 1024 * 1024,
    voice: {
      autoRead: e.AUTO_READ,
      idleMs: e.VOICE_IDLE_TIMEOUT_SECONDS * 1000,
      queueMax: e.VOICE_QUEUE_MAX,
      queueMaxPerUser: e.VOICE_QUEUE_MAX_PER_USER,
    },
    storageUrl: e.STORAGE_URL,
    logLevel: e.LOG_LEVEL,
    metricsPort: e.METRICS_PORT,
    metricsHost: e.METRICS_HOST,
    recordTtlMs: e.RECORD_TTL_DAYS * 86_400_000,
    shards: { count: e.SHARD_COUNT, ids: e.SHARD_IDS },
    downloads: {
      allowLoopback: e.DOWNLOAD_ALLOW_LOOPBACK,
      allowedHosts: e.DOWNLOAD_ALLOWED_HOSTS,
      maxResultBytes: e.RESULT_MAX_MB * 1024 * 1024,
    },
  };
}

function isSecret(variable: string): boolean {
  return /TOKEN|KEY|SECRET/.test(variable);
}

/**
 * Reads `.env` (when present) into `process.env` without overriding variables already set, then parses.
 * `process.loadEnvFile` is Node's own .env reader, so no dotenv dependency is needed.
 */
export function loadConfig(opts: LoadOptions, envFile = ".env"): Config {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  return parseConfig(process.env, opts);
}

/**
 * For entry points: the configuration, or — when it is wrong — its one readable message on stderr and
 * exit code 1, without a stack trace.
 */
export function loadConfigOrExit(load: () => Config): Config {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** The secret values of a config, for log scrubbing. */
export function configSecrets(config: Config): string[] {
  return [config.discord.token, config.minimax.apiKey, config.aimlapi.apiKey, config.minimax.groupId].filter(
    (s): s is string => typeof s === "string" && s.length >= 6,
  );
}
