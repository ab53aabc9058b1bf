import { type ChatInputCommandInteraction, MessageFlags, SlashCommandBuilder } from "discord.js";
import { UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import {
  completeVoiceOrLanguage,
  EMOTION_CHOICES,
  invalidOptionError,
  MODEL_CHOICES,
  readVoiceSettingOptions,
} from "../src/discord/speech-options.ts";
import { type VoiceDefaults, VoiceDefaultsSchema } from "../src/settings/voice-defaults.ts";
import { assertEmotionFits } from "../src/speech/models.ts";

export const data = new SlashCommandBuilder()
  .setName("voice")
  .setDescription("Your personal voice defaults for /speak")
  .addSubcommand((s) =>
    s
      .setName("set")
      .setDescription("Save defaults used when you leave an option out")
      .addStringOption((o) => o.setName("voice").setDescription("Voice (start typing)").setAutocomplete(true))
      .addStringOption((o) =>
        o
          .setName("model")
          .setDescription("Speech model")
          .addChoices(...MODEL_CHOICES),
      )
      .addNumberOption((o) => o.setName("speed").setDescription("0.5 to 2").setMinValue(0.5).setMaxValue(2))
      .addIntegerOption((o) =>
        o.setName("pitch").setDescription("-12 to 12").setMinValue(-12).setMaxValue(12),
      )
      .addStringOption((o) =>
        o
          .setName("emotion")
          .setDescription("Emotion")
          .addChoices(...EMOTION_CHOICES),
      )
      .addStringOption((o) => o.setName("language").setDescription("Language boost").setAutocomplete(true)),
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

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  const userId = interaction.user.id;
  if (sub === "show") {
    const record = await ctx.users.get(userId);
    await reply(interaction, `Your /speak defaults:\n${describe(record.defaults, ctx)}`);
    return;
  }
  if (sub === "reset") {
    await ctx.users.resetDefaults(userId);
    await reply(interaction, "Your defaults are cleared; /speak uses the bot's defaults again.");
    return;
  }
  const patch = VoiceDefaultsSchema.safeParse(readVoiceSettingOptions(interaction));
  if (!patch.success) throw invalidOptionError(patch.error);
  if (Object.values(patch.data).every((v) => v === undefined)) {
    throw new UserFacingError("Give at least one option to save, for example `/voice set voice:Wise_Woman`.");
  }
  const current = (await ctx.users.get(userId)).defaults;
  const emotion = patch.data.emotion ?? current.emotion;
  if (emotion) assertEmotionFits(patch.data.model ?? current.model ?? ctx.config.model, emotion);
  const saved = await ctx.users.setDefaults(userId, patch.data);
  await reply(interaction, `Saved. Your /speak defaults are now:\n${describe(saved.defaults, ctx)}`);
}

async function reply(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}

export const autocomplete = completeVoiceOrLanguage;
