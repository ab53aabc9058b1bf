import {
  ActionRowBuilder,
  type Attachment,
  AttachmentBuilder,
  type AutocompleteInteraction,
  ButtonBuilder,
  ButtonStyle,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
} from "discord.js";
import { guildIdOf } from "../src/discord/access.ts";
import {
  type CommandModule,
  type ComponentInteraction,
  customId,
  parseCustomId,
  UserFacingError,
} from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { downloadBounded } from "../src/discord/download.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import {
  entryFrom,
  exportJson,
  exportText,
  IMPORT_FORMATS,
  type ImportProblem,
  importFormat,
  MAX_ENTRIES,
  MAX_ORIGINAL,
  MAX_REPLACEMENT,
  type PronunciationEntry,
  type PronunciationStore,
  parseImport,
} from "../src/settings/pronunciation.ts";
import { decodeTextFile, formatBytes, TextFileError } from "../src/text/text-file.ts";

/** A full 200-entry dictionary is far below this; anything bigger is not a dictionary. */
const MAX_IMPORT_BYTES = 256 * 1024;
const SHOWN_PROBLEMS = 10;
/** Leaves room in Discord's 2000-character message for the header and the code fence. */
const PAGE_CHARS = 1700;

const data = new SlashCommandBuilder()
  .setName("pronounce")
  .setDescription("This server's pronunciation dictionary, used by every /speak and /narrate here")
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName("add")
      .setDescription("Say a word differently, e.g. omg → oh my god, 处理 → (chu3)(li3), read → (riːd)")
      .addStringOption((o) =>
        o
          .setName("original")
          .setDescription("The word or phrase as written")
          .setMaxLength(MAX_ORIGINAL)
          .setRequired(true),
      )
      .addStringOption((o) =>
        o
          .setName("replacement")
          .setDescription("Plain text, pinyin/Jyutping with tones in parentheses, or IPA in parentheses")
          .setMaxLength(MAX_REPLACEMENT)
          .setRequired(true),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName("remove")
      .setDescription("Remove an entry")
      .addStringOption((o) =>
        o
          .setName("original")
          .setDescription("The word to remove (start typing)")
          .setMaxLength(MAX_ORIGINAL)
          .setAutocomplete(true)
          .setRequired(true),
      ),
  )
  .addSubcommand((s) => s.setName("list").setDescription("Show the dictionary"))
  .addSubcommand((s) =>
    s
      .setName("import")
      .setDescription("Load entries from a .txt (one per line) or .json file")
      .addAttachmentOption((o) => o.setName("file").setDescription("A .txt or .json file").setRequired(true))
      .addStringOption((o) =>
        o
          .setName("mode")
          .setDescription("Add to the dictionary (default) or replace it")
          .addChoices({ name: "merge", value: "merge" }, { name: "replace", value: "replace" }),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName("export")
      .setDescription("Download the dictionary")
      .addStringOption((o) =>
        o
          .setName("format")
          .setDescription("File format (default txt)")
          .addChoices({ name: "txt", value: "txt" }, { name: "json", value: "json" }),
      ),
  );

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const store = ctx.pronunciation;
  const o = interaction.options;
  const sub = o.getSubcommand(true);
  if (sub === "add") {
    const parsed = entryFrom(o.getString("original", true), o.getString("replacement", true));
    if (!parsed.ok) throw new UserFacingError(parsed.reason);
    const { replaced } = await store.add(guildId, parsed.entry);
    const was = replaced ? ` (was \`${code(replaced.replacement)}\`)` : "";
    await replyEphemeral(interaction, `Saved: ${show(parsed.entry)}${was}.`);
  } else if (sub === "remove") {
    const original = o.getString("original", true).trim();
    const removed = await store.remove(guildId, original);
    await replyEphemeral(
      interaction,
      removed ? `Removed \`${code(original)}\`.` : `There is no entry for \`${code(original)}\`.`,
    );
  } else if (sub === "list") {
    await replyEphemeral(interaction, listPage(await store.list(guildId), 0));
  } else if (sub === "import") {
    await importFile(interaction, store, guildId);
  } else {
    await exportFile(interaction, store, guildId);
  }
}

async function importFile(
  interaction: ChatInputCommandInteraction,
  store: PronunciationStore,
  guildId: string,
): Promise<void> {
  const file = interaction.options.getAttachment("file", true);
  const replace = interaction.options.getString("mode") === "replace";
  checkAttachment(file);
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const bytes = await downloadBounded(file.url, { maxBytes: MAX_IMPORT_BYTES });
  let text: string;
  try {
    text = decodeTextFile(bytes, { maxBytes: MAX_IMPORT_BYTES });
  } catch (err) {
    if (err instanceof TextFileError) throw new UserFacingError(err.message);
    throw err;
  }
  const { entries, problems } = parseImport(text, file.name);
  if (entries.length === 0) {
    await replyEphemeral(
      interaction,
      `Nothing imported: no valid entry in “${file.name}”.${listProblems(problems)}`,
    );
    return;
  }
  const result = replace ? await store.replaceAll(guildId, entries) : await store.merge(guildId, entries);
  const how = replace
    ? `Replaced the dictionary with ${result.total} entries`
    : `Imported ${entries.length} entries (${result.added} new, ${result.replaced} updated)`;
  await replyEphemeral(
    interaction,
    `${how} from “${file.name}”; it now has ${result.total}.${listProblems(problems)}`,
  );
}

/** Refused before downloading anything. */
function checkAttachment(file: Attachment): void {
  if (!importFormat(file.name)) {
    throw new UserFacingError(`Send a ${IMPORT_FORMATS.join(" or ")} file, not “${file.name}”.`);
  }
  if (file.size > MAX_IMPORT_BYTES) {
    throw new UserFacingError(
      `The file is ${formatBytes(file.size)}; dictionary files up to ${formatBytes(MAX_IMPORT_BYTES)} are accepted.`,
    );
  }
}

function listProblems(problems: readonly ImportProblem[]): string {
  if (problems.length === 0) return "";
  const shown = problems.slice(0, SHOWN_PROBLEMS).map((p) => `- line ${p.at}: ${p.reason}`);
  const more = problems.length > SHOWN_PROBLEMS ? [`…and ${problems.length - SHOWN_PROBLEMS} more.`] : [];
  return `\n${problems.length} skipped:\n${[...shown, ...more].join("\n")}`;
}

async function exportFile(
  interaction: ChatInputCommandInteraction,
  store: PronunciationStore,
  guildId: string,
): Promise<void> {
  const entries = await store.list(guildId);
  if (entries.length === 0) {
    await replyEphemeral(
      interaction,
      "The dictionary is empty; add entries with /pronounce add or /pronounce import.",
    );
    return;
  }
  const json = interaction.options.getString("format") === "json";
  const file = new AttachmentBuilder(Buffer.from(json ? exportJson(entries) : exportText(entries), "utf8"), {
    name: `pronunciation.${json ? "json" : "txt"}`,
  });
  await replyEphemeral(interaction, { content: `${entries.length} entries.`, files: [file] });
}

/** Pages cut by length, not count: 200 entries of up to 151 characters do not fit one message. */
function paginate(entries: readonly PronunciationEntry[]): string[][] {
  const pages: string[][] = [];
  let page: string[] = [];
  let size = 0;
  for (const e of entries) {
    const line = `${code(e.original)} → ${code(e.replacement)}`;
    if (page.length > 0 && size + line.length + 1 > PAGE_CHARS) {
      pages.push(page);
      page = [];
      size = 0;
    }
    page.push(line);
    size += line.length + 1;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

function listPage(entries: readonly PronunciationEntry[], requested: number) {
  const pages = paginate(entries);
  if (pages.length === 0) {
    return {
      content:
        "The dictionary is empty. Add an entry with `/pronounce add original:omg replacement:oh my god`.",
      components: [],
    };
  }
  const page = Math.min(Math.max(requested, 0), pages.length - 1);
  const header = `**Pronunciations** · ${entries.length}/${MAX_ENTRIES} entries · page ${page + 1} of ${pages.length}`;
  const buttons = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(customId("pronounce", "page", page - 1))
      .setLabel("Previous")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(page === 0),
    new ButtonBuilder()
      .setCustomId(customId("pronounce", "page", page + 1))
      .setLabel("Next")
      .setStyle(ButtonStyle.Secondary)
      .setDisabled(page >= pages.length - 1),
  );
  return {
    content: `${header}\n\`\`\`\n${pages[page]!.join("\n")}\n\`\`\``,
    components: pages.length > 1 ? [buttons] : [],
  };
}

/** Entries are shown inside code spans and blocks; a backtick run in user text would close them. */
function code(s: string): string {
  return s.replaceAll("`", "ˋ");
}

function show(e: PronunciationEntry): string {
  return `\`${code(e.original)}\` → \`${code(e.replacement)}\``;
}

/** The list's Previous and Next buttons: `pronounce:page:<n>`. */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const page = Number(parseCustomId(interaction.customId).args[0]) || 0;
  await interaction.update(listPage(await ctx.pronunciation.list(guildIdOf(interaction)), page));
}

/**
 * Suggestions for `remove`. Members without Manage Server get none (the access rule answers with an
 * empty list), which also keeps the dictionary private to those who manage it.
 */
async function autocomplete(interaction: AutocompleteInteraction, ctx: BotContext): Promise<void> {
  const typed = interaction.options.getFocused().toLowerCase();
  const entries = await ctx.pronunciation.list(guildIdOf(interaction));
  const choices = entries
    .filter((e) => e.original.toLowerCase().includes(typed))
    .slice(0, 25)
    .map((e) => ({ name: truncate(`${e.original} → ${e.replacement}`, 100), value: e.original }));
  await interaction.respond(choices);
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/**
 * The whole dictionary, its list buttons and its suggestions are for server managers: Discord hides the
 * command from other members by default, and the declaration holds where a server overrides that.
 */
export default {
  data,
  access: { guildOnly: true, permissions: ["ManageGuild"] },
  execute,
  component,
  autocomplete,
} satisfies CommandModule;
