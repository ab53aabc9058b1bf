import {
  type ChatInputCommandInteraction,
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
} from "discord.js";
import { allows, guildIdOf } from "../src/discord/access.ts";
import type { CommandModule } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import type { UsageSummary } from "../src/settings/usage.ts";
import { relativeTime } from "../src/text/markup.ts";

export const TOP_USERS = 10;

const data = new SlashCommandBuilder()
  .setName("usage")
  .setDescription("Characters you and this server used, and what the budgets leave")
  .setContexts(InteractionContextType.Guild);

const fmt = (n: number) => n.toLocaleString("en-US");

function line(label: string, used: number, remaining: number | null): string {
  const rest = remaining === null ? "no limit" : `${fmt(remaining)} left`;
  return `**${label}:** ${fmt(used)} used · ${rest}`;
}

/** The embed `/usage` shows; `top` only for moderators. */
export function usageEmbed(
  summary: UsageSummary,
  top?: readonly { userId: string; chars: number }[],
): EmbedBuilder {
  const embed = new EmbedBuilder().setTitle("Character usage").addFields(
    {
      name: "You",
      value: [
        line("Today", summary.user.day, summary.remaining.userDay),
        `**This month:** ${fmt(summary.user.month)} used`,
      ].join("\n"),
    },
    {
      name: "This server",
      value: [
        line("Today", summary.guild.day, summary.remaining.guildDay),
        line("This month", summary.guild.month, summary.remaining.guildMonth),
      ].join("\n"),
    },
    {
      name: "Resets",
      value: `Daily ${relativeTime(summary.resets.day)} · monthly ${relativeTime(summary.resets.month)}`,
    },
  );
  if (top) {
    embed.addFields({
      name: `Top ${TOP_USERS} this month`,
      value:
        top.length === 0
          ? "*Nobody yet.*"
          : top.map((t, i) => `${i + 1}. <@${t.userId}> — ${fmt(t.chars)}`).join("\n"),
    });
  }
  return embed.setFooter({ text: "Replays served from the cache are free." });
}

/** Everyone sees their own and the server's usage; moderators also see who used the most. */
async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const guildId = guildIdOf(interaction);
  const settings = await ctx.guildSettings.get(guildId);
  const summary = await ctx.usage.summary(guildId, interaction.user.id, settings.limits);
  const top = (await allows(interaction, { moderator: true }, ctx))
    ? await ctx.usage.top(guildId, "month", TOP_USERS)
    : undefined;
  await replyEphemeral(interaction, { embeds: [usageEmbed(summary, top)] });
}

export default { data, access: { guildOnly: true }, execute } satisfies CommandModule;
