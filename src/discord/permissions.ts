import { type ChatInputCommandInteraction, PermissionFlagsBits, type PermissionsBitField } from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";

/** What the bot needs in a channel to post narration status and results there. */
const POSTING = [
  ["View Channel", PermissionFlagsBits.ViewChannel],
  ["Send Messages", PermissionFlagsBits.SendMessages],
  ["Embed Links", PermissionFlagsBits.EmbedLinks],
  ["Attach Files", PermissionFlagsBits.AttachFiles],
] as const;

/** Names the permissions the bot lacks to post in `channelId`, before any work starts. */
export function assertCanPost(interaction: ChatInputCommandInteraction, channelId: string): void {
  let perms: Readonly<PermissionsBitField> | null | undefined;
  if (channelId === interaction.channelId) {
    perms = interaction.appPermissions;
  } else {
    const channel = interaction.guild?.channels.cache.get(channelId);
    const me = interaction.guild?.members.me;
    perms = channel && me ? channel.permissionsFor(me) : undefined;
  }
  // Outside a guild, or without cached data, Discord itself will tell; do not guess.
  if (!perms) return;
  const missing = POSTING.filter(([, bit]) => !perms.has(bit)).map(([name]) => name);
  if (missing.length > 0) {
    throw new UserFacingError(
      `I cannot post the narration in <#${channelId}>: I am missing ${missing.join(", ")} there. ` +
        "Ask a server admin to grant them, or pick another channel.",
    );
  }
}
