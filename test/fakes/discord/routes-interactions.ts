import { DiscordError, errors, type FormIssue, issue } from "./errors.ts";
import { emitMessageCreate, emitMessageDelete, emitMessageUpdate } from "./events.ts";
import type { Reply } from "./http.ts";
import { type BuildContext, createMessage, editMessage, type FakeMessage, toApiMessage } from "./messages.ts";
import { json, messagePayload, noContent, type Route, type RouteContext } from "./router.ts";
import { apiMember, apiUser, type Json } from "./serialize.ts";
import {
  type AutocompleteChoice,
  type CallbackRecord,
  type FakeState,
  type InteractionState,
  notifyChange,
} from "./state.ts";
import { validateModal } from "./validate-components.ts";
import { MESSAGE_FLAGS } from "./validate-message.ts";

/**
 * Interaction callbacks and the interaction webhook (edit/delete/get the original, follow-ups),
 * with Discord's timing rules: the callback within `ackTimeoutMs` of dispatch (else 10062), once
 * (else 40060), the token usable for `tokenTtlMs` (then 50027).
 */

const CALLBACK_FLAGS =
  MESSAGE_FLAGS.SuppressEmbeds |
  MESSAGE_FLAGS.Ephemeral |
  MESSAGE_FLAGS.SuppressNotifications |
  MESSAGE_FLAGS.IsVoiceMessage |
  MESSAGE_FLAGS.IsComponentsV2;
const FOLLOW_UP_FLAGS =
  MESSAGE_FLAGS.SuppressEmbeds |
  MESSAGE_FLAGS.Ephemeral |
  MESSAGE_FLAGS.SuppressNotifications |
  MESSAGE_FLAGS.IsComponentsV2;
const EDIT_FLAGS = MESSAGE_FLAGS.SuppressEmbeds | MESSAGE_FLAGS.IsComponentsV2;

type Obj = Record<string, unknown>;

function allowedCallbackTypes(it: InteractionState): number[] {
  switch (it.type) {
    case 2:
      return [4, 5, 9];
    case 3:
      return [4, 5, 6, 7, 9];
    case 4:
      return [8];
    case 5:
      return it.sourceMessageId ? [4, 5, 6, 7] : [4, 5];
    default:
      return [1];
  }
}

export function interactionMetadata(state: FakeState, it: InteractionState, extra: Json = {}): Json {
  return {
    id: it.id,
    type: it.type,
    user: apiUser(state.world, it.userId),
    authorizing_integration_owners: it.guildId ? { "0": it.guildId } : { "0": "0" },
    ...(it.type === 2 ? { name: it.name, command_type: it.commandType } : {}),
    ...(it.type === 3 && it.sourceMessageId ? { interacted_message_id: it.sourceMessageId } : {}),
    ...extra,
  };
}

function legacyInteraction(state: FakeState, it: InteractionState): Json | undefined {
  if (it.type !== 2) return undefined;
  return {
    id: it.id,
    type: it.type,
    name: it.name,
    user: apiUser(state.world, it.userId),
    ...(it.guildId && state.world.members.has(it.userId)
      ? { member: apiMember(state.world, it.userId, { withUser: false }) }
      : {}),
  };
}

function buildContext(
  state: FakeState,
  it: InteractionState,
  path: ReadonlyArray<string | number>,
  allowedFlags: number,
): BuildContext {
  return {
    world: state.world,
    store: state.store,
    baseUrl: state.baseUrl,
    channelId: it.channelId,
    authorId: state.world.botId,
    path,
    allowedFlags,
    enforcePermissions: false,
  };
}

function responseMessageType(it: InteractionState): number {
  if (it.type === 2) return it.commandType === 1 ? 20 : 23;
  return 0;
}

function validateChoices(
  it: InteractionState,
  data: unknown,
): { issues: FormIssue[]; choices: AutocompleteChoice[] } {
  const issues: FormIssue[] = [];
  const d = (data ?? {}) as Obj;
  const choices = d.choices;
  if (!Array.isArray(choices)) return { issues: [issue.required(["data", "choices"])], choices: [] };
  if (choices.length > 25) issues.push(issue.maxLength(["data", "choices"], 25));
  choices.forEach((c, i) => {
    const p = ["data", "choices", i];
    if (typeof c !== "object" || c === null) {
      issues.push(issue.type(p, "object", c));
      return;
    }
    const choice = c as Obj;
    const name = choice.name;
    if (typeof name !== "string" || [...name].length < 1 || [...name].length > 100)
      issues.push(issue.badLength([...p, "name"], 1, 100));
    const value = choice.value;
    if (it.focusedType === 4 || it.focusedType === 10) {
      if (typeof value !== "number" || (it.focusedType === 4 && !Number.isInteger(value)))
        issues.push(issue.type([...p, "value"], it.focusedType === 4 ? "int" : "number", value));
    } else if (typeof value !== "string") {
      issues.push(issue.type([...p, "value"], "string", value));
    } else if ([...value].length > 100) {
      issues.push(issue.maxLength([...p, "value"], 100));
    }
  });
  return { issues, choices: choices as AutocompleteChoice[] };
}

function applyCallback(
  state: FakeState,
  it: InteractionState,
  type: number,
  data: Obj | undefined,
  files: CallbackRecord["files"],
  record: CallbackRecord,
): void {
  const appId = state.world.applicationId;
  const common = {
    type: responseMessageType(it),
    source: "interaction-response" as const,
    interactionId: it.id,
    webhookId: appId,
    applicationId: appId,
    interactionMetadata: interactionMetadata(state, it),
    ...(legacyInteraction(state, it) ? { interaction: legacyInteraction(state, it)! } : {}),
  };
  switch (type) {
    case 4: {
      const msg = createMessage(buildContext(state, it, ["data"], CALLBACK_FLAGS), data ?? {}, files, common);
      it.originalId = msg.id;
      it.originalPending = false;
      emitMessageCreate(state, msg);
      return;
    }
    case 5: {
      const flags = typeof data?.flags === "number" ? data.flags : 0;
      const msg = createMessage(buildContext(state, it, ["data"], MESSAGE_FLAGS.Ephemeral), { flags }, [], {
        ...common,
        allowEmpty: true,
        forceFlags: MESSAGE_FLAGS.Loading,
      });
      msg.droppedFlags |= flags & ~MESSAGE_FLAGS.Ephemeral;
      it.originalId = msg.id;
      it.originalPending = true;
      emitMessageCreate(state, msg);
      return;
    }
    case 6:
      it.originalId = it.sourceMessageId;
      it.originalPending = true;
      return;
    case 7: {
      const source = it.sourceMessageId ? state.store.get(it.sourceMessageId) : undefined;
      if (!source || source.deleted) throw errors.unknownMessage();
      editMessage(buildContext(state, it, ["data"], EDIT_FLAGS), source, data ?? {}, files);
      it.originalId = source.id;
      it.originalPending = false;
      emitMessageUpdate(state, source);
      return;
    }
    case 8: {
      const { issues, choices } = validateChoices(it, data);
      if (issues.length > 0) throw errors.invalidForm(issues);
      record.choices = choices;
      return;
    }
    case 9: {
      const issues = validateModal(data, ["data"]);
      if (issues.length > 0) throw errors.invalidForm(issues);
      record.modal = data as Json;
      state.modals.push({
        interactionId: it.id,
        userId: it.userId,
        channelId: it.channelId,
        guildId: it.guildId,
        data: data as Json,
        ...(it.type === 3 && it.sourceMessageId ? { sourceMessageId: it.sourceMessageId } : {}),
        at: Date.now(),
      });
      return;
    }
  }
}

function callbackResponse(state: FakeState, it: InteractionState, type: number): Json {
  const msg = it.originalId ? state.store.get(it.originalId) : undefined;
  const interaction: Json = { id: it.id, type: it.type };
  if (msg && (type === 4 || type === 5 || type === 7)) {
    interaction.response_message_id = msg.id;
    interaction.response_message_loading = type === 5;
    interaction.response_message_ephemeral = (msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0;
  }
  const resource: Json = { type };
  if (msg && (type === 4 || type === 7)) resource.message = toApiMessage(msg);
  return { interaction, resource };
}

function handleCallback(ctx: RouteContext): Reply {
  const { state, req } = ctx;
  const id = ctx.params.id!;
  const it = state.interactions.get(id);
  const now = performance.now();
  const ackMs = it ? Math.round((now - it.dispatchedAt) * 10) / 10 : Number.NaN;
  req.interactionId = id;
  if (it) req.ackMs = ackMs;
  const record: CallbackRecord = {
    interactionId: id,
    type: Number.NaN,
    ackMs,
    at: Date.now(),
    status: 0,
    accepted: false,
    files: [],
    withResponse: req.query.with_response === "true",
  };
  try {
    if (!it || it.token !== ctx.params.token) throw errors.unknownInteraction();
    const { body, files } = messagePayload(req, it.attachmentSizeLimit, ["data"]);
    record.type = typeof body.type === "number" ? body.type : Number.NaN;
    if (body.data !== undefined) record.data = body.data;
    record.files = files;
    if (it.ack) throw errors.alreadyAcknowledged();
    if (ackMs > it.ackTimeoutMs) {
      it.expired = true;
      throw errors.unknownInteraction();
    }
    const allowed = allowedCallbackTypes(it);
    if (typeof body.type !== "number" || !allowed.includes(body.type)) {
      throw errors.invalidForm([issue.choices(["type"], allowed)]);
    }
    const data = body.data;
    if (data !== undefined && data !== null && (typeof data !== "object" || Array.isArray(data))) {
      throw errors.invalidForm([issue.type(["data"], "object", data)]);
    }
    applyCallback(state, it, body.type, (data ?? undefined) as Obj | undefined, files, record);
    record.accepted = true;
    it.ack = record;
    const reply: Reply = record.withResponse
      ? json(200, callbackResponse(state, it, body.type))
      : noContent();
    record.status = reply.status;
    return reply;
  } catch (error) {
    if (error instanceof DiscordError) {
      record.status = error.status;
      record.error = error.body;
    }
    throw error;
  } finally {
    if (it) {
      it.callbacks.push(record);
      notifyChange(state);
    }
  }
}

function webhookInteraction(ctx: RouteContext): InteractionState {
  const { state } = ctx;
  if (ctx.params.app !== state.world.applicationId) throw errors.unknownWebhook();
  const it = state.tokens.get(ctx.params.token!);
  if (!it) throw errors.invalidWebhookToken();
  if (Date.now() - it.dispatchedAtMs > it.tokenTtlMs) throw errors.invalidWebhookToken();
  if (!it.ack || it.ack.type === 8 || it.ack.type === 9) throw errors.unknownWebhook();
  return it;
}

function webhookMessage(ctx: RouteContext, it: InteractionState): FakeMessage {
  const ref = ctx.params.message!;
  const id = ref === "@original" ? it.originalId : ref;
  const owned = id !== undefined && (id === it.originalId || it.followUpIds.includes(id));
  const msg = owned ? ctx.state.store.get(id) : undefined;
  if (!msg || msg.deleted) throw errors.unknownMessage();
  return msg;
}

export const interactionRoutes: Route[] = [
  {
    method: "POST",
    pattern: "/interactions/:id/:token/callback",
    auth: "none",
    handle: handleCallback,
  },
  {
    method: "POST",
    pattern: "/webhooks/:app/:token",
    auth: "none",
    handle: (ctx) => {
      const { state } = ctx;
      const it = webhookInteraction(ctx);
      const { body, files } = messagePayload(ctx.req, it.attachmentSizeLimit);
      const original = it.originalId ? state.store.get(it.originalId) : undefined;
      if (it.ack?.type === 5 && it.originalPending && original && !original.deleted) {
        // Documented backwards compatibility: the first follow-up after a defer edits the
        // "thinking" message; its ephemeral state cannot change.
        editMessage(buildContext(state, it, [], EDIT_FLAGS), original, body, files);
        it.originalPending = false;
        emitMessageUpdate(state, original);
        notifyChange(state);
        return json(200, toApiMessage(original));
      }
      // Discord allows a user-installed app at most 5 follow-ups per interaction.
      if (it.install === 1 && it.followUpIds.length >= 5) throw errors.tooManyFollowUps();
      const msg = createMessage(buildContext(state, it, [], FOLLOW_UP_FLAGS), body, files, {
        type: 0,
        source: "follow-up",
        interactionId: it.id,
        webhookId: state.world.applicationId,
        applicationId: state.world.applicationId,
        interactionMetadata: interactionMetadata(
          state,
          it,
          it.originalId ? { original_response_message_id: it.originalId } : {},
        ),
      });
      it.followUpIds.push(msg.id);
      emitMessageCreate(state, msg);
      notifyChange(state);
      return json(200, toApiMessage(msg));
    },
  },
  {
    method: "GET",
    pattern: "/webhooks/:app/:token/messages/:message",
    auth: "none",
    handle: (ctx) => {
      const it = webhookInteraction(ctx);
      return json(200, toApiMessage(webhookMessage(ctx, it)));
    },
  },
  {
    method: "PATCH",
    pattern: "/webhooks/:app/:token/messages/:message",
    auth: "none",
    handle: (ctx) => {
      const { state } = ctx;
      const it = webhookInteraction(ctx);
      const msg = webhookMessage(ctx, it);
      const { body, files } = messagePayload(ctx.req, it.attachmentSizeLimit);
      editMessage(buildContext(state, it, [], EDIT_FLAGS), msg, body, files);
      if (msg.id === it.originalId) it.originalPending = false;
      emitMessageUpdate(state, msg);
      notifyChange(state);
      return json(200, toApiMessage(msg));
    },
  },
  {
    method: "DELETE",
    pattern: "/webhooks/:app/:token/messages/:message",
    auth: "none",
    handle: (ctx) => {
      const it = webhookInteraction(ctx);
      const msg = webhookMessage(ctx, it);
      msg.deleted = true;
      if (msg.id === it.originalId) it.originalPending = false;
      emitMessageDelete(ctx.state, msg);
      notifyChange(ctx.state);
      return noContent();
    },
  },
];
