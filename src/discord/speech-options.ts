import type { AutocompleteInteraction } from "discord.js";
import type { z } from "zod";
import { EMOTIONS, MINIMAX_MODELS } from "../tts/models.ts";
import { languageBoostChoices } from "../tts/voice-browser.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { BotContext } from "./context.ts";

/** Option pieces shared by the commands that take voice settings (`/speak`, `/voice set`). */

export const MODEL_CHOICES = MINIMAX_MODELS.map((m) => ({ name: m, value: m }));
export const EMOTION_CHOICES = EMOTIONS.map((e) => ({ name: e, value: e }));

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
