import { type ChatInputCommandInteraction, SlashCommandBuilder } from "discord.js";
import { type CommandModule, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
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
  .setDescription("Your personal voice defaults for /speak")
  .addSubcommand((s) =>
    addVoiceSettingOptions(
      s.setName("set").setDescription("Save defaults used when you leave an option out"),
      VOICE_DEFAULT_OPTIONS,
    ),
  )
  .addSubcommand((s) => s.setName("show").setDescription("Show your saved defaults"))
  .addSubcommand((s) => s.setName("reset").setDescription("Forget your saved defaults"));

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

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  const userId = interaction.user.id;
  if (sub === "show") {
    const record = await ctx.users.get(userId);
    await replyEphemeral(interaction, `Your /speak defaults:\n${describe(record.defaults, ctx)}`);
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

export default { data, execute, autocomplete: completeVoiceOrLanguage } satisfies CommandModule;
