import { ActionRowBuilder, ButtonBuilder, ButtonStyle, EmbedBuilder } from "discord.js";
import { isFinal, type JobRecord, type JobState } from "../jobs/types.ts";
import { customId } from "./command.ts";

/** How a narration job looks in Discord: the status embed and its buttons. */

const STATE_LABEL: Record<JobState, string> = {
  queued: "⏳ Queued",
  submitted: "📨 Sent to the speech service",
  processing: "🎙️ Narrating",
  downloading: "⬇️ Downloading the result",
  posting: "📤 Posting the result",
  done: "✅ Done",
  failed: "❌ Failed",
  cancelled: "🚫 Cancelled",
  expired: "⌛ Expired",
};

const COLOR: Partial<Record<JobState, number>> = {
  done: 0x2ecc71,
  failed: 0xe74c3c,
  cancelled: 0x95a5a6,
  expired: 0xe67e22,
};

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function jobLink(job: JobRecord, messageId: string | undefined): string | undefined {
  if (!messageId) return undefined;
  return `https://discord.com/channels/${job.guildId ?? "@me"}/${job.channelId}/${messageId}`;
}

export function statusEmbed(job: JobRecord, now = Date.now()): EmbedBuilder {
  const end = job.finishedAt ?? now;
  const embed = new EmbedBuilder()
    .setTitle(job.title ? `Narration: ${job.title.slice(0, 200)}` : "Narration")
    .addFields(
      { name: "State", value: STATE_LABEL[job.state], inline: true },
      { name: "Elapsed", value: formatElapsed(end - job.createdAt), inline: true },
      {
        name: "Characters",
        value: String(job.usageCharacters ?? job.chars),
        inline: true,
      },
      { name: "Requested by", value: `<@${job.requesterId}>`, inline: true },
      { name: "Voice", value: `\`${job.settings.voiceId}\` · ${job.settings.model}`, inline: true },
    )
    .setFooter({ text: `job ${job.id}` });
  const color = COLOR[job.state];
  if (color !== undefined) embed.setColor(color);
  if (job.lastError && (job.state === "failed" || job.state === "expired")) {
    embed.addFields({ name: "Reason", value: job.lastError.message.slice(0, 1000) });
  } else if (job.lastError && !isFinal(job.state)) {
    embed.addFields({ name: "Last problem (retrying)", value: job.lastError.message.slice(0, 1000) });
  }
  const result = job.resultMessageIds?.[0];
  if (job.state === "done" && result) embed.addFields({ name: "Result", value: jobLink(job, result)! });
  return embed;
}

export function statusButtons(job: JobRecord): ActionRowBuilder<ButtonBuilder>[] {
  const buttons: ButtonBuilder[] = [];
  if (!isFinal(job.state)) {
    buttons.push(
      new ButtonBuilder()
        .setCustomId(customId("jobs", "cancel", job.id))
        .setLabel("Cancel")
        .setStyle(ButtonStyle.Danger),
    );
  }
  if (job.state === "failed" || job.state === "expired") {
    buttons.push(
      new ButtonBuilder()
        .setCustomId(customId("jobs", "retry", job.id))
        .setLabel("Retry")
        .setStyle(ButtonStyle.Primary),
    );
  }
  return buttons.length > 0 ? [new ActionRowBuilder<ButtonBuilder>().addComponents(...buttons)] : [];
}

/** The marker that identifies a job's result messages, so they can be found again after a crash. */
export function resultMarker(job: JobRecord, part: number, parts: number): string {
  return `-# job ${job.id}${parts > 1 ? ` · part ${part}/${parts}` : ""}`;
}

/** The private confirmation a member gets when a narration is queued. */
export function queuedMessage(job: JobRecord): string {
  const link = jobLink(job, job.statusMessageId);
  return `Narration queued (job \`${job.id}\`, ${job.chars} characters).${link ? ` Follow it here: ${link}` : ""}`;
}
