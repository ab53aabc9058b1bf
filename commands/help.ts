import {
  type ChatInputCommandInteraction,
  EmbedBuilder,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";

export const data = new SlashCommandBuilder()
  .setName("help")
  .setDescription("What this bot can do and how to use it");

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const embed = new EmbedBuilder()
    .setTitle("Text to speech with MiniMax voices")
    .setDescription(
      "Type a text, get natural speech back in seconds, as an audio file or a voice message.\n" +
        `Voices come from ${ctx.config.provider === "aimlapi" ? "MiniMax through the AI/ML API" : "MiniMax"}; ` +
        `the default is \`${ctx.config.defaultVoice}\` on \`${ctx.config.model}\`.`,
    )
    .addFields(
      {
        name: "/speak text:…",
        value:
          "Speak a text (up to " +
          `${ctx.config.syncMaxChars} characters). Options: \`voice\` (start typing to search), \`model\`, ` +
          "`speed` (0.5–2), `pitch` (−12…12), `volume` (0.1–10), `emotion`, `language`, `effect`, " +
          "`format` (mp3, wav, flac or a voice message), `private` (only you see it).",
      },
      { name: "/voices", value: "Browse voices by language or search, page by page." },
      {
        name: "/voice set | show | reset",
        value:
          "Save your own defaults (voice, model, speed, pitch, emotion, language) so /speak needs only the text.",
      },
      {
        name: "Good to know",
        value:
          "Repeated requests for the same text and settings are served from a cache, instantly and at no cost. " +
          "Long audio is split into numbered parts to fit the upload limit. Nothing you type can ping anyone.",
      },
    );
  await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
}
