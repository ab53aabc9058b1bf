import {
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  MessageFlags,
  SlashCommandBuilder,
  type StringSelectMenuInteraction,
} from "discord.js";
import { actorOf } from "../src/discord/actor.ts";
import { parseCustomId, UserFacingError } from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { formatElapsed, jobLink } from "../src/discord/job-status.ts";
import { NO_PINGS } from "../src/discord/reply.ts";
import type { JobRecord } from "../src/jobs/types.ts";

export const data = new SlashCommandBuilder()
  .setName("jobs")
  .setDescription("Your narration jobs")
  .addSubcommand((s) => s.setName("list").setDescription("List your recent narration jobs"))
  .addSubcommand((s) =>
    s
      .setName("show")
      .setDescription("Show one job")
      .addStringOption((o) =>
        o.setName("id").setDescription("The job id").setRequired(true).setMaxLength(20),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName("cancel")
      .setDescription("Cancel a job that has not finished")
      .addStringOption((o) =>
        o.setName("id").setDescription("The job id").setRequired(true).setMaxLength(20),
      ),
  );

function line(job: JobRecord): string {
  const title = job.title ? ` “${job.title.slice(0, 60)}”` : "";
  const link = jobLink(job, job.statusMessageId);
  return `\`${job.id}\`${title} · **${job.state}** · ${job.chars} characters · ${formatElapsed((job.finishedAt ?? Date.now()) - job.createdAt)}${link ? ` · ${link}` : ""}`;
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  const reply = (content: string) =>
    interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
  if (sub === "list") {
    const jobs = await ctx.jobs.listForUser(interaction.user.id);
    await reply(
      jobs.length > 0
        ? jobs.slice(0, 15).map(line).join("\n")
        : "You have no narration jobs yet. Start one with /narrate.",
    );
    return;
  }
  const id = interaction.options.getString("id", true).trim();
  if (sub === "show") {
    // The requester, or a moderator of the job's own server (see JobService.show).
    const job = await ctx.jobs.show(id, actorOf(interaction));
    const error = job.lastError ? `\nLast problem: ${job.lastError.message}` : "";
    await reply(`${line(job)}\nVoice \`${job.settings.voiceId}\` on ${job.settings.model}.${error}`);
    return;
  }
  const job = await ctx.jobs.cancel(id, actorOf(interaction));
  await reply(`Cancelled job \`${job.id}\`.`);
}

export async function component(
  interaction: ButtonInteraction | StringSelectMenuInteraction,
  ctx: BotContext,
): Promise<void> {
  const { action, args } = parseCustomId(interaction.customId);
  const id = args[0] ?? "";
  const who = actorOf(interaction);
  if (action === "cancel") {
    const job = await ctx.jobs.cancel(id, who);
    await interaction.reply({
      content: `Cancelled job \`${job.id}\`.`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  if (action === "retry") {
    const job = await ctx.narration.retry(id, who);
    await interaction.reply({
      content: `Job \`${job.id}\` is queued again.`,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_PINGS,
    });
    return;
  }
  throw new UserFacingError("That button is no longer available.");
}
