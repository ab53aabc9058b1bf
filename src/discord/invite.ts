import { PermissionFlagsBits } from "discord.js";

/**
 * What the bot needs in a server, and why: the invite URL asks for exactly these, and the README lists
 * the same set. Member permissions the code checks (Manage Server, Manage Messages, Move Members for
 * /skip) are the member's, not the bot's, so they are not asked for. Move Members for the bot itself is
 * optional (it only lets it enter a full voice channel) and is left out: it would also let it move and
 * disconnect anyone.
 */
export const BOT_PERMISSIONS = [
  { name: "View Channels", flag: PermissionFlagsBits.ViewChannel, why: "see text and voice channels" },
  {
    name: "Send Messages",
    flag: PermissionFlagsBits.SendMessages,
    why: "post narration results and notices",
  },
  { name: "Embed Links", flag: PermissionFlagsBits.EmbedLinks, why: "narration status and request cards" },
  { name: "Attach Files", flag: PermissionFlagsBits.AttachFiles, why: "audio files and .srt subtitles" },
  {
    name: "Read Message History",
    flag: PermissionFlagsBits.ReadMessageHistory,
    why: "find a result already posted before a restart, so it is never posted twice",
  },
  {
    name: "Send Voice Messages",
    flag: PermissionFlagsBits.SendVoiceMessages,
    why: "/speak format: voice message",
  },
  { name: "Connect", flag: PermissionFlagsBits.Connect, why: "join voice channels" },
  { name: "Speak", flag: PermissionFlagsBits.Speak, why: "play speech in voice channels" },
] as const;

/** The permissions integer of the invite: every flag in BOT_PERMISSIONS. */
export function botPermissions(permissions: readonly { flag: bigint }[] = BOT_PERMISSIONS): bigint {
  return permissions.reduce((bits, p) => bits | p.flag, 0n);
}

/**
 * The URL that adds the bot to a server with its slash commands and the permissions it needs:
 * `https://discord.com/oauth2/authorize?client_id=<id>&scope=bot+applications.commands&permissions=<n>`.
 */
export function inviteUrl(applicationId: string, permissions: bigint = botPermissions()): string {
  return (
    `https://discord.com/oauth2/authorize?client_id=${encodeURIComponent(applicationId)}` +
    `&scope=bot+applications.commands&permissions=${permissions}`
  );
}
