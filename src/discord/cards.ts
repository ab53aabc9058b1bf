import type { ActionRowBuilder, ButtonBuilder, Client, EmbedBuilder, SendableChannels } from "discord.js";

/**
 * A card: one channel message (an embed and its buttons) that shows a record and is edited as the
 * record changes (a narration job's status, a narration request). Posted with the bot token, since a
 * record outlives any interaction token. The job publisher and the request cards state only what is
 * their own: where the card is, how it looks, and what a failure says.
 */

export interface CardSpec<R> {
  /** The channel the card is posted in. */
  channelOf(record: R): string | undefined;
  /** The card's message, once posted. */
  messageOf(record: R): string | undefined;
  embed(record: R): EmbedBuilder;
  buttons(record: R): ActionRowBuilder<ButtonBuilder>[];
  /** The error when the channel is missing or the bot cannot send there. */
  cannotPost(channelId: string | undefined): Error;
  /** An edit failed (edits are best effort). */
  onEditError(err: unknown, record: R): void;
}

export interface CardPoster<R> {
  /** The channel, if the bot can send in it; otherwise the spec's `cannotPost` error. */
  sendable(channelId: string | undefined): Promise<SendableChannels>;
  /** Posts the card and returns its message id. */
  post(record: R): Promise<string>;
  /** Edits the posted card to the record's current state (best effort; never throws). */
  update(record: R): Promise<void>;
}

export function createCardPoster<R>(client: Client, spec: CardSpec<R>): CardPoster<R> {
  async function sendable(channelId: string | undefined): Promise<SendableChannels> {
    // A fleet posts from whichever process runs the job: the channel's server may be on another
    // process's shard (not in this client's cache), and REST serves it all the same.
    const channel = channelId
      ? await client.channels.fetch(channelId, { allowUnknownGuild: true }).catch(() => null)
      : null;
    if (!channel?.isSendable()) throw spec.cannotPost(channelId);
    return channel;
  }

  const card = (record: R) => ({
    embeds: [spec.embed(record)],
    components: spec.buttons(record),
  });

  return {
    sendable,
    async post(record) {
      const channel = await sendable(spec.channelOf(record));
      const msg = await channel.send(card(record));
      return msg.id;
    },
    async update(record) {
      const messageId = spec.messageOf(record);
      if (!messageId) return;
      try {
        const channel = await sendable(spec.channelOf(record));
        if (!("messages" in channel)) return;
        await channel.messages.edit(messageId, card(record));
      } catch (err) {
        spec.onEditError(err, record);
      }
    },
  };
}
