import {
  ChannelType,
  type ChatInputCommandInteraction,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type SlashCommandSubcommandBuilder,
} from "discord.js";
import { guildIdOf } from "../src/discord/access.ts";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import {
  addVoiceSettingOptions,
  assertDefaultsFit,
  completeVoiceOrLanguage,
  parseOptions,
  readVoiceSettingOptions,
} from "../src/discord/speech-options.ts";
import {
  describeSettings,
  type GuildSettingsPatch,
  SETTINGS_SECTIONS,
  type SettingsSection,
} from "../src/settings/settings.ts";
import { VoiceDefaultsSchema } from "../src/settings/voice-defaults.ts";
import { SPEED_RANGE } from "../src/speech/ranges.ts";

/**
 * The options of `/settings set`, 24 of Discord's 25 per subcommand: 5 voice defaults, 2 channels,
 * 8 limits, 2 for requests, 2 for /speak, and 5 for voice channels (auto-read and the backlog speed-up).
 */
function addSetOptions(s: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  const channel = (name: string, description: string) =>
    s.addChannelOption((o) =>
      o.setName(name).setDescription(description).addChannelTypes(ChannelType.GuildText),
    );
  const count = (name: string, description: string, min: number, max?: number) =>
    s.addIntegerOption((o) => {
      o.setName(name).setDescription(description).setMinValue(min);
      return max === undefined ? o : o.setMaxValue(max);
    });
  // The server's voice defaults.
  addVoiceSettingOptions(s, ["voice", "model", "speed", "emotion", "language"]);
  channel("narration_channel", "Where narration results are posted");
  channel("requests_channel", "Where narration request cards go");
  count("max_chars_per_request", "Most characters one request may have", 1, 100_000);
  count("user_daily_chars", "Characters a member may use per day", 1);
  count("guild_daily_chars", "Characters the server may use per day", 1);
  count("guild_monthly_chars", "Characters the server may use per month", 1);
  count("user_cooldown_seconds", "Seconds a member waits between requests, 0 to 3600", 0, 3600);
  count("max_concurrent_jobs", "Narration jobs running at once for the server, 1 to 50", 1, 50);
  count("narrate_cooldown_seconds", "Seconds a member waits between narrations, 0 to 86400", 0, 86_400);
  count("max_open_jobs_per_member", "Unfinished narrations per member, 1 to 50", 1, 50);
  s.addBooleanOption((o) => o.setName("approval_required").setDescription("Narration requests need approval"))
    .addRoleOption((o) => o.setName("moderator_role").setDescription("Role that approves narration requests"))
    .addBooleanOption((o) => o.setName("speak_enabled").setDescription("Members may use /speak"))
    .addRoleOption((o) => o.setName("speak_role").setDescription("Role required to use /speak"))
    .addBooleanOption((o) =>
      o.setName("auto_read").setDescription("Read chat aloud in the channel bound by /join"),
    )
    .addBooleanOption((o) => o.setName("read_bots").setDescription("Auto-read also reads bots and webhooks"))
    .addBooleanOption((o) =>
      o.setName("backlog_speedup").setDescription("Speak a little faster while the voice queue is long"),
    );
  count(
    "backlog_threshold",
    "Clips that may wait in the voice queue before it speaks faster, 1 to 25",
    1,
    25,
  );
  s.addNumberOption((o) =>
    o
      .setName("backlog_max_speed")
      .setDescription(`The fastest a long voice queue makes speech, 1 to ${SPEED_RANGE.max}`)
      .setMinValue(1)
      .setMaxValue(SPEED_RANGE.max),
  );
  return s;
}

const data = new SlashCommandBuilder()
  .setName("settings")
  .setDescription("This server's text-to-speech settings")
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) => s.setName("show").setDescription("Show the server's settings"))
  .addSubcommand((s) => addSetOptions(s.setName("set").setDescription("Change one or more settings")))
  .addSubcommand((s) =>
    s
      .setName("reset")
      .setDescription("Put settings back to their defaults")
      .addStringOption((o) =>
        o
          .setName("section")
          .setDescription("Which part (default: all)")
          .addChoices(...[...SETTINGS_SECTIONS, "all"].map((v) => ({ name: v, value: v }))),
      ),
  );

/**
 * Every subcommand needs Manage Server. Discord hides the command from other members by default, but a
 * server can override that per role or channel, so the `access` declaration below is what holds.
 */
async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const sub = interaction.options.getSubcommand(true);
  if (sub === "show") {
    const settings = await ctx.guildSettings.get(guildId);
    await replyEphemeral(
      interaction,
      ["Settings for this server:", ...describeSettings(settings)].join("\n"),
    );
    return;
  }
  if (sub === "reset") {
    const choice = interaction.options.getString("section") ?? "all";
    const section = choice === "all" ? undefined : (choice as SettingsSection);
    const settings = await ctx.guildSettings.reset(guildId, section);
    const what = section === undefined ? "All settings are" : `The ${section} settings are`;
    await replyEphemeral(
      interaction,
      [`${what} back to their defaults.`, ...describeSettings(settings)].join("\n"),
    );
    return;
  }
  const patch = readPatch(interaction);
  if (Object.values(patch).every((section) => Object.keys(section).length === 0)) {
    throw new UserFacingError(
      "Give at least one setting to change, for example `/settings set max_concurrent_jobs:3`.",
    );
  }
  const defaults = patch.defaults ?? {};
  if (defaults.emotion !== undefined || defaults.model !== undefined) {
    // The store can only compare the two when both are saved; an unset model means the bot's own.
    assertDefaultsFit(defaults, (await ctx.guildSettings.get(guildId)).defaults, ctx.config.model);
  }
  const settings = await ctx.guildSettings.update(guildId, patch);
  await replyEphemeral(
    interaction,
    ["Saved. Settings for this server:", ...describeSettings(settings)].join("\n"),
  );
}

/** The given options as a patch; options left out are absent, so they keep their saved values. */
function readPatch(interaction: ChatInputCommandInteraction): Required<GuildSettingsPatch> {
  const o = interaction.options;
  const defaults = parseOptions(VoiceDefaultsSchema, readVoiceSettingOptions(interaction));
  return {
    defaults: defined(defaults),
    channels: defined({
      narration: o.getChannel("narration_channel")?.id,
      requests: o.getChannel("requests_channel")?.id,
    }),
    limits: defined({
      maxCharsPerRequest: o.getInteger("max_chars_per_request") ?? undefined,
      userDailyChars: o.getInteger("user_daily_chars") ?? undefined,
      guildDailyChars: o.getInteger("guild_daily_chars") ?? undefined,
      guildMonthlyChars: o.getInteger("guild_monthly_chars") ?? undefined,
      userCooldownSeconds: o.getInteger("user_cooldown_seconds") ?? undefined,
      maxConcurrentJobs: o.getInteger("max_concurrent_jobs") ?? undefined,
      narrateCooldownSeconds: o.getInteger("narrate_cooldown_seconds") ?? undefined,
      maxOpenJobsPerMember: o.getInteger("max_open_jobs_per_member") ?? undefined,
    }),
    requests: defined({
      approvalRequired: o.getBoolean("approval_required") ?? undefined,
      moderatorRoleId: o.getRole("moderator_role")?.id,
    }),
    speak: defined({
      enabled: o.getBoolean("speak_enabled") ?? undefined,
      requiredRoleId: o.getRole("speak_role")?.id,
    }),
    voice: defined({
      autoRead: o.getBoolean("auto_read") ?? undefined,
      readBots: o.getBoolean("read_bots") ?? undefined,
      backlogSpeedup: o.getBoolean("backlog_speedup") ?? undefined,
      backlogThreshold: o.getInteger("backlog_threshold") ?? undefined,
      backlogMaxSpeed: o.getNumber("backlog_max_speed") ?? undefined,
    }),
  };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export default {
  data,
  access: { guildOnly: true, permissions: ["ManageGuild"] },
  execute,
  autocomplete: completeVoiceOrLanguage,
} satisfies CommandModule;
