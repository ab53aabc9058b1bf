import {
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  SlashCommandBuilder,
} from "discord.js";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import {
  addDesignSubcommands,
  completeDesign,
  DESIGN_ACCESS,
  executeDesign,
  isDesignSubcommand,
} from "../src/discord/designed-voice-command.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import {
  addVoiceSettingOptions,
  assertDefaultsFit,
  completeVoiceOrLanguage,
  parseOptions,
  readVoiceSettingOptions,
  VOICE_DEFAULT_OPTIONS,
} from "../src/discord/speech-options.ts";
import { type VoiceDefaults, VoiceDefaultsSchema } from "../src/settings/voice-defaults.ts";

const data = new SlashCommandBuilder()
  .setName("voice")
  .setDescription("Your voice defaults for /speak, and whether you are read aloud")
  .addSubcommand((s) =>
    addVoiceSettingOptions(
      s.setName("set").setDescription("Save defaults used when you leave an option out"),
      VOICE_DEFAULT_OPTIONS,
    ),
  )
  .addSubcommand((s) => s.setName("show").setDescription("Show your saved defaults"))
  .addSubcommand((s) => s.setName("reset").setDescription("Forget your saved defaults"))
  .addSubcommand((s) =>
    s
      .setName("read-me")
      .setDescription("Whether the bot reads your messages aloud and announces you in voice channels")
      .addBooleanOption((o) =>
        o.setName("enabled").setDescription("false: never read or announce me").setRequired(true),
      ),
  );

// Designed voices: design, design-share, design-delete (see designed-voice-command.ts).
addDesignSubcommands(data);

function describe(d: VoiceDefaults, ctx: BotContext): string {
  const line = (label: string, value: unknown, fallback: string) =>
    `**${label}:** ${value === undefined ? `${fallback} *(bot default)*` : `\`${String(value)}\``}`;
  return [
    line("Voice", d.voice, ctx.config.defaultVoice),
    line("Model", d.model, ctx.config.model),
    line("Speed", d.speed, "1"),
    line("Pitch", d.pitch, "0"),
    line("Emotion", d.emotion, "automatic"),
    line("Language", d.language, "none"),
  ].join("\n");
}

/**
 * The member's own opt-out: auto-read skips their messages and join/leave announcements skip them in
 * every server, and "Read aloud" on their messages works only for themselves.
 */
function readMeLine(optedOut: boolean): string {
  return optedOut
    ? "**Read aloud:** off: your messages are not read in voice channels, you are not announced, and only you can use Read aloud on your messages."
    : "**Read aloud:** on: servers that turn on auto-read can read your messages in voice channels (`/voice read-me enabled:false` to opt out).";
}

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  if (isDesignSubcommand(sub)) return executeDesign(sub, interaction, ctx);
  const userId = interaction.user.id;
  if (sub === "show") {
    const record = await ctx.users.get(userId);
    await replyEphemeral(
      interaction,
      `Your /speak defaults:\n${describe(record.defaults, ctx)}\n${readMeLine(record.optedOut)}`,
    );
    return;
  }
  if (sub === "read-me") {
    const enabled = interaction.options.getBoolean("enabled", true);
    await ctx.users.setOptedOut(userId, !enabled);
    await replyEphemeral(interaction, readMeLine(!enabled));
    return;
  }
  if (sub === "reset") {
    await ctx.users.resetDefaults(userId);
    await replyEphemeral(interaction, "Your defaults are cleared; /speak uses the bot's defaults again.");
    return;
  }
  const patch = parseOptions(VoiceDefaultsSchema, readVoiceSettingOptions(interaction));
  if (Object.values(patch).every((v) => v === undefined)) {
    throw new UserFacingError("Give at least one option to save, for example `/voice set voice:Wise_Woman`.");
  }
  assertDefaultsFit(patch, (await ctx.users.get(userId)).defaults, ctx.config.model);
  const saved = await ctx.users.setDefaults(userId, patch);
  await replyEphemeral(interaction, `Saved. Your /speak defaults are now:\n${describe(saved.defaults, ctx)}`);
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(false);
  if (sub && isDesignSubcommand(sub)) return completeDesign(sub, interaction, ctx);
  return completeVoiceOrLanguage(interaction, ctx);
}

export default {
  data,
  access: { subcommands: DESIGN_ACCESS },
  execute,
  autocomplete,
} satisfies CommandModule;
