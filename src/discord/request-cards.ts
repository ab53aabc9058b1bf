import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type Client,
  EmbedBuilder,
  escapeMarkdown,
} from "discord.js";
import type { Logger } from "../logger.ts";
import type { NarrationRequestRecord, RequestCards, RequestNotice, RequestState } from "../requests/types.ts";
import { createCardPoster } from "./cards.ts";
import { customId } from "./command.ts";

/**
 * Narration requests in Discord: the card (an embed with its buttons) in the requests channel, and
 * the requester's notices. Posted with the bot token as channel messages, since a request may wait
 * for days, long after any interaction token died.
 */

const STATE_LABEL: Record<RequestState, string> = {
  pending: "🕓 Waiting for a moderator",
  approved: "⏳ Approved, in the queue",
  rejected: "⛔ Rejected",
  cancelled: "🚫 Cancelled",
  running: "🎙️ Narrating",
  done: "✅ Done",
  failed: "❌ Failed",
};

const COLOR: Record<RequestState, number> = {
  pending: 0xf1c40f,
  approved: 0x3498db,
  rejected: 0xe74c3c,
  cancelled: 0x95a5a6,
  running: 0x9b59b6,
  done: 0x2ecc71,
  failed: 0xe74c3c,
};

function resultLink(r: NarrationRequestRecord): string | undefined {
  if (!r.resultMessageId || !r.narrationChannelId) return undefined;
  return `https://discord.com/channels/${r.guildId}/${r.narrationChannelId}/${r.resultMessageId}`;
}

/** Titles are user text: no markdown tricks, no pings. */
function safe(text: string): string {
  return escapeMarkdown(text).replace(/@/g, "@\u200b");
}

export function requestEmbed(r: NarrationRequestRecord): EmbedBuilder {
  const embed = new EmbedBuilder()
    .setTitle(`Narration request: ${r.title}`.slice(0, 256))
    .setColor(COLOR[r.state])
    .addFields(
      { name: "State", value: STATE_LABEL[r.state], inline: true },
      { name: "Requested by", value: `<@${r.requesterId}>`, inline: true },
      { name: "Upvotes", value: String(r.upvoters.length), inline: true },
      {
        name: "Input",
        value:
          r.input.kind === "file" || (r.input.kind === "dropped" && r.input.fileName)
            ? `\`${r.input.fileName}\` · ${r.chars.toLocaleString("en-US")} characters`
            : `${r.chars.toLocaleString("en-US")} characters of text`,
        inline: true,
      },
    )
    .setFooter({ text: `request ${r.id}` })
    .setTimestamp(r.createdAt);
  if (r.approverId) embed.addFields({ name: "Approved by", value: `<@${r.approverId}>`, inline: true });
  if (r.rejecterId) embed.addFields({ name: "Rejected by", value: `<@${r.rejecterId}>`, inline: true });
  if (r.reason) embed.addFields({ name: "Reason", value: r.reason.slice(0, 1024) });
  if (r.narrationChannelId && (r.state === "running" || r.state === "done")) {
    embed.addFields({
      name: "Narration",
      value: resultLink(r) ?? `<#${r.narrationChannelId}>`,
      inline: true,
    });
  }
  if (r.error && r.state === "failed") embed.addFields({ name: "Problem", value: r.error.slice(0, 1024) });
  return embed;
}

export function requestButtons(r: NarrationRequestRecord): ActionRowBuilder<ButtonBuilder>[] {
  if (r.state !== "pending" && r.state !== "approved") return [];
  const buttons = [
    new ButtonBuilder()
      .setCustomId(customId("request", "upvote", r.id))
      .setLabel(`Upvote (${r.upvoters.length})`)
      .setEmoji("👍")
      .setStyle(ButtonStyle.Secondary),
  ];
  if (r.state === "pending") {
    buttons.push(
      new ButtonBuilder()
        .setCustomId(customId("request", "approve", r.id))
        .setLabel("Approve")
        .setStyle(ButtonStyle.Success),
    );
  }
  buttons.push(
    new ButtonBuilder()
      .setCustomId(customId("request", "reject", r.id))
      .setLabel("Reject")
      .setStyle(ButtonStyle.Danger),
    new ButtonBuilder()
      .setCustomId(customId("request", "cancel", r.id))
      .setLabel("Cancel")
      .setStyle(ButtonStyle.Secondary),
  );
  return [new ActionRowBuilder<ButtonBuilder>().addComponents(...buttons)];
}

/** What the requester is told, mentioning them (and only them). */
export function noticeText(r: NarrationRequestRecord, notice: RequestNotice): string {
  const title = `**${safe(r.title)}**`;
  const reason = r.reason ? `\nReason: ${safe(r.reason)}` : "";
  switch (notice) {
    case "approved":
      return `<@${r.requesterId}>, your narration request ${title} was approved by <@${r.approverId}> and is in the queue.${reason}`;
    case "rejected":
      return `<@${r.requesterId}>, your narration request ${title} was rejected by <@${r.rejecterId}>.${reason}`;
    case "done": {
      const link = resultLink(r);
      return `<@${r.requesterId}>, your narration ${title} is ready${link ? `: ${link}` : r.narrationChannelId ? ` in <#${r.narrationChannelId}>` : ""}.`;
    }
    case "failed":
      return `<@${r.requesterId}>, your narration request ${title} could not be narrated${r.error ? `: ${safe(r.error)}` : "."}`;
  }
}

export function createDiscordRequestCards(client: Client, logger: Logger): RequestCards {
  const cards = createCardPoster<NarrationRequestRecord>(client, {
    channelOf: (r) => r.cardChannelId,
    messageOf: (r) => r.cardMessageId,
    embed: requestEmbed,
    buttons: requestButtons,
    cannotPost: (channelId) => new Error(`cannot post in channel ${channelId}`),
    onEditError: (err, r) => logger.warn({ err, requestId: r.id }, "could not update a request card"),
  });

  return {
    post: cards.post,
    update: cards.update,
    async notify(r, notice) {
      try {
        const channel = await cards.sendable(r.cardChannelId);
        await channel.send({
          content: noticeText(r, notice),
          allowedMentions: { parse: [], users: [r.requesterId] },
        });
      } catch (err) {
        logger.warn({ err, requestId: r.id, notice }, "could not notify a requester");
      }
    },
  };
}
