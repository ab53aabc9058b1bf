import type { Guild, Message } from "discord.js";
import type { CleanContext } from "../text/clean-text.ts";
import type { ChatMessage } from "../voice/auto-read.ts";

/** Names for mentions, from what the message resolved and the guild's caches. */
export function mentionNames(
  message: Message,
  guild: Guild | null,
): Pick<CleanContext, "userName" | "roleName" | "channelName"> {
  return {
    userName: (id) =>
      message.mentions.members?.get(id)?.displayName ??
      guild?.members.cache.get(id)?.displayName ??
      message.mentions.users.get(id)?.displayName,
    roleName: (id) => message.mentions.roles.get(id)?.name ?? guild?.roles.cache.get(id)?.name,
    channelName: (id) => {
      const channel = guild?.channels.cache.get(id) ?? message.mentions.channels.get(id);
      return channel && "name" in channel ? (channel.name ?? undefined) : undefined;
    },
  };
}

/** A discord.js message in the plain shape auto-read works with; undefined outside guilds. */
export function toChatMessage(message: Message): ChatMessage | undefined {
  if (!message.inGuild()) return undefined;
  const guild = message.guild;
  return {
    guildId: message.guildId,
    channelId: message.channelId,
    authorId: message.author.id,
    authorIsBot: message.author.bot,
    webhookId: message.webhookId,
    system: message.system,
    content: message.content,
    attachmentCount: message.attachments.size,
    stickerCount: message.stickers.size,
    authorVoiceChannelId: guild.voiceStates.cache.get(message.author.id)?.channelId ?? null,
    authorName: message.member?.displayName ?? message.author.displayName,
    names: mentionNames(message, guild),
  };
}
