/**
 * Deciding which chat messages auto-read speaks in a guild's voice channel. A guild binds one text
 * channel to the voice channel the bot is in; only members listening there are read, so nobody can
 * make the bot talk to a room they are not in.
 *
 * Bots and webhooks are off by default (other bots' announcements are noise, and a webhook can post
 * anything). When a guild turns `readBots` on, they are read without being in the voice channel:
 * they never are, and the common case is a proxy bot (e.g. PluralKit) reposting a member's words
 * through a webhook.
 */

export const DEFAULT_SKIP_PREFIXES: readonly string[] = ["!", "//"];

export interface AutoReadMessage {
  guildId: string;
  channelId: string;
  authorId: string;
  authorIsBot: boolean;
  webhookId?: string | null;
  system: boolean;
  content: string;
  attachmentCount: number;
  stickerCount?: number;
  /** The voice channel the author is in right now, null when none. */
  authorVoiceChannelId: string | null;
}

export interface AutoReadBinding {
  textChannelId: string;
  voiceChannelId: string;
  /** Read messages from bots and webhooks too. Default false. */
  readBots?: boolean;
  /** A message starting with one of these is not read, so members can type without being heard. */
  skipPrefixes?: readonly string[];
}

export type AutoReadSkipReason =
  | "no binding"
  | "system message"
  | "not the bound text channel"
  | "bot"
  | "webhook"
  | "author not in the voice channel"
  | "skip prefix"
  | "empty";

export type AutoReadDecision = { read: true } | { read: false; reason: AutoReadSkipReason };

const skip = (reason: AutoReadSkipReason): AutoReadDecision => ({ read: false, reason });

export function shouldAutoRead(msg: AutoReadMessage, binding: AutoReadBinding | undefined): AutoReadDecision {
  if (binding === undefined) return skip("no binding");
  if (msg.system) return skip("system message");
  if (msg.channelId !== binding.textChannelId) return skip("not the bound text channel");

  const isWebhook = msg.webhookId != null && msg.webhookId !== "";
  const readBots = binding.readBots ?? false;
  if (isWebhook && !readBots) return skip("webhook");
  if (msg.authorIsBot && !readBots) return skip("bot");
  if (!isWebhook && !msg.authorIsBot && msg.authorVoiceChannelId !== binding.voiceChannelId) {
    return skip("author not in the voice channel");
  }

  const text = msg.content.trimStart();
  const prefixes = binding.skipPrefixes ?? DEFAULT_SKIP_PREFIXES;
  // An empty prefix would match every message and silence the channel by accident.
  if (prefixes.some((p) => p !== "" && text.startsWith(p))) return skip("skip prefix");

  if (text === "" && count(msg.attachmentCount) === 0 && count(msg.stickerCount) === 0) return skip("empty");
  return { read: true };
}

/**
 * What to say for a message's files and stickers, e.g. "sent a file", "sent 3 files and a sticker";
 * "" when there are none.
 */
export function describeAttachments(files: number, stickers = 0): string {
  const parts = [amount(count(files), "a file", "files"), amount(count(stickers), "a sticker", "stickers")];
  const said = parts.filter((p) => p !== "");
  return said.length === 0 ? "" : `sent ${said.join(" and ")}`;
}

function amount(n: number, one: string, many: string): string {
  if (n === 0) return "";
  return n === 1 ? one : `${n} ${many}`;
}

/** Counts come from outside; anything odd is nothing. */
function count(n: number | undefined): number {
  return n !== undefined && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
