import { MessageFlags, type MessageMentionOptions, type RepliableInteraction } from "discord.js";

/** For every message that echoes user text: nobody gets pinged by what a user typed. */
export const NO_PINGS: MessageMentionOptions = Object.freeze({ parse: [] });

export const GENERIC_ERROR_MESSAGE = "Something went wrong on our side; it has been logged.";
export const UNAVAILABLE_MESSAGE = "This command is no longer available.";
export const RESTARTING_MESSAGE = "The bot is restarting; please try again in a moment.";

/** How an answer reached Discord, for logs and tests. */
export type AnswerMethod = "reply" | "editReply" | "followUp";

/**
 * Sends a private answer whatever state the interaction is in:
 * - not acknowledged yet → `reply`, ephemeral;
 * - acknowledged by an ephemeral `deferReply` and not edited since → `editReply`, replacing the
 *   private "thinking…" placeholder; a public placeholder is deleted and the answer follows privately;
 * - anything else → an ephemeral `followUp`: after a real answer, editing would destroy what the user
 *   already got (say, the audio), and after `deferUpdate` it would overwrite the message holding the
 *   button.
 */
export async function answerEphemeral(
  interaction: RepliableInteraction,
  text: string,
): Promise<AnswerMethod> {
  const content = fitMessage(text);
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    return "reply";
  }
  if (interaction.deferred && !interaction.replied && interaction.ephemeral === true) {
    await interaction.editReply({ content, allowedMentions: NO_PINGS });
    return "editReply";
  }
  if (interaction.deferred && !interaction.replied && interaction.ephemeral === false) {
    // A public "thinking…" placeholder: remove it, so the reason stays private instead of replacing
    // the placeholder in front of everyone.
    await interaction.deleteReply().catch(() => undefined);
  }
  await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  return "followUp";
}

/** A private answer for handlers' normal results (confirmations, refusals, lists). */
export async function replyEphemeral(interaction: RepliableInteraction, content: string): Promise<void> {
  await answerEphemeral(interaction, content);
}

/** Error answers, same choice of method; kept separate so error styling can change in one place. */
export async function respondError(
  interaction: RepliableInteraction,
  message: string,
): Promise<AnswerMethod> {
  return answerEphemeral(interaction, message);
}

/** Discord's message content limit. */
export const MAX_CONTENT_LENGTH = 2000;

/** A longer content is refused outright, which would turn an error answer into no answer at all. */
export function fitMessage(text: string): string {
  return text.length <= MAX_CONTENT_LENGTH ? text : `${text.slice(0, MAX_CONTENT_LENGTH - 1)}…`;
}
