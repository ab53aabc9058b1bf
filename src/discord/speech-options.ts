import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  SharedSlashCommandOptions,
} from "discord.js";
import type { z } from "zod";
import type { VoiceDefaults } from "../settings/voice-defaults.ts";
import type { SpeakFormat } from "../speak/speak-options.ts";
import {
  assertEmotionFits,
  EMOTIONS,
  type Emotion,
  MINIMAX_MODELS,
  SOUND_EFFECTS,
} from "../speech/models.ts";
import { PITCH_RANGE, rangeText, SPEED_RANGE, VOLUME_RANGE } from "../speech/ranges.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { languageBoostChoices } from "../voices/voice-browser.ts";
import type { BotContext } from "./context.ts";

/**
 * The voice and audio options, built once for every command that takes them (`/speak`, `/narrate`,
 * `/voice set`, `/settings set`), read once, and their autocomplete.
 */

export const VOICE_SETTING_OPTIONS = [
  "voice",
  "model",
  "speed",
  "pitch",
  "volume",
  "emotion",
  "language",
  "effect",
] as const;
export type VoiceSettingOption = (typeof VOICE_SETTING_OPTIONS)[number];

/** The options a member or a server can save as defaults (`VoiceDefaultsSchema`'s fields). */
export const VOICE_DEFAULT_OPTIONS = [
  "voice",
  "model",
  "speed",
  "pitch",
  "emotion",
  "language",
] as const satisfies readonly VoiceSettingOption[];

/** One voice setting option, as every command shows it. */
function addOption<T extends SharedSlashCommandOptions<T>>(
  b: SharedSlashCommandOptions<T>,
  name: VoiceSettingOption,
): T {
  switch (name) {
    case "voice":
      return b.addStringOption((o) =>
        o
          .setName("voice")
          .setDescription("Voice (start typing to search)")
          .setAutocomplete(true)
          .setMaxLength(256),
      );
    case "model":
      return b.addStringOption((o) =>
        o
          .setName("model")
          .setDescription("Speech model")
          .addChoices(...MINIMAX_MODELS.map((m) => ({ name: m, value: m }))),
      );
    case "speed":
      return b.addNumberOption((o) =>
        o
          .setName("speed")
          .setDescription(`Speed, ${rangeText(SPEED_RANGE)} (default 1)`)
          .setMinValue(SPEED_RANGE.min)
          .setMaxValue(SPEED_RANGE.max),
      );
    case "pitch":
      return b.addIntegerOption((o) =>
        o
          .setName("pitch")
          .setDescription(`Pitch in semitones, ${rangeText(PITCH_RANGE)} (default 0)`)
          .setMinValue(PITCH_RANGE.min)
          .setMaxValue(PITCH_RANGE.max),
      );
    case "volume":
      return b.addNumberOption((o) =>
        o
          .setName("volume")
          .setDescription(`Volume, ${rangeText(VOLUME_RANGE)} (default 1)`)
          .setMinValue(VOLUME_RANGE.min)
          .setMaxValue(VOLUME_RANGE.max),
      );
    case "emotion":
      return b.addStringOption((o) =>
        o
          .setName("emotion")
          .setDescription("Emotion (fluent and whisper need a speech-2.6 model)")
          .addChoices(...EMOTIONS.map((e) => ({ name: e, value: e }))),
      );
    case "language":
      return b.addStringOption((o) =>
        o.setName("language").setDescription("Language boost (start typing)").setAutocomplete(true),
      );
    case "effect":
      return b.addStringOption((o) =>
        o
          .setName("effect")
          .setDescription("Sound effect")
          .addChoices(...SOUND_EFFECTS.map((e) => ({ name: e.replace("_", " "), value: e }))),
      );
  }
}

/**
 * Adds the voice setting options to a command or subcommand, after its own: all of them (`/speak`,
 * `/narrate`), or those listed, in the canonical order.
 */
export function addVoiceSettingOptions<T extends SharedSlashCommandOptions<T>>(
  builder: SharedSlashCommandOptions<T>,
  only: readonly VoiceSettingOption[] = VOICE_SETTING_OPTIONS,
): T {
  let current = builder;
  for (const name of VOICE_SETTING_OPTIONS) if (only.includes(name)) current = addOption(current, name);
  return current as T;
}

const FORMAT_NAMES: Record<SpeakFormat, string> = {
  mp3: "mp3",
  wav: "wav",
  flac: "flac",
  voice: "voice message",
};

/** The `format` option, offering the formats a command can deliver (`/speak` all, narrations mp3 and flac). */
export function addFormatOption<T extends SharedSlashCommandOptions<T>>(
  builder: SharedSlashCommandOptions<T>,
  formats: readonly SpeakFormat[],
): T {
  return builder.addStringOption((o) =>
    o
      .setName("format")
      .setDescription("Audio format (default mp3)")
      .addChoices(...formats.map((f) => ({ name: FORMAT_NAMES[f], value: f }))),
  );
}

/** The raw values of those options (absent ones undefined), for a zod schema to parse. */
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

/** Parses option values with a schema; the first problem becomes a sentence for the member. */
export function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidOptionError(parsed.error);
  return parsed.data;
}

/**
 * Saved defaults must stay playable: the emotion saved or being saved has to work with the model saved
 * or being saved (or the bot's, when none is).
 */
export function assertDefaultsFit(
  patch: { model?: string | null; emotion?: Emotion | null },
  current: Pick<VoiceDefaults, "model" | "emotion">,
  botModel: string,
): void {
  const emotion = patch.emotion ?? current.emotion;
  if (emotion) assertEmotionFits(patch.model ?? current.model ?? botModel, emotion);
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
    // The member's designed voices (and the server's shared ones) first, under their names.
    const designed = interaction.guildId
      ? await ctx.designedVoices.choices(interaction.guildId, interaction.user.id, focused.value)
      : [];
    const taken = new Set(designed.map((c) => c.value));
    const catalog = await ctx.voices.search(focused.value, { recent: user.recentVoices, limit: 25 });
    await interaction.respond([...designed, ...catalog.filter((c) => !taken.has(c.value))].slice(0, 25));
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
