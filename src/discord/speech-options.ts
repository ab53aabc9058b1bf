import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  SlashCommandOptionsOnlyBuilder,
} from "discord.js";
import type { z } from "zod";
import { EMOTIONS, MINIMAX_MODELS, SOUND_EFFECTS } from "../speech/models.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { languageBoostChoices } from "../voices/voice-browser.ts";
import type { BotContext } from "./context.ts";

/** Option pieces shared by the commands that take voice settings (`/speak`, `/voice set`). */

export const MODEL_CHOICES = MINIMAX_MODELS.map((m) => ({ name: m, value: m }));
export const EMOTION_CHOICES = EMOTIONS.map((e) => ({ name: e, value: e }));

/** The voice and audio options `/speak` and `/narrate` share, added after their own options. */
export function addVoiceSettingOptions(b: SlashCommandOptionsOnlyBuilder): SlashCommandOptionsOnlyBuilder {
  b.addStringOption((o) =>
    o
      .setName("voice")
      .setDescription("Voice (start typing to search)")
      .setAutocomplete(true)
      .setMaxLength(256),
  )
    .addStringOption((o) =>
      o
        .setName("model")
        .setDescription("Speech model")
        .addChoices(...MODEL_CHOICES),
    )
    .addNumberOption((o) =>
      o.setName("speed").setDescription("Speed, 0.5 to 2 (default 1)").setMinValue(0.5).setMaxValue(2),
    )
    .addIntegerOption((o) =>
      o
        .setName("pitch")
        .setDescription("Pitch in semitones, -12 to 12 (default 0)")
        .setMinValue(-12)
        .setMaxValue(12),
    )
    .addNumberOption((o) =>
      o.setName("volume").setDescription("Volume, 0.1 to 10 (default 1)").setMinValue(0.1).setMaxValue(10),
    )
    .addStringOption((o) =>
      o
        .setName("emotion")
        .setDescription("Emotion (fluent and whisper need a speech-2.6 model)")
        .addChoices(...EMOTION_CHOICES),
    )
    .addStringOption((o) =>
      o.setName("language").setDescription("Language boost (start typing)").setAutocomplete(true),
    )
    .addStringOption((o) =>
      o
        .setName("effect")
        .setDescription("Sound effect")
        .addChoices(...SOUND_EFFECTS.map((e) => ({ name: e.replace("_", " "), value: e }))),
    );
  return b;
}

/** The raw values of those options, for a zod schema to parse. */
export function readVoiceSettingOptions(interaction: ChatInputCommandInteraction) {
  const o = interaction.options;
  return {
    voice: o.getString("voice") ?? undefined,
    model: o.getString("model") ?? undefined,
    speed: o.getNumber("speed") ?? undefined,
    pitch: o.getInteger("pitch") ?? undefined,
    volume: o.getNumber("volume") ?? undefined,
    emotion: o.getString("emotion") ?? undefined,
    language: o.getString("language") ?? undefined,
    effect: o.getString("effect") ?? undefined,
  };
}

/** Autocomplete for the `voice` (provider voices, recent ones first) and `language` options. */
export async function completeVoiceOrLanguage(
  interaction: AutocompleteInteraction,
  ctx: BotContext,
): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name === "language") {
    await interaction.respond(languageBoostChoices(focused.value));
    return;
  }
  if (focused.name === "voice") {
    const user = await ctx.users.get(interaction.user.id);
    await interaction.respond(
      await ctx.voices.search(focused.value, { recent: user.recentVoices, limit: 25 }),
    );
    return;
  }
  await interaction.respond([]);
}

/** The first problem zod found in the options, as a sentence for the member. */
export function invalidOptionError(error: z.ZodError): UserFacingError {
  const issue = error.issues[0];
  return new UserFacingError(
    `The ${String(issue?.path[0] ?? "given")} option is not valid: ${issue?.message}.`,
  );
}
