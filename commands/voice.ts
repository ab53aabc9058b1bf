import {
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import { EMOTIONS, MINIMAX_MODELS, modelCapabilities } from "../src/tts/models.ts";
import { type VoiceDefaults, VoiceDefaultsSchema } from "../src/tts/speak-options.ts";
import { languageBoostChoices } from "../src/tts/voice-browser.ts";

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
          .addChoices(...MINIMAX_MODELS.map((m) => ({ name: m, value: m }))),
      )
      .addNumberOption((o) => o.setName("speed").setDescription("0.5 to 2").setMinValue(0.5).setMaxValue(2))
      .addIntegerOption((o) =>
        o.setName("pitch").setDescription("-12 to 12").setMinValue(-12).setMaxValue(12),
      )
      .addStringOption((o) =>
        o
          .setName("emotion")
          .setDescription("Emotion")
          .addChoices(...EMOTIONS.map((e) => ({ name: e, value: e }))),
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
  const o = interaction.options;
  const patch = VoiceDefaultsSchema.safeParse({
    voice: o.getString("voice") ?? undefined,
    model: o.getString("model") ?? undefined,
    speed: o.getNumber("speed") ?? undefined,
    pitch: o.getInteger("pitch") ?? undefined,
    emotion: o.getString("emotion") ?? undefined,
    language: o.getString("language") ?? undefined,
  });
  if (!patch.success) {
    const issue = patch.error.issues[0]!;
    throw new UserFacingError(`The ${String(issue.path[0])} option is not valid: ${issue.message}.`);
  }
  if (Object.values(patch.data).every((v) => v === undefined)) {
    throw new UserFacingError("Give at least one option to save, for example `/voice set voice:Wise_Woman`.");
  }
  const current = await ctx.users.get(userId);
  const merged = {
    ...current.defaults,
    ...Object.fromEntries(Object.entries(patch.data).filter(([, v]) => v !== undefined)),
  };
  const model = merged.model ?? ctx.config.model;
  const emotion = merged.emotion;
  if (emotion && !modelCapabilities(model).emotions.includes(emotion === "neutral" ? "calm" : emotion)) {
    throw new UserFacingError(
      `The emotion "${emotion}" does not work with ${model}. It accepts: ${modelCapabilities(model).emotions.join(", ")}.`,
    );
  }
  const saved = await ctx.users.setDefaults(userId, patch.data);
  await reply(interaction, `Saved. Your /speak defaults are now:\n${describe(saved.defaults, ctx)}`);
}

async function reply(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}

export async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name === "language") {
    await interaction.respond(languageBoostChoices(focused.value));
    return;
  }
  const user = await ctx.users.get(interaction.user.id);
  await interaction.respond(await ctx.voices.search(focused.value, { recent: user.recentVoices }));
}
