import { type ChatInputCommandInteraction, SlashCommandBuilder } from "discord.js";
import { actorOf } from "../src/discord/actor.ts";
import {
  type CommandModule,
  type ComponentInteraction,
  parseCustomId,
  UserFacingError,
} from "../src/discord/command.ts";
import type { BotContext } from "../src/discord/context.ts";
import { formatElapsed, jobLink } from "../src/discord/job-status.ts";
import { replyEphemeral } from "../src/discord/reply.ts";
import type { JobRecord } from "../src/jobs/types.ts";

const data = new SlashCommandBuilder()
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

/** Who may see or cancel a job is the job's business (its requester, or a moderator of its server): see JobService. */
async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  if (sub === "list") {
    const jobs = await ctx.jobs.listForUser(interaction.user.id);
    await replyEphemeral(
      interaction,
      jobs.length > 0
        ? jobs.slice(0, 15).map(line).join("\n")
        : "You have no narration jobs yet. Start one with /narrate.",
    );
    return;
  }
  const id = interaction.options.getString("id", true).trim();
  if (sub === "show") {
    const job = await ctx.jobs.show(id, actorOf(interaction));
    const error = job.lastError ? `\nLast problem: ${job.lastError.message}` : "";
    await replyEphemeral(
      interaction,
      `${line(job)}\nVoice \`${job.settings.voiceId}\` on ${job.settings.model}.${error}`,
    );
    return;
  }
  const job = await ctx.jobs.cancel(id, actorOf(interaction));
  await replyEphemeral(interaction, `Cancelled job \`${job.id}\`.`);
}

/** The Cancel and Retry buttons on a job's status message: `jobs:<action>:<job id>`. */
async function component(interaction: ComponentInteraction, ctx: BotContext): Promise<void> {
  const { action, args } = parseCustomId(interaction.customId);
  const id = args[0] ?? "";
  if (action === "cancel") {
    const job = await ctx.jobs.cancel(id, actorOf(interaction));
    await replyEphemeral(interaction, `Cancelled job \`${job.id}\`.`);
    return;
  }
  if (action === "retry") {
    const job = await ctx.narration.retry(id, actorOf(interaction));
    await replyEphemeral(interaction, `Job \`${job.id}\` is queued again.`);
    return;
  }
  throw new UserFacingError("That button is no longer available.");
}

export default { data, execute, component } satisfies CommandModule;
