import {
  type ChatInputCommandInteraction,
  EmbedBuilder,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from "discord.js";
import { guildIdOf } from "../src/discord/access.ts";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import {
  AREA_DESCRIPTIONS,
  AREA_EXAMPLES,
  addAreaOptions,
  isEmptyPatch,
  readAreaPatch,
} from "../src/discord/settings-options.ts";
import { assertDefaultsFit, completeVoiceOrLanguage } from "../src/discord/speech-options.ts";
import {
  describeSettings,
  type GuildSettings,
  SETTINGS_AREA_NAMES,
  SETTINGS_AREAS,
  SETTINGS_SECTIONS,
  type SettingsArea,
  type SettingsSection,
} from "../src/settings/settings.ts";

/**
 * `/settings`: `show`, `reset`, and one subcommand per area (speech, channels, limits, access,
 * voice-channel, reading), each with its own options, so every setting fits Discord's 25 options per
 * subcommand with room to grow.
 */
const areaChoices = [...SETTINGS_AREA_NAMES, "all"].map((v) => ({ name: v, value: v }));

let data = new SlashCommandBuilder()
  .setName("settings")
  .setDescription("This server's text-to-speech settings")
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName("show")
      .setDescription("Show the server's settings")
      .addStringOption((o) =>
        o
          .setName("area")
          .setDescription("Which part (default: all)")
          .addChoices(...areaChoices),
      ),
  );
for (const area of SETTINGS_AREA_NAMES) {
  data = data.addSubcommand((s) =>
    addAreaOptions(s.setName(area).setDescription(AREA_DESCRIPTIONS[area]), area),
  );
}
data = data.addSubcommand((s) =>
  s
    .setName("reset")
    .setDescription("Put settings back to their defaults")
    .addStringOption((o) =>
      o
        .setName("section")
        .setDescription("Which part (default: all)")
        .addChoices(...areaChoices),
    ),
);

function areaOf(value: string | null): SettingsArea | undefined {
  return value !== null && value in SETTINGS_AREAS ? (value as SettingsArea) : undefined;
}

function sectionsOf(area: SettingsArea | undefined): readonly SettingsSection[] {
  return area === undefined ? SETTINGS_SECTIONS : SETTINGS_AREAS[area];
}

/** Every setting (or one area's) in an embed: all of them together exceed a message's 2,000 characters. */
function settingsEmbed(settings: GuildSettings, area: SettingsArea | undefined): EmbedBuilder {
  return new EmbedBuilder().setDescription(describeSettings(settings, sectionsOf(area)).join("\n"));
}

/**
 * Every subcommand needs Manage Server. Discord hides the command from other members by default, but a
 * server can override that per role or channel, so the `access` declaration below is what holds.
 */
async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const sub = interaction.options.getSubcommand(true);
  if (sub === "show") {
    const area = areaOf(interaction.options.getString("area"));
    const settings = await ctx.guildSettings.get(guildId);
    await replyEphemeral(interaction, {
      content: "Settings for this server:",
      embeds: [settingsEmbed(settings, area)],
    });
    return;
  }
  if (sub === "reset") {
    const area = areaOf(interaction.options.getString("section"));
    const settings = await ctx.guildSettings.reset(
      guildId,
      area === undefined ? undefined : SETTINGS_AREAS[area],
    );
    const what = area === undefined ? "All settings are" : `The ${area} settings are`;
    await replyEphemeral(interaction, {
      content: `${what} back to their defaults.`,
      embeds: [settingsEmbed(settings, area)],
    });
    return;
  }
  const area = areaOf(sub);
  if (area === undefined) throw new Error(`unknown /settings subcommand ${sub}`);
  const patch = readAreaPatch(interaction, area, guildId);
  if (isEmptyPatch(patch)) {
    throw new UserFacingError(`Give at least one setting to change, for example ${AREA_EXAMPLES[area]}.`);
  }
  const defaults = patch.defaults ?? {};
  if (defaults.emotion !== undefined || defaults.model !== undefined) {
    // The store can only compare the two when both are saved; an unset model means the bot's own.
    assertDefaultsFit(defaults, (await ctx.guildSettings.get(guildId)).defaults, ctx.config.model);
  }
  const settings = await ctx.guildSettings.update(guildId, patch);
  await replyEphemeral(
    interaction,
    ["Saved.", ...describeSettings(settings, SETTINGS_AREAS[area])].join("\n"),
  );
}

export default {
  data,
  access: { guildOnly: true, permissions: ["ManageGuild"] },
  execute,
  autocomplete: completeVoiceOrLanguage,
} satisfies CommandModule;
