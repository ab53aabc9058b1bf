import {
  type Attachment,
  ChannelType,
  type Collection,
  type Guild,
  type GuildMember,
  type Message,
  MessageFlags,
  MessageReferenceType,
  type Sticker,
  type User,
  type VoiceState,
} from "discord.js";
import type { CleanContext } from "../text/clean-text.ts";
import type { ChatMessage } from "../voice/auto-read.ts";
import type { ChatAttachment, ChatForward } from "../voice/message-description.ts";
import type { SpeakerNames } from "../voice/speaker-names.ts";

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

/** A member's (or a webhook's) names as auto-read and announcements pick from them. */
export function speakerNamesOf(user: User, member: GuildMember | null | undefined): SpeakerNames {
  return {
    nickname: member?.nickname ?? null,
    displayName: user.globalName ?? null,
    username: user.username,
  };
}

/** Role ids of a member, without @everyone (every member has it); null without a member. */
export function roleIdsOf(member: GuildMember | null | undefined): string[] | null {
  if (!member) return null;
  return member.roles.cache.filter((r) => r.id !== member.guild.id).map((r) => r.id);
}

/** In the audience of a stage channel: suppressed, i.e. not a speaker. */
export function isStageAudience(state: VoiceState | undefined): boolean {
  return state?.channel?.type === ChannelType.GuildStageVoice && state.suppress === true;
}

function attachmentsOf(attachments: Collection<string, Attachment>, voiceMessage: boolean): ChatAttachment[] {
  return attachments.map((a) => ({ contentType: a.contentType, name: a.name, voiceMessage }));
}

function stickersOf(stickers: Collection<string, Sticker>): string[] {
  return stickers.map((s) => s.name ?? "");
}

/** The forwarded message of a forward (MessageReferenceType.Forward), from its snapshot. */
function forwardOf(message: Message): ChatForward | undefined {
  if (message.reference?.type !== MessageReferenceType.Forward) return undefined;
  const snapshot = message.messageSnapshots.first();
  if (!snapshot) return { content: "", attachments: [], stickers: [] };
  return {
    content: snapshot.content ?? "",
    attachments: attachmentsOf(snapshot.attachments, snapshot.flags.has(MessageFlags.IsVoiceMessage)),
    stickers: stickersOf(snapshot.stickers),
  };
}

/** A discord.js message in the plain shape auto-read works with; undefined outside guilds. */
export function toChatMessage(message: Message): ChatMessage | undefined {
  if (!message.inGuild()) return undefined;
  const guild = message.guild;
  const voiceState = guild.voiceStates.cache.get(message.author.id);
  const forward = forwardOf(message);
  return {
    guildId: message.guildId,
    channelId: message.channelId,
    authorId: message.author.id,
    authorIsBot: message.author.bot,
    webhookId: message.webhookId,
    system: message.system,
    content: message.content,
    attachments: attachmentsOf(message.attachments, message.flags.has(MessageFlags.IsVoiceMessage)),
    stickers: stickersOf(message.stickers),
    ...(forward ? { forward } : {}),
    authorRoleIds: message.webhookId ? null : roleIdsOf(message.member),
    authorVoiceChannelId: voiceState?.channelId ?? null,
    authorIsAudience: isStageAudience(voiceState),
    speaker: speakerNamesOf(message.author, message.member),
    names: mentionNames(message, guild),
  };
}
