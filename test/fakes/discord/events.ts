import { type GatewaySession, INTENTS } from "./gateway.ts";
import { type FakeMessage, toApiMessage } from "./messages.ts";
import type { Json } from "./serialize.ts";
import type { FakeState } from "./state.ts";
import { MESSAGE_FLAGS } from "./validate-message.ts";

/**
 * Gateway events the fake emits on its own when state changes: MESSAGE_CREATE / UPDATE / DELETE
 * (never for ephemeral messages), with content withheld from sessions lacking MESSAGE_CONTENT
 * unless the bot wrote the message or is mentioned in it.
 */

function messageIntent(msg: FakeMessage): number {
  return msg.guild_id ? INTENTS.GuildMessages : INTENTS.DirectMessages;
}

function withheldContent(state: FakeState, msg: FakeMessage, session: GatewaySession): boolean {
  if ((session.intents & INTENTS.MessageContent) !== 0) return false;
  if (!msg.guild_id) return false;
  const botId = state.world.botId;
  if (msg.author.id === botId) return false;
  return !msg.mentions.some((u) => u.id === botId);
}

function gatewayMessage(
  state: FakeState,
  msg: FakeMessage,
): (d: unknown, session: GatewaySession) => unknown {
  return (d, session) => {
    const out = { ...(d as Json) };
    if (withheldContent(state, msg, session)) {
      out.content = "";
      out.embeds = [];
      out.attachments = [];
      out.components = [];
      delete out.poll;
      // A forward's snapshot carries the same content fields, withheld the same way.
      if (Array.isArray(out.message_snapshots)) {
        out.message_snapshots = (out.message_snapshots as Json[]).map((s) => ({
          message: { ...(s.message as Json), content: "", embeds: [], attachments: [], components: [] },
        }));
      }
    }
    return out;
  };
}

export function emitMessageCreate(state: FakeState, msg: FakeMessage): void {
  if ((msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0) return;
  state.gateway.dispatch("MESSAGE_CREATE", toApiMessage(msg), {
    intent: messageIntent(msg),
    transform: gatewayMessage(state, msg),
  });
}

export function emitMessageUpdate(state: FakeState, msg: FakeMessage): void {
  if ((msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0) return;
  state.gateway.dispatch("MESSAGE_UPDATE", toApiMessage(msg), {
    intent: messageIntent(msg),
    transform: gatewayMessage(state, msg),
  });
}

export function emitMessageDelete(state: FakeState, msg: FakeMessage): void {
  if ((msg.flags & MESSAGE_FLAGS.Ephemeral) !== 0) return;
  state.gateway.dispatch(
    "MESSAGE_DELETE",
    { id: msg.id, channel_id: msg.channel_id, ...(msg.guild_id ? { guild_id: msg.guild_id } : {}) },
    { intent: messageIntent(msg) },
  );
}
