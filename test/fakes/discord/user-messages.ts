import { emitMessageCreate } from "./events.ts";
import { createMessage, type FakeMessage } from "./messages.ts";
import type { FakeUpload } from "./options.ts";
import { type FakeState, notifyChange } from "./state.ts";

/**
 * Messages members post that the bot cannot send itself: stickers (`sticker_items`), forwards
 * (`message_reference` of type FORWARD with `message_snapshots`), voice messages, and chat in a voice
 * or stage channel's own text chat (the message's `channel_id` is the voice channel's id).
 *
 * Discord's rules kept here: at most 3 stickers; a forward carries no content, files or stickers of
 * its own, points at a message that exists, and has the HAS_SNAPSHOT flag; the snapshot is a subset
 * of the forwarded message without its author.
 */

/** Message flag HAS_SNAPSHOT (1 << 14): the message is a forward. */
export const HAS_SNAPSHOT = 1 << 14;
export const IS_VOICE_MESSAGE = 1 << 13;
/** Message reference type FORWARD. */
export const REFERENCE_FORWARD = 1;
export const STICKERS_MAX = 3;

export interface FakeSticker {
  id?: string;
  name: string;
  /** 1 PNG, 2 APNG, 3 LOTTIE, 4 GIF (default 1). */
  formatType?: number;
}

export interface UserMessageOptions {
  channelId?: string;
  userId?: string;
  content?: string;
  files?: FakeUpload[];
  embeds?: unknown[];
  stickers?: FakeSticker[];
  /** Forward this stored message (id or message). */
  forwardOf?: string | FakeMessage;
  /** Sent as a native voice message (one audio file, IS_VOICE_MESSAGE). */
  voiceMessage?: boolean;
}

export function postRichUserMessage(state: FakeState, opts: UserMessageOptions): FakeMessage {
  const channelId = opts.channelId ?? state.fixtures.channels.text.id;
  const authorId = opts.userId ?? state.fixtures.users.member.id;
  const stickers = opts.stickers ?? [];
  if (stickers.length > STICKERS_MAX) throw new Error(`fake discord: at most ${STICKERS_MAX} stickers`);
  const source = forwardSource(state, opts.forwardOf);
  if (source && ((opts.content ?? "") !== "" || (opts.files?.length ?? 0) > 0 || stickers.length > 0)) {
    throw new Error("fake discord: a forward has no content, files or stickers of its own");
  }
  const files = (opts.files ?? []).map((f, index) => ({
    field: `files[${index}]`,
    index,
    filename: f.filename,
    contentType: f.contentType ?? "",
    bytes: Buffer.from(f.data),
  }));
  const stickerItems = stickers.map((s) => ({
    id: s.id ?? state.world.nextId(),
    name: s.name,
    format_type: s.formatType ?? 1,
  }));
  const msg = createMessage(
    {
      world: state.world,
      store: state.store,
      baseUrl: state.baseUrl,
      channelId,
      authorId,
      path: [],
      allowedFlags: 0,
      enforcePermissions: false,
    },
    {
      content: opts.content ?? "",
      ...(opts.embeds ? { embeds: opts.embeds } : {}),
      ...(stickerItems.length > 0 ? { sticker_ids: stickerItems.map((s) => s.id) } : {}),
    },
    files,
    { type: 0, source: "user", allowEmpty: source !== undefined },
  );
  if (stickerItems.length > 0) msg.sticker_items = stickerItems;
  if (opts.voiceMessage) {
    if (msg.attachments.length !== 1) throw new Error("fake discord: a voice message has one audio file");
    msg.flags |= IS_VOICE_MESSAGE;
  }
  if (source) {
    msg.flags |= HAS_SNAPSHOT;
    msg.message_reference = {
      type: REFERENCE_FORWARD,
      message_id: source.id,
      channel_id: source.channel_id,
      ...(source.guild_id ? { guild_id: source.guild_id } : {}),
    };
    msg.message_snapshots = [
      {
        message: {
          type: source.type,
          content: source.content,
          embeds: source.embeds,
          attachments: source.attachments,
          timestamp: source.timestamp,
          edited_timestamp: source.edited_timestamp,
          flags: source.flags,
          mentions: source.mentions,
          mention_roles: source.mention_roles,
          ...(source.sticker_items ? { sticker_items: source.sticker_items } : {}),
          components: source.components,
        },
      },
    ];
  }
  emitMessageCreate(state, msg);
  notifyChange(state);
  return msg;
}

function forwardSource(state: FakeState, ref: string | FakeMessage | undefined): FakeMessage | undefined {
  if (ref === undefined) return undefined;
  const source = state.store.get(typeof ref === "string" ? ref : ref.id);
  if (!source || source.deleted) throw new Error("fake discord: the forwarded message does not exist");
  return source;
}
