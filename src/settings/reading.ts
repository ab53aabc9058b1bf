import { z } from "zod";

/**
 * A server's auto-read settings (`/settings reading`): which chat is read aloud in the voice channel
 * the bot is in, how speakers are named, and what is skipped. Defaults follow what members of the
 * big reader bots expect: off until a server turns it on, then the channel bound by /join and the
 * voice channel's own chat, only from members listening in the call, the stage audience ignored,
 * "{name} said" before a new speaker, `!` and `//` to type without being heard, 300 characters at most.
 */

export const NAME_STYLES = ["nickname", "display_name", "username", "none"] as const;
export type NameStyle = (typeof NAME_STYLES)[number];

export const DEFAULT_NAME_TEMPLATE = "{name} said";
export const NAME_PLACEHOLDER = "{name}";
export const NAME_TEMPLATE_MAX = 60;

export const DEFAULT_SKIP_PREFIXES: readonly string[] = ["!", "//"];
export const SKIP_PREFIXES_MAX = 10;
export const SKIP_PREFIX_MAX_CHARS = 10;

export const DEFAULT_READ_MAX_CHARS = 300;
export const READ_MAX_CHARS_RANGE = { min: 20, max: 2000 } as const;

/**
 * "{name} said", "{name}:", "message from {name}": one `{name}`, no other braces (a typo such as
 * `{nmae}` would otherwise be read aloud), one line, and no backticks (shown in code spans by
 * `/settings show`).
 */
export const NameTemplateSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(NAME_TEMPLATE_MAX, `must be at most ${NAME_TEMPLATE_MAX} characters`)
  .refine((t) => t.split(NAME_PLACEHOLDER).length === 2, {
    message: `must contain ${NAME_PLACEHOLDER} exactly once`,
  })
  .refine((t) => !/[{}]/.test(t.replace(NAME_PLACEHOLDER, "")), {
    message: `may use no placeholder other than ${NAME_PLACEHOLDER}`,
  })
  .refine((t) => !/[\r\n`]/.test(t), { message: "must be one line without backticks" });

const SkipPrefixSchema = z
  .string()
  .min(1, "a prefix must not be empty")
  .max(SKIP_PREFIX_MAX_CHARS, `a prefix must be at most ${SKIP_PREFIX_MAX_CHARS} characters`)
  .refine((p) => !/[\s`]/.test(p), { message: "a prefix must not contain spaces or backticks" });

export const SkipPrefixesSchema = z
  .array(SkipPrefixSchema)
  .max(SKIP_PREFIXES_MAX, `must be at most ${SKIP_PREFIXES_MAX} prefixes`)
  .refine((list) => new Set(list).size === list.length, { message: "lists a prefix twice" });

/** `"! // ~"` → `["!", "//", "~"]`; `none` (or `-`) → no prefixes. Validation is the schema's. */
export function parseSkipPrefixes(input: string): string[] {
  const trimmed = input.trim();
  if (/^(none|-)$/i.test(trimmed)) return [];
  return trimmed.split(/\s+/).filter((p) => p !== "");
}

const snowflake = z.string().regex(/^\d{17,20}$/, "must be a Discord id");

export const ReadingSettingsSchema = z.object({
  /** Read chat aloud in the voice channel the bot is in (needs AUTO_READ in the bot's config). */
  autoRead: z.boolean().default(false),
  /** Also read bots and webhooks (which are never in voice, so `requireVoice` does not apply). */
  readBots: z.boolean().default(false),
  /** Read the voice channel's own text chat as well as the channel bound by /join. */
  textInVoice: z.boolean().default(true),
  /** Only members listening in the bot's voice channel are read, in every channel read. */
  requireVoice: z.boolean().default(true),
  /** Only members with this role are read. */
  requiredRoleId: snowflake.optional(),
  /** Members with this role are never read. */
  ignoredRoleId: snowflake.optional(),
  /** In a stage channel, the audience (members who are not speakers) is not read or announced. */
  ignoreAudience: z.boolean().default(true),
  /** Which name is spoken: server nickname, display name, username, or none at all. */
  nameStyle: z.enum(NAME_STYLES).default("nickname"),
  /** What is said before a new speaker's message. */
  nameTemplate: NameTemplateSchema.default(DEFAULT_NAME_TEMPLATE),
  /** Messages starting with one of these are not read. */
  skipPrefixes: SkipPrefixesSchema.default([...DEFAULT_SKIP_PREFIXES]),
  /** The longest part of a message that is read, in characters. */
  maxChars: z
    .number()
    .int("must be a whole number")
    .min(READ_MAX_CHARS_RANGE.min, `must be at least ${READ_MAX_CHARS_RANGE.min}`)
    .max(READ_MAX_CHARS_RANGE.max, `must be at most ${READ_MAX_CHARS_RANGE.max}`)
    .default(DEFAULT_READ_MAX_CHARS),
  /** Say that a message has files or stickers ("Alice sent an image"). */
  describeFiles: z.boolean().default(true),
});
export type ReadingSettings = z.infer<typeof ReadingSettingsSchema>;

/**
 * Records saved before auto-read had its own section kept `autoRead` and `readBots` under `voice`.
 * They move to `reading` (unless it already has them), so no server loses its choice.
 */
export function migrateReading(raw: unknown): unknown {
  if (typeof raw !== "object" || raw === null) return raw;
  const record = raw as Record<string, unknown>;
  const voice = record.voice;
  if (typeof voice !== "object" || voice === null) return raw;
  const { autoRead, readBots, ...restVoice } = voice as Record<string, unknown>;
  if (autoRead === undefined && readBots === undefined) return raw;
  const reading = { ...((record.reading as Record<string, unknown> | undefined) ?? {}) };
  if (autoRead !== undefined && reading.autoRead === undefined) reading.autoRead = autoRead;
  if (readBots !== undefined && reading.readBots === undefined) reading.readBots = readBots;
  return { ...record, voice: restVoice, reading };
}
