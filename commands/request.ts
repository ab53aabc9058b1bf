import {
  ActionRowBuilder,
  type ChatInputCommandInteraction,
  type Interaction,
  InteractionContextType,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { type AccessRule, guildIdOf } from "../src/discord/access.ts";
import { readInputAttachment } from "../src/discord/attachments.ts";
import {
  type CommandModule,
  type ComponentInteraction,
  customId,
  parseCustomId,
  UserFacingError,
} from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import {
  addFormatOption,
  addVoiceSettingOptions,
  completeVoiceOrLanguage,
  parseOptions,
} from "../src/discord/speech-options.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { NARRATE_FORMATS } from "../src/jobs/narrate.ts";
import { MAX_REASON_LENGTH, MAX_TITLE_LENGTH } from "../src/requests/service.ts";
import type { NarrationRequestRecord, RequestState } from "../src/requests/types.ts";
import { MAX_SPEAK_TEXT, SpeakOptionsSchema } from "../src/speak/speak-options.ts";
import { MAX_MAPPING_LENGTH } from "../src/text/script.ts";

/**
 * `/request submit` and `/request list`, and the request card's buttons (upvote, approve, reject,
 * cancel) with the moderators' reason form. Approving and rejecting are for moderators (Manage Server,
 * or the server's moderator role), declared below; the rest of the rules live in RequestService.
 */

const data = new SlashCommandBuilder()
  .setName("request")
  .setDescription("Ask for a narration the community can upvote and moderators approve")
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((s) => {
    const submit = s
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
          .setName("voices")
          .setDescription("A multi-voice script's speakers: Narrator=Wise_Woman, Alice=Calm_Woman")
          .setMaxLength(MAX_MAPPING_LENGTH),
      );
    return addFormatOption(addVoiceSettingOptions(submit, ["voice"]), NARRATE_FORMATS);
  })
  .addSubcommand((s) => s.setName("list").setDescription("Pending, approved, running and finished requests"));

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const o = interaction.options;
  if (o.getSubcommand(true) === "list") {
    await replyEphemeral(interaction, describeList(await ctx.requests.list(guildId, 25)));
    return;
  }
  const options = parseOptions(SpeakOptionsSchema.omit({ text: true }), {
    voice: o.getString("voice") ?? undefined,
    format: o.getString("format") ?? undefined,
  });
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
    options,
    uploadLimit: uploadLimit(interaction.attachmentSizeLimit),
    voices: o.getString("voices") ?? undefined,
  });
  const where = cardLink(request);
  const state =
    request.state === "pending"
      ? "submitted; a moderator will look at it."
      : "is in the narration queue (no approval needed here).";
  await replyEphemeral(interaction, `Request \`${request.id}\` ${state}${where ? ` ${where}` : ""}`);
}

/** The card's buttons: `request:<action>:<request id>`. */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const { action, id, actor } = readTarget(interaction);
  switch (action) {
    case "upvote": {
      const r = await ctx.requests.upvote(id, actor);
      await replyEphemeral(interaction, `Upvoted **${r.title}** (${r.upvoters.length} upvotes).`);
      return;
    }
    case "cancel": {
      // Only the requester may: RequestService checks it against the record.
      await ctx.requests.cancel(id, actor);
      await replyEphemeral(interaction, "Your request is cancelled.");
      return;
    }
    case "approve":
    case "reject": {
      // The moderator access rule has let the member through; the request must be of this server.
      await ctx.requests.find(id, actor);
      await interaction.showModal(reasonModal(action, id));
      return;
    }
    default:
      throw new UserFacingError("This button is no longer available.");
  }
}

/** The moderators' reason form, behind the same access rule as its buttons. */
async function modal(interaction: ModalSubmitInteraction, ctx: BotContext): Promise<void> {
  const { action, id, actor } = readTarget(interaction);
  const reason = interaction.fields.getTextInputValue("reason") || undefined;
  const moderator = { ...actor, isModerator: true };
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  if (action === "approve") {
    const r = await ctx.requests.approve(id, moderator, reason);
    const where = r.state === "running" ? "being narrated" : "in the queue";
    await replyEphemeral(interaction, `Approved **${r.title}**; it is ${where}.`);
    return;
  }
  if (action === "reject") {
    const r = await ctx.requests.reject(id, moderator, reason);
    await replyEphemeral(interaction, `Rejected **${r.title}**.`);
    return;
  }
  throw new UserFacingError("This form is no longer available.");
}

/** The action and request a button or form is about, and who is acting on it. */
function readTarget(interaction: ComponentInteraction | ModalSubmitInteraction) {
  const { action, args } = parseCustomId(interaction.customId);
  const actor = { userId: interaction.user.id, guildId: interaction.guildId, name: displayName(interaction) };
  return { action, id: args[0] ?? "", actor };
}

function displayName(interaction: Interaction): string {
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

const MODERATOR: AccessRule = { moderator: true };

export default {
  data,
  access: {
    guildOnly: true,
    components: { approve: MODERATOR, reject: MODERATOR },
    modals: { approve: MODERATOR, reject: MODERATOR },
  },
  execute,
  component,
  modal,
  autocomplete: completeVoiceOrLanguage,
} satisfies CommandModule;

function describeList(requests: readonly NarrationRequestRecord[]): string {
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
