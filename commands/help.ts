import { type ChatInputCommandInteraction, EmbedBuilder, SlashCommandBuilder } from "discord.js";
import type { CommandModule } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import { PITCH_RANGE, rangeText, SPEED_RANGE, VOLUME_RANGE } from "../src/speech/ranges.ts";

const data = new SlashCommandBuilder()
  .setName("help")
  .setDescription("What this bot can do and how to use it");

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const embed = new EmbedBuilder()
    .setTitle("Text to speech with MiniMax voices")
    .setDescription(
      "Type a text, get natural speech back in seconds, as an audio file or a voice message.\n" +
        `Voices come from ${ctx.config.provider === "aimlapi" ? "MiniMax through the AI/ML API" : "MiniMax"}; ` +
        `the default is \`${ctx.config.defaultVoice}\` on \`${ctx.config.model}\`.`,
    )
    .addFields(
      {
        name: "/speak text:…",
        value:
          `Speak a text: audio in seconds, up to ${ctx.config.syncMaxChars} characters; longer texts become a ` +
          "narration job. Options: `voice` (start typing to search), `model`, " +
          `\`speed\` (${rangeText(SPEED_RANGE)}), \`pitch\` (${rangeText(PITCH_RANGE)}), ` +
          `\`volume\` (${rangeText(VOLUME_RANGE)}), ` +
          "`emotion`, `language`, `effect`, `format` (mp3, wav, flac or a voice message), " +
          "`private` (only you see it), `play` (speak it in your voice channel).",
      },
      {
        name: "Voice channels",
        value:
          "`/join` (this channel becomes the one I read from), `/leave`, `/skip`, `/stop` (clear the queue), " +
          "`/queue` (now playing, with Skip and Stop buttons). Right-click a message → Apps → **Read aloud**. " +
          "Speech starts as it is generated; members take turns in the queue. I leave when everyone has left " +
          "or after a quiet while. A server can have a long queue spoken a little faster and members " +
          'announced as they join and leave ("Bob joined") with `/settings voice-channel`.',
      },
      ...(ctx.config.autoRead
        ? [
            {
              name: "Auto-read",
              value:
                "Servers turn it on with `/settings reading auto_read:true`: chat in the /join channel and in the " +
                'voice channel\'s own chat, from members in the call, is read aloud ("Alice said: …"; files, ' +
                "stickers and forwards are described). Start a message with `!` or `//` to skip it. Admins choose " +
                "the roles read or ignored, the name spoken and its wording, the skip prefixes, the length, and " +
                "whether the stage audience is read.",
            },
          ]
        : []),
      {
        name: "/voice read-me enabled:false",
        value:
          "Opt out of being read: auto-read skips your messages, you are not announced joining or leaving, " +
          "and only you can use Read aloud on your messages. Works in every server.",
      },
      {
        name: "/narrate",
        value:
          "Narrate a long text, a .txt file or a .zip of chapters. The audio and subtitles are posted in the " +
          "channel when ready; follow and cancel with `/jobs`. Multi-voice stories: start each line with a " +
          "speaker (`Alice: Hi!`) and give `voices:Narrator=Wise_Woman, Alice=Calm_Woman` (or an `@voices …` " +
          "first line); each speaker is read in their voice, in one file, with the speaker named in the subtitles.",
      },
      {
        name: "/voices · /voice set | show | reset",
        value: "Browse voices (▶ plays a short sample only you hear), and save your own defaults.",
      },
      {
        name: "/voice design | design-list | design-share | design-delete",
        value:
          "Describe a new voice, hear its trial clip and keep it under a name; it shows up in `/speak voice:`. " +
          "Moderators can share one with the server.",
      },
      {
        name: "/request submit | list",
        value:
          "Ask for a text to be narrated; moderators approve, and a fair queue narrates approved requests.",
      },
      {
        name: "/usage",
        value: "Characters used today and this month, and what remains of the server's budgets.",
      },
      {
        name: "For server managers",
        value:
          "`/settings show | speech | channels | limits | access | voice-channel | reading | reset` " +
          "(voice defaults, channels, budgets and limits, who may use /speak, approve requests and design " +
          "voices, join announcements and the backlog speed-up, auto-read) and `/pronounce` (how words are said).",
      },
      {
        name: "Outside servers",
        value:
          "Add me to your account (a user install) to use `/speak` and **Read aloud** in DMs and group DMs, on a " +
          "daily budget of your own. There I answer privately or in the chat, up to " +
          `${ctx.config.syncMaxChars} characters at a time, without voice channels.`,
      },
      {
        name: "Good to know",
        value:
          "Repeated requests for the same text and settings are served from a cache, instantly and at no cost. " +
          "Long audio is split into numbered parts to fit the upload limit. Nothing you type can ping anyone.",
      },
    );
  await replyEphemeral(interaction, { embeds: [embed] });
}

export default { data, execute } satisfies CommandModule;
