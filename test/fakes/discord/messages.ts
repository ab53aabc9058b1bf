import { assertNoIssues, errors, issue } from "./errors.ts";
import { computeMentions } from "./mentions.ts";
import { has, PERMISSIONS } from "./permissions.ts";
import { apiMember, apiUser, type Json } from "./serialize.ts";
import {
  attachmentContentType,
  FILES_MAX,
  isAudio,
  isValidWaveform,
  MESSAGE_FLAGS,
  sanitizeFilename,
  validateMessageFields,
} from "./validate-message.ts";
import { permissionsIn, type World } from "./world.ts";

/**
 * Stored messages: built from validated bodies (JSON or multipart), with attachments whose bytes the
 * fake serves back, mentions computed as Discord would ping them, and edit history.
 */

export type MessageSource = "interaction-response" | "follow-up" | "channel" | "user";

export interface UploadedFile {
  /** Multipart field name, e.g. `files[0]`. */
  field: string;
  /** `n` of `files[n]` (what `attachments[i].id` refers to). */
  index: number;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  description?: string;
  title?: string;
  duration_secs?: number;
  waveform?: string;
  flags?: number;
  ephemeral?: boolean;
}

export interface MessageSnapshot {
  content: string;
  embeds: unknown[];
  components: unknown[];
  attachments: FakeAttachment[];
  flags: number;
  at: string;
}

/** A stored message: Discord's message fields plus the fake's bookkeeping (not sent on the wire). */
export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: Json;
  member?: Json;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: Json[];
  mention_roles: string[];
  attachments: FakeAttachment[];
  embeds: unknown[];
  components: unknown[];
  flags: number;
  type: number;
  pinned: boolean;
  nonce?: string | number;
  webhook_id?: string;
  application_id?: string;
  interaction_metadata?: Json;
  interaction?: Json;
  message_reference?: Json;
  referenced_message?: Json | null;
  reactions?: Json[];
  poll?: unknown;
  /** Stickers sent with the message (members only; see user-messages.ts). */
  sticker_items?: Json[];
  /** A forward's snapshot of the forwarded message. */
  message_snapshots?: Json[];
  /** Alias of `mention_everyone`: whether @everyone/@here would ping. */
  mentions_everyone: boolean;
  /** `allowed_mentions` exactly as the bot sent it (undefined when absent). */
  allowed_mentions: unknown;
  source: MessageSource;
  interactionId?: string;
  deleted: boolean;
  editCount: number;
  /** Flags the bot asked for that this endpoint cannot set (Discord drops them). */
  droppedFlags: number;
  /** Earlier versions, oldest first. */
  history: MessageSnapshot[];
}

const FAKE_ONLY_KEYS = new Set([
  "mentions_everyone",
  "allowed_mentions",
  "source",
  "interactionId",
  "deleted",
  "editCount",
  "droppedFlags",
  "history",
]);

export function toApiMessage(msg: FakeMessage): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(msg)) {
    if (!FAKE_ONLY_KEYS.has(key) && value !== undefined) out[key] = value;
  }
  return out;
}

export class MessageStore {
  readonly messages = new Map<string, FakeMessage>();
  readonly attachmentBytes = new Map<string, { bytes: Buffer; contentType?: string; channelId: string }>();

  get(id: string): FakeMessage | undefined {
    return this.messages.get(id);
  }

  all(): FakeMessage[] {
    return [...this.messages.values()];
  }

  clear(): void {
    this.messages.clear();
    this.attachmentBytes.clear();
  }
}

export interface BuildContext {
  world: World;
  store: MessageStore;
  /** `http://127.0.0.1:PORT`, for attachment URLs. */
  baseUrl: string;
  channelId: string;
  authorId: string;
  /** Where form errors point: `["data"]` for interaction callbacks, `[]` otherwise. */
  path: ReadonlyArray<string | number>;
  /** Flags this endpoint lets the sender set; others are dropped. */
  allowedFlags: number;
  /** Enforce channel permissions for the author (bot-token Create Message). */
  enforcePermissions: boolean;
}

export interface CreateExtras {
  type: number;
  source: MessageSource;
  interactionId?: string;
  webhookId?: string;
  applicationId?: string;
  interactionMetadata?: Json;
  interaction?: Json;
  /** Flags forced on (e.g. LOADING for a deferred response, EPHEMERAL kept from the defer). */
  forceFlags?: number;
  /** Skip the emptiness check (deferred "thinking" messages). */
  allowEmpty?: boolean;
}

type Obj = Record<string, unknown>;

function buildAttachments(
  ctx: BuildContext,
  body: Obj,
  files: UploadedFile[],
  ephemeral: boolean,
): { attachments: FakeAttachment[]; bytes: Map<string, Buffer> } {
  const meta = Array.isArray(body.attachments) ? (body.attachments as Obj[]) : [];
  const attachments: FakeAttachment[] = [];
  const bytes = new Map<string, Buffer>();
  for (const file of files) {
    const m = meta.find((a) => String(a.id) === String(file.index)) ?? {};
    const id = ctx.world.nextId();
    const filename = sanitizeFilename(typeof m.filename === "string" ? m.filename : file.filename);
    const contentType = attachmentContentType(filename, file.contentType);
    const url = `${ctx.baseUrl}/attachments/${ctx.channelId}/${id}/${filename}`;
    const att: FakeAttachment = { id, filename, size: file.bytes.length, url, proxy_url: url };
    if (contentType) att.content_type = contentType;
    if (typeof m.description === "string") att.description = m.description;
    if (typeof m.title === "string") att.title = m.title;
    if (m.duration_secs !== undefined) att.duration_secs = m.duration_secs as number;
    if (m.waveform !== undefined) att.waveform = m.waveform as string;
    att.flags = filename.startsWith("SPOILER_") ? 8 : 0;
    if (ephemeral) att.ephemeral = true;
    attachments.push(att);
    bytes.set(id, file.bytes);
  }
  return { attachments, bytes };
}

function checkVoiceMessage(
  msg: { content: string; embeds: unknown[]; components: unknown[]; poll?: unknown },
  attachments: FakeAttachment[],
  stickers: unknown,
): void {
  if (attachments.length !== 1 || !isAudio(attachments[0]!.filename, attachments[0]!.content_type)) {
    throw errors.voiceSingleAudioAttachment();
  }
  const hasStickers = Array.isArray(stickers) && stickers.length > 0;
  if (
    msg.content.length > 0 ||
    msg.embeds.length > 0 ||
    msg.components.length > 0 ||
    msg.poll !== undefined ||
    hasStickers
  ) {
    throw errors.voiceNoAdditionalContent();
  }
  const att = attachments[0]!;
  if (
    typeof att.duration_secs !== "number" ||
    !Number.isFinite(att.duration_secs) ||
    att.duration_secs < 0 ||
    !isValidWaveform(att.waveform)
  ) {
    throw errors.voiceMissingMetadata();
  }
}

function isEmpty(
  m: { content: string; embeds: unknown[]; components: unknown[]; poll?: unknown },
  attachments: unknown[],
  stickers: unknown,
): boolean {
  return (
    m.content.trim().length === 0 &&
    m.embeds.length === 0 &&
    m.components.length === 0 &&
    attachments.length === 0 &&
    m.poll === undefined &&
    !(Array.isArray(stickers) && stickers.length > 0)
  );
}

function applyMentions(ctx: BuildContext, msg: FakeMessage, repliedUserId?: string): void {
  const result = computeMentions(ctx.world, {
    content: msg.content,
    allowedMentions: msg.allowed_mentions,
    authorId: ctx.authorId,
    channelId: ctx.channelId,
    ...(repliedUserId ? { repliedUserId } : {}),
  });
  msg.mention_everyone = result.everyone;
  msg.mentions_everyone = result.everyone;
  msg.mentions = result.userIds.map((id) => {
    const user = apiUser(ctx.world, id);
    if (msg.guild_id && ctx.world.members.has(id))
      user.member = apiMember(ctx.world, id, { withUser: false });
    return user;
  });
  msg.mention_roles = result.roleIds;
}

/** Validates a create body and stores the message; throws `DiscordError` the way Discord answers. */
export function createMessage(
  ctx: BuildContext,
  body: Obj,
  files: UploadedFile[],
  extras: CreateExtras,
): FakeMessage {
  const requested = typeof body.flags === "number" ? body.flags : 0;
  const kept = (requested & ctx.allowedFlags) | (extras.forceFlags ?? 0);
  const v2 = (kept & MESSAGE_FLAGS.IsComponentsV2) !== 0;
  assertNoIssues(validateMessageFields(body, ctx.path, { v2 }));
  if (files.length > FILES_MAX)
    throw errors.invalidForm([issue.maxLength([...ctx.path, "attachments"], FILES_MAX)]);

  const channel = ctx.world.channels.get(ctx.channelId);
  const ephemeral = (kept & MESSAGE_FLAGS.Ephemeral) !== 0;
  const perms = permissionsIn(ctx.world, ctx.authorId, ctx.channelId);
  if (ctx.enforcePermissions) {
    if (files.length > 0 && !has(perms, PERMISSIONS.AttachFiles)) throw errors.missingPermissions();
    if ((kept & MESSAGE_FLAGS.IsVoiceMessage) !== 0 && !has(perms, PERMISSIONS.SendVoiceMessages)) {
      throw errors.voiceNotAllowedInChannel();
    }
  }
  const { attachments, bytes } = buildAttachments(ctx, body, files, ephemeral);
  const draft = {
    content: typeof body.content === "string" ? body.content : "",
    embeds: Array.isArray(body.embeds) ? (body.embeds as unknown[]) : [],
    components: Array.isArray(body.components) ? (body.components as unknown[]) : [],
    ...(body.poll !== undefined && body.poll !== null ? { poll: body.poll } : {}),
  };
  if ((kept & MESSAGE_FLAGS.IsVoiceMessage) !== 0) checkVoiceMessage(draft, attachments, body.sticker_ids);
  if (!extras.allowEmpty && isEmpty(draft, attachments, body.sticker_ids)) throw errors.emptyMessage();

  let reference: Json | undefined;
  let referenced: FakeMessage | undefined;
  const ref = body.message_reference as Obj | undefined;
  if (ref && typeof ref === "object" && ref.message_id !== undefined) {
    referenced = ctx.store.get(String(ref.message_id));
    if (!referenced || referenced.deleted || referenced.channel_id !== ctx.channelId) {
      referenced = undefined;
      if (ref.fail_if_not_exists !== false) {
        throw errors.invalidForm([
          issue.custom(
            [...ctx.path, "message_reference"],
            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
            "Unknown message",
          ),
        ]);
      }
    } else {
      reference = {
        type: 0,
        message_id: referenced.id,
        channel_id: ctx.channelId,
        ...(channel?.guildId ? { guild_id: channel.guildId } : {}),
      };
    }
  }

  const now = new Date().toISOString();
  const msg: FakeMessage = {
    id: ctx.world.nextId(),
    channel_id: ctx.channelId,
    ...(channel?.guildId ? { guild_id: channel.guildId } : {}),
    author: apiUser(ctx.world, ctx.authorId),
    content: draft.content,
    timestamp: now,
    edited_timestamp: null,
    tts: body.tts === true,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments,
    embeds: draft.embeds.map((e) => ({ type: "rich", ...(e as Obj) })),
    components: draft.components,
    flags: kept,
    type: reference && extras.type === 0 ? 19 : extras.type,
    pinned: false,
    ...(body.nonce !== undefined && body.nonce !== null ? { nonce: body.nonce as string | number } : {}),
    ...(extras.webhookId ? { webhook_id: extras.webhookId } : {}),
    ...(extras.applicationId ? { application_id: extras.applicationId } : {}),
    ...(extras.interactionMetadata ? { interaction_metadata: extras.interactionMetadata } : {}),
    ...(extras.interaction ? { interaction: extras.interaction } : {}),
    ...(reference ? { message_reference: reference, referenced_message: toApiMessage(referenced!) } : {}),
    ...(draft.poll !== undefined ? { poll: draft.poll } : {}),
    mentions_everyone: false,
    allowed_mentions: body.allowed_mentions,
    source: extras.source,
    ...(extras.interactionId ? { interactionId: extras.interactionId } : {}),
    deleted: false,
    editCount: 0,
    droppedFlags: requested & ~ctx.allowedFlags,
    history: [],
  };
  if (msg.guild_id && ctx.world.members.has(ctx.authorId)) {
    msg.member = apiMember(ctx.world, ctx.authorId, { withUser: false });
  }
  applyMentions(ctx, msg, referenced ? String(referenced.author.id) : undefined);
  ctx.store.messages.set(msg.id, msg);
  for (const [id, b] of bytes) {
    const att = attachments.find((a) => a.id === id);
    ctx.store.attachmentBytes.set(id, {
      bytes: b,
      channelId: ctx.channelId,
      ...(att?.content_type ? { contentType: att.content_type } : {}),
    });
  }
  if (channel && !ephemeral) channel.lastMessageId = msg.id;
  return msg;
}

/**
 * Edits a stored message (Edit Message / Edit Webhook Message / UPDATE_MESSAGE): fields present
 * replace the old ones; `attachments`, when given, lists the existing attachments to keep and new
 * files are appended. Voice messages cannot be edited (50162).
 */
export function editMessage(
  ctx: BuildContext,
  msg: FakeMessage,
  body: Obj,
  files: UploadedFile[],
): FakeMessage {
  if ((msg.flags & MESSAGE_FLAGS.IsVoiceMessage) !== 0) throw errors.voiceCannotBeEdited();
  const requested = typeof body.flags === "number" ? body.flags : undefined;
  const editable = ctx.allowedFlags;
  let flags = msg.flags & ~MESSAGE_FLAGS.Loading;
  let dropped = 0;
  if (requested !== undefined) {
    flags = (flags & ~editable) | (requested & editable);
    dropped = requested & ~editable & ~msg.flags;
  }
  // Components V2 cannot be switched off once on.
  if ((msg.flags & MESSAGE_FLAGS.IsComponentsV2) !== 0) flags |= MESSAGE_FLAGS.IsComponentsV2;
  const v2 = (flags & MESSAGE_FLAGS.IsComponentsV2) !== 0;
  assertNoIssues(validateMessageFields(body, ctx.path, { v2 }));

  if (ctx.enforcePermissions && files.length > 0) {
    if (!has(permissionsIn(ctx.world, ctx.authorId, ctx.channelId), PERMISSIONS.AttachFiles))
      throw errors.missingPermissions();
  }
  const ephemeral = (msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0;
  let kept = msg.attachments;
  if (Array.isArray(body.attachments)) {
    const ids = new Set((body.attachments as Obj[]).map((a) => String(a.id)));
    kept = msg.attachments.filter((a) => ids.has(a.id));
  }
  const built = buildAttachments(ctx, body, files, ephemeral);
  const attachments = [...kept, ...built.attachments];
  if (attachments.length > FILES_MAX)
    throw errors.invalidForm([issue.maxLength([...ctx.path, "attachments"], FILES_MAX)]);
  const next = {
    content: typeof body.content === "string" ? body.content : body.content === null ? "" : msg.content,
    embeds: Array.isArray(body.embeds) ? (body.embeds as unknown[]) : body.embeds === null ? [] : msg.embeds,
    components: Array.isArray(body.components)
      ? (body.components as unknown[])
      : body.components === null
        ? []
        : msg.components,
    ...(msg.poll !== undefined ? { poll: msg.poll } : {}),
  };
  if (isEmpty(next, attachments, undefined)) throw errors.emptyMessage();

  const wasLoading = (msg.flags & MESSAGE_FLAGS.Loading) !== 0;
  msg.history.push({
    content: msg.content,
    embeds: msg.embeds,
    components: msg.components,
    attachments: msg.attachments,
    flags: msg.flags,
    at: msg.edited_timestamp ?? msg.timestamp,
  });
  msg.content = next.content;
  msg.embeds = next.embeds.map((e) => ({ type: "rich", ...(e as Obj) }));
  msg.components = next.components;
  msg.attachments = attachments;
  msg.flags = flags;
  msg.droppedFlags |= dropped;
  if (body.allowed_mentions !== undefined) msg.allowed_mentions = body.allowed_mentions;
  if (!wasLoading) msg.edited_timestamp = new Date().toISOString();
  msg.editCount += 1;
  applyMentions(ctx, msg);
  for (const [id, b] of built.bytes) {
    const att = built.attachments.find((a) => a.id === id);
    ctx.store.attachmentBytes.set(id, {
      bytes: b,
      channelId: ctx.channelId,
      ...(att?.content_type ? { contentType: att.content_type } : {}),
    });
  }
  return msg;
}
