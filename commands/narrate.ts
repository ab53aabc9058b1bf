import {
  ActionRowBuilder,
  ChannelType,
  type ChatInputCommandInteraction,
  InteractionContextType,
  MessageFlags,
  ModalBuilder,
  type ModalSubmitInteraction,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
} from "discord.js";
import { actorOf } from "../src/discord/actor.ts";
import { readInputAttachment } from "../src/discord/attachments.ts";
import { type CommandModule, customId, parseCustomId, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { queuedMessage } from "../src/discord/job-status.ts";
import { assertCanPost, assertMemberCanPost } from "../src/discord/permissions.ts";
import {
  addFormatOption,
  addVoiceSettingOptions,
  completeVoiceOrLanguage,
  parseOptions,
  readVoiceSettingOptions,
} from "../src/discord/speech-options.ts";
import { uploadLimit } from "../src/discord/upload-limit.ts";
import { NARRATE_FORMATS } from "../src/jobs/narrate.ts";
import { MAX_SPEAK_TEXT, SpeakOptionsSchema } from "../src/speak/speak-options.ts";
import { MAX_MAPPING_LENGTH } from "../src/text/script.ts";

const data = addFormatOption(
  addVoiceSettingOptions(
    new SlashCommandBuilder()
      .setName("narrate")
      .setDescription(
        "Narrate a long text or a .txt/.zip file; the audio and subtitles are posted when ready",
      )
      .setContexts(InteractionContextType.Guild)
      .addStringOption((o) =>
        o
          .setName("text")
          .setDescription("The text (or attach a file, or leave both out for a form)")
          .setMaxLength(MAX_SPEAK_TEXT),
      )
      .addAttachmentOption((o) =>
        o.setName("file").setDescription("A UTF-8 .txt file, or a .zip of .txt or .json files"),
      )
      .addStringOption((o) =>
        o.setName("title").setDescription("A title for the narration").setMaxLength(100),
      )
      .addStringOption((o) =>
        o
          .setName("voices")
          .setDescription("A multi-voice script's speakers: Narrator=Wise_Woman, Alice=Calm_Woman")
          .setMaxLength(MAX_MAPPING_LENGTH),
      ),
  ),
  NARRATE_FORMATS,
).addChannelOption((o) =>
  o
    .setName("channel")
    .setDescription("Where to post the result (default: here)")
    .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.PublicThread),
);

function readSettings(interaction: ChatInputCommandInteraction) {
  return parseOptions(SpeakOptionsSchema.omit({ text: true }), {
    ...readVoiceSettingOptions(interaction),
    format: interaction.options.getString("format") ?? undefined,
  });
}

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const options = readSettings(interaction);
  const text = interaction.options.getString("text") ?? undefined;
  const file = interaction.options.getAttachment("file") ?? undefined;
  const channelId = interaction.options.getChannel("channel")?.id ?? interaction.channelId;
  const voices = interaction.options.getString("voices") ?? undefined;
  // The member must be allowed to post there themselves, and the bot must be able to.
  assertMemberCanPost(interaction, channelId);
  assertCanPost(interaction, channelId);
  const limit = uploadLimit(interaction.attachmentSizeLimit);
  if (text === undefined && file === undefined) {
    const token = ctx.narrateDrafts.put({ channelId, options, uploadLimit: limit, voices });
    await interaction.showModal(narrationModal(token));
    return;
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const job = await ctx.narration.start({
    kind: "narrate",
    actor: actorOf(interaction),
    channelId,
    title: interaction.options.getString("title") ?? undefined,
    text,
    file: file ? await readInputAttachment(file) : undefined,
    options,
    uploadLimit: limit,
    voices,
  });
  await interaction.editReply(queuedMessage(job));
}

/** The form `/narrate` opens when given neither text nor file: `narrate:modal:<draft token>`. */
async function modal(interaction: ModalSubmitInteraction, ctx: BotContext): Promise<void> {
  const token = parseCustomId(interaction.customId).args[0] ?? "";
  const draft = ctx.narrateDrafts.take(token);
  if (!draft) throw new UserFacingError("That form expired. Please run /narrate again.");
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const job = await ctx.narration.start({
    kind: "narrate",
    actor: actorOf(interaction),
    channelId: draft.channelId,
    title: interaction.fields.getTextInputValue("title") || undefined,
    text: interaction.fields.getTextInputValue("text"),
    options: draft.options,
    uploadLimit: draft.uploadLimit,
    voices: draft.voices,
  });
  await interaction.editReply(queuedMessage(job));
}

function narrationModal(token: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customId("narrate", "modal", token))
    .setTitle("Narrate a text")
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId("title")
          .setLabel("Title")
          .setStyle(TextInputStyle.Short)
          .setMaxLength(100)
          .setRequired(false),
      ),
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId("text")
          .setLabel("Text")
          .setStyle(TextInputStyle.Paragraph)
          .setMaxLength(4000)
          .setRequired(true),
      ),
    );
}

export default {
  data,
  access: { guildOnly: true },
  execute,
  modal,
  autocomplete: completeVoiceOrLanguage,
} satisfies CommandModule;
