import {
  ActionRowBuilder,
  type AutocompleteInteraction,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  EmbedBuilder,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import {
  type CommandModule,
  type ComponentInteraction,
  customId,
  parseCustomId,
} from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { browseVoices, filterChoices, type VoicePage, voiceLanguages } from "../src/voices/voice-browser.ts";
import { voiceLanguage } from "../src/voices/voice-catalog.ts";

const data = new SlashCommandBuilder()
  .setName("voices")
  .setDescription("Browse the available voices")
  .addStringOption((o) =>
    o.setName("language").setDescription("Only voices of this language").setAutocomplete(true),
  )
  .addStringOption((o) => o.setName("search").setDescription("Part of a voice id or name").setMaxLength(40));

/** Kept short so `voices:page:<n>:<language>:<search>` stays within Discord's 100-character custom ids. */
const PAGE_SIZE = 10;

async function render(ctx: BotContext, language: string, search: string, page: number) {
  const list = await ctx.voices.list();
  const view = browseVoices(list, { language, query: search, page, pageSize: PAGE_SIZE });
  return {
    embeds: [embed(view, language, search)],
    components: view.pages > 1 ? [buttons(view, language, search)] : [],
  };
}

function embed(view: VoicePage, language: string, search: string): EmbedBuilder {
  const filters = [language && `language ${language}`, search && `matching “${search}”`]
    .filter(Boolean)
    .join(", ");
  const lines = view.items.map((v) => {
    const name = v.name && v.name !== v.voiceId ? ` — ${v.name}` : "";
    return `\`${v.voiceId}\`${name} · ${voiceLanguage(v.voiceId)}`;
  });
  return new EmbedBuilder()
    .setTitle(`Voices${filters ? ` (${filters})` : ""}`)
    .setDescription(lines.length > 0 ? lines.join("\n") : "No voice matches. Try another language or search.")
    .setFooter({
      text: `Page ${view.page + 1} of ${view.pages} · ${view.total} voices · use one with /speak voice:<id> or /voice set`,
    });
}

function buttons(view: VoicePage, language: string, search: string) {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(customId("voices", "page", view.page - 1, language, search))
      .setLabel("Previous")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(view.page === 0),
    new ButtonBuilder()
      .setCustomId(customId("voices", "page", view.page + 1, language, search))
      .setLabel("Next")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(view.page >= view.pages - 1),
  );
}

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const language = interaction.options.getString("language")?.replaceAll(":", "") ?? "";
  const search = interaction.options.getString("search")?.replaceAll(":", "") ?? "";
  await interaction.editReply(await render(ctx, language, search, 0));
}

/** `voices:page:<n>:<language>:<search>`, the filters without colons (see execute). */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const [page = "0", language = "", ...search] = parseCustomId(interaction.customId).args;
  await interaction.update(await render(ctx, language, search.join(":"), Number(page) || 0));
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const languages = voiceLanguages(await ctx.voices.list());
  await interaction.respond(filterChoices(languages, interaction.options.getFocused()));
}

export default { data, execute, component, autocomplete } satisfies CommandModule;
