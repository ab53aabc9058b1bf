import {
  ActionRowBuilder,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type StringSelectMenuInteraction,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { roleIdsOf } from "../src/discord/actor.ts";
import { readInputAttachment } from "../src/discord/attachments.ts";
import { customId, parseCustomId, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import { completeVoiceOrLanguage, invalidOptionError } from "../src/discord/speech-options.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { MAX_REASON_LENGTH, MAX_TITLE_LENGTH } from "../src/requests/service.ts";
import type { NarrationRequestRecord, RequestState } from "../src/requests/types.ts";
import { MAX_SPEAK_TEXT, SpeakOptionsSchema } from "../src/speak/speak-options.ts";

/**
 * `/request submit` and `/request list`, and the request card's buttons (upvote, approve, reject,
 * cancel) with the moderators' reason form. The rules live in RequestService; this only reads
 * Discord and says who is a moderator (Manage Server, or the server's moderator role).
 */

export const data = new SlashCommandBuilder()
  .setName("request")
  .setDescription("Ask for a narration the community can upvote and moderators approve")
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) =>
    s
      .setName("submit")
      .setDescription("Submit a text or a .txt/.zip file to be narrated")
      .addStringOption((o) =>
        o
          .setName("title")
          .setDescription("A title for the narration")
          .setRequired(true)
          .setMaxLength(MAX_TITLE_LENGTH),
      )
      .addStringOption((o) =>
        o.setName("text").setDescription("The text to narrate").setMaxLength(MAX_SPEAK_TEXT),
      )
      .addAttachmentOption((o) =>
        o.setName("file").setDescription("A UTF-8 .txt file, or a .zip of .txt or .json files"),
      )
      .addStringOption((o) =>
        o
          .setName("voice")
          .setDescription("Voice (start typing to search)")
          .setAutocomplete(true)
          .setMaxLength(256),
      )
      .addStringOption((o) =>
        o
          .setName("format")
          .setDescription("Audio format (default mp3)")
          .addChoices({ name: "mp3", value: "mp3" }, { name: "flac", value: "flac" }),
      ),
  )
  .addSubcommand((s) => s.setName("list").setDescription("Pending, approved, running and finished requests"));

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = interaction.guildId;
  if (!guildId) throw new UserFacingError("Narration requests work in servers only.");
  const sub = interaction.options.getSubcommand(true);
  if (sub === "list") {
    const requests = await ctx.requests.list(guildId, 25);
    await interaction.reply({
      content: describeList(requests),
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  const o = interaction.options;
  const parsed = SpeakOptionsSchema.omit({ text: true }).safeParse({
    voice: o.getString("voice") ?? undefined,
    format: o.getString("format") ?? undefined,
  });
  if (!parsed.success) throw invalidOptionError(parsed.error);
  const text = o.getString("text") ?? undefined;
  const file = o.getAttachment("file") ?? undefined;
  if (text === undefined && file === undefined) {
    throw new UserFacingError("Give a `text` or attach a `file` to narrate.");
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const request = await ctx.requests.submit({
    guildId,
    requesterId: interaction.user.id,
    requesterName: displayName(interaction),
    channelId: interaction.channelId,
    title: o.getString("title", true),
    text,
    file: file ? await readInputAttachment(file) : undefined,
    options: parsed.data,
    uploadLimit: uploadLimit(interaction.attachmentSizeLimit),
  });
  const where = cardLink(request);
  const content =
    request.state === "pending"
      ? `Request \`${request.id}\` submitted; a moderator will look at it.${where ? ` ${where}` : ""}`
      : `Request \`${request.id}\` is in the narration queue (no approval needed here).${where ? ` ${where}` : ""}`;
  await interaction.editReply({ content, allowedMentions: NO_PINGS });
}

export async function component(
  interaction: ButtonInteraction | StringSelectMenuInteraction,
  ctx: BotContext,
): Promise<void> {
  const { action, args } = parseCustomId(interaction.customId);
  const id = args[0] ?? "";
  const actor = { userId: interaction.user.id, guildId: interaction.guildId, name: displayName(interaction) };
  const reply = (content: string) =>
    interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  switch (action) {
    case "upvote": {
      const r = await ctx.requests.upvote(id, actor);
      await reply(`Upvoted **${r.title}** (${r.upvoters.length} upvotes).`);
      return;
    }
    case "cancel": {
      await ctx.requests.cancel(id, actor);
      await reply("Your request is cancelled.");
      return;
    }
    case "approve":
    case "reject": {
      // A moderator of *this* server, acting on a request of this server.
      await ctx.requests.find(id, actor);
      if (!(await isModerator(interaction, ctx))) {
        throw new UserFacingError(`Only a moderator can ${action} narration requests.`);
      }
      await interaction.showModal(reasonModal(action, id));
      return;
    }
    default:
      throw new UserFacingError("This button is no longer available.");
  }
}

export async function modal(interaction: ModalSubmitInteraction, ctx: BotContext): Promise<void> {
  const { action, args } = parseCustomId(interaction.customId);
  const id = args[0] ?? "";
  const reason = interaction.fields.getTextInputValue("reason") || undefined;
  const actor = {
    userId: interaction.user.id,
    guildId: interaction.guildId,
    name: displayName(interaction),
    isModerator: await isModerator(interaction, ctx),
  };
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  if (action === "approve") {
    const r = await ctx.requests.approve(id, actor, reason);
    await interaction.editReply({
      content: `Approved **${r.title}**; it is ${r.state === "running" ? "being narrated" : "in the queue"}.`,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  if (action === "reject") {
    const r = await ctx.requests.reject(id, actor, reason);
    await interaction.editReply({ content: `Rejected **${r.title}**.`, allowedMentions: NO_PINGS });
    return;
  }
  throw new UserFacingError("This form is no longer available.");
}

export const autocomplete = completeVoiceOrLanguage;

/** Manage Server, or the server's moderator role (`/settings set requests…`). */
async function isModerator(
  interaction: ButtonInteraction | StringSelectMenuInteraction | ModalSubmitInteraction,
  ctx: BotContext,
): Promise<boolean> {
  if (interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) return true;
  if (!interaction.guildId) return false;
  const role = (await ctx.guildSettings.get(interaction.guildId)).requests.moderatorRoleId;
  return role !== undefined && roleIdsOf(interaction.member).includes(role);
}

function displayName(
  interaction:
    | ChatInputCommandInteraction
    | ButtonInteraction
    | StringSelectMenuInteraction
    | ModalSubmitInteraction,
): string {
  const member = interaction.member;
  if (member && "displayName" in member && typeof member.displayName === "string") return member.displayName;
  if (member && "nick" in member && typeof member.nick === "string" && member.nick) return member.nick;
  return interaction.user.globalName ?? interaction.user.username;
}

function reasonModal(action: "approve" | "reject", id: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("request", action, id))
    .setTitle(action === "approve" ? "Approve the request" : "Reject the request")
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId("reason")
          .setLabel(action === "approve" ? "Note for the requester (optional)" : "Reason")
          .setStyle(TextInputStyle.Paragraph)
          .setMaxLength(MAX_REASON_LENGTH)
          .setRequired(action === "reject"),
      ),
    );
}

const LIST_ORDER: readonly RequestState[] = [
  "pending",
  "approved",
  "running",
  "done",
  "failed",
  "rejected",
  "cancelled",
];
const LIST_HEADINGS: Record<RequestState, string> = {
  pending: "Waiting for approval",
  approved: "Approved, in the queue",
  running: "Being narrated",
  done: "Done",
  failed: "Failed",
  rejected: "Rejected",
  cancelled: "Cancelled",
};

export function describeList(requests: readonly NarrationRequestRecord[]): string {
  if (requests.length === 0) return "No narration requests yet. Submit one with `/request submit`.";
  const lines: string[] = [];
  for (const state of LIST_ORDER) {
    const group = requests.filter((r) => r.state === state);
    if (group.length === 0) continue;
    lines.push(`__${LIST_HEADINGS[state]}__`);
    for (const r of group) {
      const link = cardLink(r);
      lines.push(
        `• **${r.title.replace(/[*_~`|\\]/g, "\\$&")}** by <@${r.requesterId}> · 👍 ${r.upvoters.length}` +
          (r.approverId ? ` · approved by <@${r.approverId}>` : "") +
          (link ? ` · ${link}` : ""),
      );
    }
  }
  return lines.join("\n").slice(0, 2000);
}

function cardLink(r: NarrationRequestRecord): string | undefined {
  if (!r.cardMessageId || !r.cardChannelId) return undefined;
  return `https://discord.com/channels/${r.guildId}/${r.cardChannelId}/${r.cardMessageId}`;
}
