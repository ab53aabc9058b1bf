import {
  ActionRowBuilder,
  AttachmentBuilder,
  type AutocompleteInteraction,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  EmbedBuilder,
  MessageFlags,
  SlashCommandBuilder,
} from "discord.js";
import { actorOf } from "../src/discord/actor.ts";
import {
  type CommandModule,
  type ComponentInteraction,
  customId,
  parseCustomId,
} from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import type { VoiceInfo } from "../src/speech/types.ts";
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
  // Paging first (where it has always been), then a ▶ per voice shown.
  const rows = view.pages > 1 ? [buttons(view, language, search)] : [];
  rows.push(...previewRows(view.items));
  return { embeds: [embed(view, language, search)], components: rows };
}

const PREVIEW_PREFIX = "voices:preview:";

/** One ▶ button per voice shown, five to a row; an id too long for a custom id gets none. */
function previewRows(items: VoiceInfo[]): ActionRowBuilder<ButtonBuilder>[] {
  const fits = items.filter((v) => PREVIEW_PREFIX.length + v.voiceId.length <= 100);
  const rows: ActionRowBuilder<ButtonBuilder>[] = [];
  for (let i = 0; i < fits.length; i += 5) {
    rows.push(
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        fits.slice(i, i + 5).map((v) =>
          new ButtonBuilder()
            .setCustomId(customId("voices", "preview", v.voiceId))
            .setLabel(`▶ ${previewLabel(v)}`)
            .setStyle(ButtonStyle.Primary),
        ),
      ),
    );
  }
  return rows;
}

/** The name people see (`English_CalmWoman` → "CalmWoman"), short enough for a button. */
function previewLabel(v: VoiceInfo): string {
  const label = v.name && v.name !== v.voiceId ? v.name : v.voiceId.replace(/^[A-Za-z]+(?: \([^)]+\))?_/, "");
  return label.length > 40 ? `${label.slice(0, 39)}…` : label;
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
      text: `Page ${view.page + 1} of ${view.pages} · ${view.total} voices · ▶ plays a sample only you hear · use one with /speak voice:<id> or /voice set`,
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

/**
 * `voices:page:<n>:<language>:<search>` (the filters without colons, see execute) turns the page;
 * `voices:preview:<voice id>` plays that voice's preview privately.
 */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const { action, args } = parseCustomId(interaction.customId);
  if (action === "preview") {
    await preview(interaction, ctx, args.join(":"));
    return;
  }
  const [page = "0", language = "", ...search] = args;
  await interaction.update(await render(ctx, language, search.join(":"), Number(page) || 0));
}

/** A short sample in the member's model, as an ephemeral mp3 (voice messages cannot be private). */
async function preview(interaction: ComponentInteraction, ctx: BotContext, voiceId: string): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const actor = actorOf(interaction);
  const user = await ctx.users.get(actor.userId);
  const guild = actor.guildId ? await ctx.guildSettings.get(actor.guildId) : undefined;
  const model = user.defaults.model ?? guild?.defaults.model ?? ctx.config.model;
  const clip = await ctx.previews.play({ actor, voiceId, model });
  const seconds = clip.durationMs === undefined ? "" : ` · ${(clip.durationMs / 1000).toFixed(1)} s`;
  await interaction.editReply({
    content: `▶ \`${voiceId}\` with \`${model}\`${seconds}: “${clip.text}”\nUse it with \`/speak voice:${voiceId}\` or save it with \`/voice set\`.`,
    files: [new AttachmentBuilder(clip.audio, { name: "voice-preview.mp3" })],
    allowedMentions: NO_PINGS,
  });
}

async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const languages = voiceLanguages(await ctx.voices.list());
  await interaction.respond(filterChoices(languages, interaction.options.getFocused()));
}

export default { data, execute, component, autocomplete } satisfies CommandModule;
