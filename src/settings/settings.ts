import { z } from "zod";
import { emotionFits } from "../speech/models.ts";
import { SPEED_RANGE } from "../speech/ranges.ts";
import type { KeyValue } from "../storage/key-value.ts";
import { channelMention, roleMention } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { migrateReading, ReadingSettingsSchema } from "./reading.ts";
import { type VoiceDefaults, VoiceDefaultsSchema } from "./voice-defaults.ts";

/**
 * Per-guild settings (`/settings`), kept in Keyv. Only the values an admin set are stored; defaults
 * are applied when reading, so changing a default in code reaches every guild that never chose.
 *
 * Defaults: no guild voice defaults (the bot's configuration applies), no channels, no character
 * limits or cooldown (the bot's own limits apply), at most 2 concurrent jobs per guild, narration
 * requests need approval, every member may use `/speak` and design voices, and auto-read (see
 * reading.ts), spoken join/leave announcements and the voice backlog speed-up are off.
 */

const snowflake = z.string().regex(/^\d{17,20}$/, "must be a Discord id");
const whole = (min: number, max?: number) => {
  const atLeast = z.number().int("must be a whole number").min(min, `must be at least ${min}`);
  return max === undefined ? atLeast : atLeast.max(max, `must be at most ${max}`);
};

export const GuildDefaultsSchema = VoiceDefaultsSchema.pick({
  voice: true,
  model: true,
  language: true,
  emotion: true,
  speed: true,
}).refine((d) => d.model === undefined || d.emotion === undefined || emotionFits(d.model, d.emotion), {
  message: "this emotion does not work with the chosen model",
  path: ["emotion"],
});

export const VOICE_DESIGN_ACCESS = ["members", "moderators"] as const;
export type VoiceDesignAccess = (typeof VOICE_DESIGN_ACCESS)[number];

export const GuildSettingsSchema = z.object({
  defaults: GuildDefaultsSchema.prefault({}),
  channels: z
    .object({
      /** Where narration results are posted. */
      narration: snowflake.optional(),
      /** Where request cards go for moderators. */
      requests: snowflake.optional(),
    })
    .prefault({}),
  limits: z
    .object({
      maxCharsPerRequest: whole(1, 100_000).optional(),
      // Character budgets: absent means unlimited.
      userDailyChars: whole(1).optional(),
      guildDailyChars: whole(1).optional(),
      guildMonthlyChars: whole(1).optional(),
      userCooldownSeconds: whole(0, 3600).optional(),
      maxConcurrentJobs: whole(1, 50).default(2),
      /**
       * Seconds a member waits between narrations they start themselves (/narrate, long /speak). Off by
       * default: the open-narrations cap below already bounds one member; servers that want pacing set it.
       */
      narrateCooldownSeconds: whole(0, 86_400).default(0),
      /** Narrations one member may have unfinished at once in this server. */
      maxOpenJobsPerMember: whole(1, 50).default(10),
    })
    .prefault({}),
  requests: z
    .object({
      approvalRequired: z.boolean().default(true),
      moderatorRoleId: snowflake.optional(),
    })
    .prefault({}),
  speak: z
    .object({
      enabled: z.boolean().default(true),
      requiredRoleId: snowflake.optional(),
    })
    .prefault({}),
  voice: z
    .object({
      /** Say "Bob joined" / "Bob left" when members join or leave the bot's voice channel. */
      joinAnnouncements: z.boolean().default(false),
      /** Speak queued clips faster while the voice queue is long (see voice/backlog-speed.ts). */
      backlogSpeedup: z.boolean().default(false),
      /** Clips that may wait in the queue before the speed-up starts. */
      backlogThreshold: whole(1, 25).default(3),
      /** The fastest the backlog makes a clip (a member's own faster speed is kept). */
      backlogMaxSpeed: z
        .number()
        .min(1, "must be at least 1")
        .max(SPEED_RANGE.max, `must be at most ${SPEED_RANGE.max}`)
        .default(1.5),
    })
    .prefault({}),
  reading: ReadingSettingsSchema.prefault({}),
  voices: z
    .object({
      /** Who may create designed voices: every member, or moderators only. */
      designAccess: z.enum(VOICE_DESIGN_ACCESS).default("members"),
    })
    .prefault({}),
});
export type GuildSettings = z.infer<typeof GuildSettingsSchema>;
type StoredSettings = z.input<typeof GuildSettingsSchema>;

export const SETTINGS_SECTIONS = [
  "defaults",
  "channels",
  "limits",
  "requests",
  "speak",
  "voices",
  "voice",
  "reading",
] as const;
export type SettingsSection = (typeof SETTINGS_SECTIONS)[number];

/**
 * The areas of `/settings`, one subcommand each, and the stored sections each one covers. Areas keep
 * every subcommand well under Discord's 25 options, with room to grow.
 */
export const SETTINGS_AREAS = {
  speech: ["defaults"],
  channels: ["channels"],
  limits: ["limits"],
  access: ["requests", "speak", "voices"],
  "voice-channel": ["voice"],
  reading: ["reading"],
} as const satisfies Record<string, readonly SettingsSection[]>;
export type SettingsArea = keyof typeof SETTINGS_AREAS;
export const SETTINGS_AREA_NAMES = Object.keys(SETTINGS_AREAS) as SettingsArea[];

/** A change: `undefined` leaves a field alone, `null` clears it back to its default. */
export type GuildSettingsPatch = {
  [S in SettingsSection]?: Nullable<NonNullable<StoredSettings[S]>>;
};
type Nullable<T> = { [K in keyof T]?: T[K] | null };

/** Names people read, for refusals and `show`; keyed by `section.field`. */
export const FIELD_LABELS: Record<string, string> = {
  "defaults.voice": "Voice",
  "defaults.model": "Model",
  "defaults.language": "Language",
  "defaults.emotion": "Emotion",
  "defaults.speed": "Speed",
  "channels.narration": "Narration channel",
  "channels.requests": "Requests channel",
  "limits.maxCharsPerRequest": "Max characters per request",
  "limits.userDailyChars": "Daily characters per member",
  "limits.guildDailyChars": "Daily characters for the server",
  "limits.guildMonthlyChars": "Monthly characters for the server",
  "limits.userCooldownSeconds": "Cooldown per member (seconds)",
  "limits.maxConcurrentJobs": "Max concurrent jobs",
  "limits.narrateCooldownSeconds": "Cooldown between narrations per member (seconds)",
  "limits.maxOpenJobsPerMember": "Unfinished narrations per member",
  "requests.approvalRequired": "Narration requests need approval",
  "requests.moderatorRoleId": "Moderator role",
  "speak.enabled": "Members may use /speak",
  "speak.requiredRoleId": "Role required for /speak",
  "voices.designAccess": "Who may design voices",
  "voice.joinAnnouncements": "Announce members joining and leaving",
  "voice.backlogSpeedup": "Speak faster when the voice queue is long",
  "voice.backlogThreshold": "Clips waiting before speaking faster",
  "voice.backlogMaxSpeed": "Fastest speed for a long queue",
  "reading.autoRead": "Read chat aloud in voice",
  "reading.readBots": "Auto-read reads bots and webhooks",
  "reading.textInVoice": "Read the voice channel's own chat",
  "reading.requireVoice": "Only read members in the voice channel",
  "reading.requiredRoleId": "Role required to be read",
  "reading.ignoredRoleId": "Role never read",
  "reading.ignoreAudience": "Ignore the stage audience",
  "reading.nameStyle": "Name spoken",
  "reading.nameTemplate": "Before a new speaker",
  "reading.skipPrefixes": "Not read when starting with",
  "reading.maxChars": "Longest message read (characters)",
  "reading.describeFiles": "Say when files or stickers are sent",
};

export interface GuildSettingsStore {
  get(guildId: string): Promise<GuildSettings>;
  /** Merges the patch into what is saved; an invalid result is refused (UserFacingError) and not saved. */
  update(guildId: string, patch: GuildSettingsPatch): Promise<GuildSettings>;
  /** Sections back to their defaults, or everything when none is given. */
  reset(guildId: string, section?: SettingsSection | readonly SettingsSection[]): Promise<GuildSettings>;
}

export interface GuildSettingsStoreOptions {
  logger?: { warn(obj: object, msg?: string): void };
  /** How long a read is reused (default 5 s; 0 reads the store every time). */
  cacheTtlMs?: number;
  /** Guilds kept in that cache at most; the least recently used go first. Default 5,000. */
  cacheMaxGuilds?: number;
  now?: () => number;
}

export function createGuildSettingsStore(
  kv: KeyValue,
  opts: GuildSettingsStoreOptions = {},
): GuildSettingsStore {
  /** What is saved, or nothing when the record is unreadable (which is then deleted). */
  async function load(guildId: string): Promise<StoredSettings> {
    const raw = migrateReading(await kv.get(guildId));
    if (raw === undefined || raw === null) return {};
    if (GuildSettingsSchema.safeParse(raw).success) return raw as StoredSettings;
    // A record from an older or broken version must not break every command in the guild.
    opts.logger?.warn({ guildId }, "guild settings record is invalid; replacing it with the defaults");
    await kv.delete(guildId);
    return {};
  }
  async function save(guildId: string, stored: StoredSettings): Promise<GuildSettings> {
    const parsed = GuildSettingsSchema.safeParse(stored);
    if (!parsed.success) throw settingsError(parsed.error);
    const pruned = prune(stored);
    if (Object.keys(pruned).length === 0) await kv.delete(guildId);
    else await kv.set(guildId, pruned);
    return parsed.data;
  }
  // One /speak reads the settings several times (access, defaults, cooldown, budget); a few seconds
  // of memory spares those reads. Changes made here clear it at once; other processes sharing Redis
  // see them within the TTL.
  // Bounded (an LRU over the Map's insertion order) so that a bot in many guilds does not keep one
  // entry per guild it ever saw.
  const cacheTtlMs = opts.cacheTtlMs ?? 5000;
  const cacheMax = Math.max(1, opts.cacheMaxGuilds ?? 5000);
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { value: GuildSettings; at: number }>();
  const remember = (guildId: string, value: GuildSettings) => {
    if (cacheTtlMs <= 0) return value;
    cache.delete(guildId);
    cache.set(guildId, { value, at: now() });
    for (const oldest of cache.keys()) {
      if (cache.size <= cacheMax) break;
      cache.delete(oldest);
    }
    return value;
  };
  return {
    async get(guildId) {
      const hit = cache.get(guildId);
      if (hit && now() - hit.at < cacheTtlMs) {
        // Most recently used moves to the end.
        cache.delete(guildId);
        cache.set(guildId, hit);
        return hit.value;
      }
      if (hit) cache.delete(guildId);
      return remember(guildId, GuildSettingsSchema.parse(await load(guildId)));
    },
    async update(guildId, patch) {
      cache.delete(guildId);
      return remember(guildId, await save(guildId, mergePatch(await load(guildId), patch)));
    },
    async reset(guildId, section) {
      cache.delete(guildId);
      if (section === undefined) {
        await kv.delete(guildId);
        return remember(guildId, GuildSettingsSchema.parse({}));
      }
      const dropped = new Set<string>(typeof section === "string" ? [section] : section);
      const kept = Object.entries(await load(guildId)).filter(([key]) => !dropped.has(key));
      return remember(guildId, await save(guildId, Object.fromEntries(kept) as StoredSettings));
    },
  };
}

function mergePatch(stored: StoredSettings, patch: GuildSettingsPatch): StoredSettings {
  const out: Record<string, Record<string, unknown>> = {};
  for (const section of SETTINGS_SECTIONS) {
    const merged: Record<string, unknown> = { ...stored[section] };
    for (const [key, value] of Object.entries(patch[section] ?? {})) {
      if (value === null) delete merged[key];
      else if (value !== undefined) merged[key] = value;
    }
    out[section] = merged;
  }
  return out as StoredSettings;
}

/** Drops unknown sections, unset fields and empty sections, so the stored record stays minimal. */
function prune(stored: StoredSettings): StoredSettings {
  const out: Record<string, Record<string, unknown>> = {};
  for (const section of SETTINGS_SECTIONS) {
    const fields = Object.entries(stored[section] ?? {}).filter(([, v]) => v !== undefined && v !== null);
    if (fields.length > 0) out[section] = Object.fromEntries(fields);
  }
  return out as StoredSettings;
}

function settingsError(error: z.ZodError): UserFacingError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join(".") ?? "";
  const label = FIELD_LABELS[path] ?? (path || "settings");
  return new UserFacingError(`${label} was not saved: ${issue?.message ?? "invalid value"}.`);
}

/** The guild's voice defaults for `/speak`, with unset fields absent. */
export function effectiveDefaults(settings: GuildSettings): VoiceDefaults {
  const d = settings.defaults;
  const picked: VoiceDefaults = {
    voice: d.voice,
    model: d.model,
    language: d.language,
    emotion: d.emotion,
    speed: d.speed,
  };
  for (const key of Object.keys(picked) as (keyof VoiceDefaults)[]) {
    if (picked[key] === undefined) delete picked[key];
  }
  return picked;
}

/** Markdown lines for `/settings show`: every field, set or not, grouped by section. */
export function describeSettings(
  settings: GuildSettings,
  sections: readonly SettingsSection[] = SETTINGS_SECTIONS,
): string[] {
  const lines: string[] = [];
  for (const section of sections) {
    lines.push(`__${SECTION_TITLES[section]}__`);
    const values: Record<string, unknown> = settings[section];
    for (const [path, label] of Object.entries(FIELD_LABELS)) {
      const [s, key = ""] = path.split(".");
      if (s === section) lines.push(`**${label}:** ${formatValue(path, values[key])}`);
    }
  }
  return lines;
}

const SECTION_TITLES: Record<SettingsSection, string> = {
  defaults: "Voice defaults",
  channels: "Channels",
  limits: "Limits",
  requests: "Narration requests",
  speak: "/speak",
  voices: "Designed voices",
  voice: "Voice channels",
  reading: "Auto-read",
};

function formatValue(path: string, value: unknown): string {
  if (value === undefined) {
    if (path.startsWith("defaults.")) return "*bot default*";
    if (path.startsWith("channels.")) return "*not set*";
    if (path.endsWith("RoleId")) return "*none*";
    return "*unlimited*";
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) {
    return value.length === 0 ? "*none (every message is read)*" : value.map((v) => `\`${v}\``).join(" ");
  }
  if (path === "voice.backlogMaxSpeed") return `\`${value}×\``;
  if (path.startsWith("channels.")) return channelMention(String(value));
  if (path.endsWith("RoleId")) return roleMention(String(value));
  if (typeof value === "number") return `\`${value.toLocaleString("en-US")}\``;
  return `\`${String(value)}\``;
}
