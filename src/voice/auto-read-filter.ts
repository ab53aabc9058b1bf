import { DEFAULT_SKIP_PREFIXES } from "../settings/reading.ts";
import type { ChatAttachment, ChatForward } from "./message-description.ts";

/**
 * Deciding which chat messages auto-read speaks in a guild's voice channel. The bot reads the text
 * channel bound by /join and, when the server keeps `textInVoice` on, the voice channel's own chat.
 * With `requireVoice` (the default) only members listening in the bot's voice channel are read, in
 * both, so nobody can make the bot talk to a room they are not in.
 *
 * Bots and webhooks are off by default (other bots' announcements are noise, and a webhook can post
 * anything). When a guild turns `readBots` on, they are read without being in the voice channel:
 * they never are, and the common case is a proxy bot (e.g. PluralKit) reposting a member's words
 * through a webhook.
 *
 * Roles: a member with the ignored role is never read; when a role is required, only members holding
 * it are read (a webhook has no roles, so it is not). In a stage channel the audience (members the
 * stage suppresses, i.e. not speakers) is not read while `ignoreAudience` is on.
 */

export { DEFAULT_SKIP_PREFIXES };

export interface AutoReadMessage {
  guildId: string;
  channelId: string;
  authorId: string;
  authorIsBot: boolean;
  webhookId?: string | null;
  system: boolean;
  content: string;
  attachments?: readonly ChatAttachment[];
  /** Sticker names. */
  stickers?: readonly string[];
  /** The forwarded message, for a forward. */
  forward?: ChatForward;
  /** The author's role ids in the guild; null when there is no member (webhooks). */
  authorRoleIds?: readonly string[] | null;
  /** The voice channel the author is in right now, null when none. */
  authorVoiceChannelId: string | null;
  /** The author is in a stage channel's audience (suppressed: not a speaker). */
  authorIsAudience?: boolean;
}

export interface AutoReadBinding {
  textChannelId: string;
  voiceChannelId: string;
  /** Read messages from bots and webhooks too. Default false. */
  readBots?: boolean;
  /** A message starting with one of these is not read, so members can type without being heard. */
  skipPrefixes?: readonly string[];
  /** Also read the voice channel's own text chat. Default true. */
  textInVoice?: boolean;
  /** Only members in the voice channel are read. Default true. */
  requireVoice?: boolean;
  requiredRoleId?: string | undefined;
  ignoredRoleId?: string | undefined;
  /** Skip a stage channel's audience. Default true. */
  ignoreAudience?: boolean;
}

export type AutoReadSkipReason =
  | "no binding"
  | "system message"
  | "not a channel read"
  | "bot"
  | "webhook"
  | "ignored role"
  | "missing the required role"
  | "author not in the voice channel"
  | "stage audience"
  | "skip prefix"
  | "empty";

export type AutoReadDecision = { read: true } | { read: false; reason: AutoReadSkipReason };

const skip = (reason: AutoReadSkipReason): AutoReadDecision => ({ read: false, reason });

/** Whether auto-read reads chat in this channel at all (the cheap check, before any settings work). */
export function isReadChannel(
  channelId: string,
  binding: Pick<AutoReadBinding, "textChannelId" | "voiceChannelId" | "textInVoice">,
): boolean {
  if (channelId === binding.textChannelId) return true;
  return (binding.textInVoice ?? true) && channelId === binding.voiceChannelId;
}

export function shouldAutoRead(msg: AutoReadMessage, binding: AutoReadBinding | undefined): AutoReadDecision {
  if (binding === undefined) return skip("no binding");
  if (msg.system) return skip("system message");
  if (!isReadChannel(msg.channelId, binding)) return skip("not a channel read");

  const isWebhook = msg.webhookId != null && msg.webhookId !== "";
  const readBots = binding.readBots ?? false;
  if (isWebhook && !readBots) return skip("webhook");
  if (msg.authorIsBot && !readBots) return skip("bot");

  const roles = isWebhook ? null : (msg.authorRoleIds ?? null);
  if (binding.ignoredRoleId && roles?.includes(binding.ignoredRoleId)) return skip("ignored role");
  if (binding.requiredRoleId && !roles?.includes(binding.requiredRoleId)) {
    return skip("missing the required role");
  }

  const human = !isWebhook && !msg.authorIsBot;
  const inVoice = msg.authorVoiceChannelId === binding.voiceChannelId;
  if (human && (binding.requireVoice ?? true) && !inVoice) return skip("author not in the voice channel");
  if (inVoice && msg.authorIsAudience === true && (binding.ignoreAudience ?? true)) {
    return skip("stage audience");
  }

  const text = msg.content.trimStart();
  const prefixes = binding.skipPrefixes ?? DEFAULT_SKIP_PREFIXES;
  // An empty prefix would match every message and silence the channel by accident.
  if (prefixes.some((p) => p !== "" && text.startsWith(p))) return skip("skip prefix");

  const nothing =
    text === "" &&
    (msg.attachments?.length ?? 0) === 0 &&
    (msg.stickers?.length ?? 0) === 0 &&
    msg.forward === undefined;
  if (nothing) return skip("empty");
  return { read: true };
}
