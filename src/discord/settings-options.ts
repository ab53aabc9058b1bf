import type { APIRole } from "discord.js";
import {
  ChannelType,
  type ChatInputCommandInteraction,
  type Role,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import {
  NAME_STYLES,
  NAME_TEMPLATE_MAX,
  type NameStyle,
  parseSkipPrefixes,
  READ_MAX_CHARS_RANGE,
  SKIP_PREFIX_MAX_CHARS,
  SKIP_PREFIXES_MAX,
} from "../settings/reading.ts";
import type { GuildSettingsPatch, SettingsArea, VoiceDesignAccess } from "../settings/settings.ts";
import { VoiceDefaultsSchema } from "../settings/voice-defaults.ts";
import { SPEED_RANGE } from "../speech/ranges.ts";
import { addVoiceSettingOptions, parseOptions, readVoiceSettingOptions } from "./speech-options.ts";

/**
 * The options of each `/settings` area (one subcommand per area, see SETTINGS_AREAS), and reading
 * them back as a settings patch. Option names are those of the former single `/settings set`, so
 * what admins learned still works under the area's subcommand. Options left out are absent from the
 * patch and keep their saved values.
 */

type Sub = SlashCommandSubcommandBuilder;

const bool = (s: Sub, name: string, description: string) =>
  s.addBooleanOption((o) => o.setName(name).setDescription(description));
const role = (s: Sub, name: string, description: string) =>
  s.addRoleOption((o) => o.setName(name).setDescription(description));
const channel = (s: Sub, name: string, description: string) =>
  s.addChannelOption((o) =>
    o.setName(name).setDescription(description).addChannelTypes(ChannelType.GuildText),
  );
const count = (s: Sub, name: string, description: string, min: number, max?: number) =>
  s.addIntegerOption((o) => {
    o.setName(name).setDescription(description).setMinValue(min);
    return max === undefined ? o : o.setMaxValue(max);
  });

const NAME_STYLE_LABELS: Record<NameStyle, string> = {
  nickname: "Server nickname (default)",
  display_name: "Display name",
  username: "Username",
  none: "No names",
};

export const AREA_DESCRIPTIONS: Record<SettingsArea, string> = {
  speech: "Default voice, model, speed, emotion and language",
  channels: "Where narrations and request cards are posted",
  limits: "Character budgets, cooldowns and narration limits",
  access: "Who may use /speak, approve requests and design voices",
  "voice-channel": "Join announcements and the voice backlog speed-up",
  reading: "Auto-read: which chat is read aloud and how",
};

export const AREA_EXAMPLES: Record<SettingsArea, string> = {
  speech: "`/settings speech voice:Calm_Woman`",
  channels: "`/settings channels narration_channel:#audio`",
  limits: "`/settings limits max_concurrent_jobs:3`",
  access: "`/settings access speak_enabled:false`",
  "voice-channel": "`/settings voice-channel join_announcements:true`",
  reading: "`/settings reading auto_read:true`",
};

/** Adds the area's options to its subcommand. */
export function addAreaOptions(s: Sub, area: SettingsArea): Sub {
  switch (area) {
    case "speech":
      return addVoiceSettingOptions(s, ["voice", "model", "speed", "emotion", "language"]);
    case "channels":
      channel(s, "narration_channel", "Where narration results are posted");
      return channel(s, "requests_channel", "Where narration request cards go");
    case "limits":
      count(s, "max_chars_per_request", "Most characters one request may have", 1, 100_000);
      count(s, "user_daily_chars", "Characters a member may use per day", 1);
      count(s, "guild_daily_chars", "Characters the server may use per day", 1);
      count(s, "guild_monthly_chars", "Characters the server may use per month", 1);
      count(s, "user_cooldown_seconds", "Seconds a member waits between requests, 0 to 3600", 0, 3600);
      count(s, "max_concurrent_jobs", "Narration jobs running at once for the server, 1 to 50", 1, 50);
      count(
        s,
        "narrate_cooldown_seconds",
        "Seconds a member waits between narrations, 0 to 86400",
        0,
        86_400,
      );
      return count(s, "max_open_jobs_per_member", "Unfinished narrations per member, 1 to 50", 1, 50);
    case "access":
      bool(s, "approval_required", "Narration requests need approval");
      role(s, "moderator_role", "Role that approves narration requests");
      bool(s, "speak_enabled", "Members may use /speak");
      role(s, "speak_role", "Role required to use /speak (@everyone: no role needed)");
      return s.addStringOption((o) =>
        o
          .setName("voice_design_access")
          .setDescription("Who may design new voices with /voice design")
          .addChoices(
            { name: "Every member (default)", value: "members" satisfies VoiceDesignAccess },
            { name: "Moderators only", value: "moderators" satisfies VoiceDesignAccess },
          ),
      );
    case "voice-channel":
      bool(s, "join_announcements", 'Say "Bob joined" and "Bob left" in the voice channel (default off)');
      bool(s, "backlog_speedup", "Speak a little faster while the voice queue is long");
      count(
        s,
        "backlog_threshold",
        "Clips that may wait in the voice queue before it speaks faster, 1 to 25",
        1,
        25,
      );
      return s.addNumberOption((o) =>
        o
          .setName("backlog_max_speed")
          .setDescription(`The fastest a long voice queue makes speech, 1 to ${SPEED_RANGE.max}`)
          .setMinValue(1)
          .setMaxValue(SPEED_RANGE.max),
      );
    case "reading":
      bool(s, "auto_read", "Read chat aloud in the voice channel I am in");
      bool(s, "read_bots", "Also read bots and webhooks");
      bool(s, "text_in_voice", "Also read the voice channel's own text chat (default on)");
      bool(s, "require_voice", "Only read members who are in my voice channel (default on)");
      role(s, "read_role", "Only read members with this role (@everyone: anyone)");
      role(s, "ignore_role", "Never read members with this role (@everyone: nobody ignored)");
      bool(s, "ignore_audience", "In stage channels, do not read the audience (default on)");
      s.addStringOption((o) =>
        o
          .setName("name_style")
          .setDescription("Which name is spoken for a member")
          .addChoices(...NAME_STYLES.map((v) => ({ name: NAME_STYLE_LABELS[v], value: v }))),
      );
      s.addStringOption((o) =>
        o
          .setName("name_template")
          .setDescription("Said before a new speaker, with {name} once (default: {name} said)")
          .setMinLength(1)
          .setMaxLength(NAME_TEMPLATE_MAX),
      );
      s.addStringOption((o) =>
        o
          .setName("skip_prefixes")
          .setDescription(
            "Messages starting with these are not read, space-separated (default: ! //), or none",
          )
          .setMinLength(1)
          .setMaxLength(SKIP_PREFIXES_MAX * (SKIP_PREFIX_MAX_CHARS + 1)),
      );
      count(
        s,
        "max_length",
        `Longest message read, in characters, ${READ_MAX_CHARS_RANGE.min} to ${READ_MAX_CHARS_RANGE.max} (default 300)`,
        READ_MAX_CHARS_RANGE.min,
        READ_MAX_CHARS_RANGE.max,
      );
      return bool(s, "describe_files", 'Say "Alice sent an image" for files and stickers (default on)');
  }
}

/**
 * A role option where @everyone means "no role": every member has it, so requiring it is no
 * requirement and ignoring it would silence everyone. `null` clears the saved role.
 */
function roleOrNone(role: Role | APIRole | null, guildId: string): string | null | undefined {
  if (!role) return undefined;
  return role.id === guildId ? null : role.id;
}

/** The area's given options as a patch (only the sections the area covers). */
export function readAreaPatch(
  interaction: ChatInputCommandInteraction,
  area: SettingsArea,
  guildId: string,
): GuildSettingsPatch {
  const o = interaction.options;
  const int = (name: string) => o.getInteger(name) ?? undefined;
  const flag = (name: string) => o.getBoolean(name) ?? undefined;
  switch (area) {
    case "speech":
      return { defaults: defined(parseOptions(VoiceDefaultsSchema, readVoiceSettingOptions(interaction))) };
    case "channels":
      return {
        channels: defined({
          narration: o.getChannel("narration_channel")?.id,
          requests: o.getChannel("requests_channel")?.id,
        }),
      };
    case "limits":
      return {
        limits: defined({
          maxCharsPerRequest: int("max_chars_per_request"),
          userDailyChars: int("user_daily_chars"),
          guildDailyChars: int("guild_daily_chars"),
          guildMonthlyChars: int("guild_monthly_chars"),
          userCooldownSeconds: int("user_cooldown_seconds"),
          maxConcurrentJobs: int("max_concurrent_jobs"),
          narrateCooldownSeconds: int("narrate_cooldown_seconds"),
          maxOpenJobsPerMember: int("max_open_jobs_per_member"),
        }),
      };
    case "access": {
      const design = o.getString("voice_design_access");
      return {
        requests: defined({
          approvalRequired: flag("approval_required"),
          moderatorRoleId: o.getRole("moderator_role")?.id,
        }),
        speak: defined({
          enabled: flag("speak_enabled"),
          requiredRoleId: roleOrNone(o.getRole("speak_role"), guildId),
        }),
        voices: defined({
          designAccess: design === null ? undefined : (design as VoiceDesignAccess),
        }),
      };
    }
    case "voice-channel":
      return {
        voice: defined({
          joinAnnouncements: flag("join_announcements"),
          backlogSpeedup: flag("backlog_speedup"),
          backlogThreshold: int("backlog_threshold"),
          backlogMaxSpeed: o.getNumber("backlog_max_speed") ?? undefined,
        }),
      };
    case "reading": {
      const prefixes = o.getString("skip_prefixes");
      const style = o.getString("name_style");
      return {
        reading: defined({
          autoRead: flag("auto_read"),
          readBots: flag("read_bots"),
          textInVoice: flag("text_in_voice"),
          requireVoice: flag("require_voice"),
          requiredRoleId: roleOrNone(o.getRole("read_role"), guildId),
          ignoredRoleId: roleOrNone(o.getRole("ignore_role"), guildId),
          ignoreAudience: flag("ignore_audience"),
          nameStyle: style === null ? undefined : (style as NameStyle),
          nameTemplate: o.getString("name_template") ?? undefined,
          skipPrefixes: prefixes === null ? undefined : parseSkipPrefixes(prefixes),
          maxChars: int("max_length"),
          describeFiles: flag("describe_files"),
        }),
      };
    }
  }
}

/** Whether a patch changes nothing (no option given). */
export function isEmptyPatch(patch: GuildSettingsPatch): boolean {
  return Object.values(patch).every((section) => section === undefined || Object.keys(section).length === 0);
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
