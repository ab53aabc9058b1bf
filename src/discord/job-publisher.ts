import { AttachmentBuilder, type Client, type SendableChannels } from "discord.js";
import type { JobPublisher, JobRecord, ResultFile } from "../jobs/types.ts";
import type { Logger } from "../logger.ts";
import { groupForMessages } from "../speak/fit-attachments.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { createCardPoster } from "./cards.ts";
import { jobLink, resultMarker, statusButtons, statusEmbed } from "./job-status.ts";

/**
 * Narration jobs in Discord. Everything is posted with the bot token as channel messages, because
 * interaction tokens die after 15 minutes and a job may take longer.
 *
 * Posting a result exactly once: every result message carries a nonce derived from the job with
 * `enforce_nonce`, so Discord returns the earlier message instead of a duplicate when a crashed post
 * is repeated within minutes; and before posting, the channel's recent messages are searched for the
 * job's marker, which covers a repeat after a longer outage.
 */
export function createDiscordJobPublisher(client: Client, logger: Logger): JobPublisher {
  const status = createCardPoster<JobRecord>(client, {
    channelOf: (job) => job.channelId,
    messageOf: (job) => job.statusMessageId,
    embed: (job) => statusEmbed(job),
    buttons: statusButtons,
    cannotPost: () =>
      new UserFacingError("I cannot post in that channel. Check that I can view it and send messages there."),
    onEditError: (err, job) => logger.warn({ err, job: job.id }, "could not update a job's status message"),
  });

  /** Result messages of this job already in the channel, by part number. */
  async function alreadyPosted(channel: SendableChannels, job: JobRecord): Promise<Map<number, string>> {
    const found = new Map<number, string>();
    if (!("messages" in channel)) return found;
    const recent = await channel.messages.fetch({ limit: 100 }).catch(() => undefined);
    const marker = new RegExp(`^-# job ${job.id}(?: · part (\\d+)/\\d+)?$`, "m");
    for (const m of recent?.values() ?? []) {
      if (m.author.id !== client.user?.id) continue;
      const hit = marker.exec(m.content);
      if (hit) found.set(Number(hit[1] ?? 1), m.id);
    }
    return found;
  }

  return {
    postStatus: status.post,
    updateStatus: status.update,

    async postResult(job: JobRecord, files: ResultFile[], text: string) {
      const channel = await status.sendable(job.channelId);
      const groups = groupForMessages(files);
      const posted = await alreadyPosted(channel, job);
      const ids: string[] = [];
      const link = jobLink(job, job.statusMessageId);
      for (const [i, group] of groups.entries()) {
        const part = i + 1;
        const existing = posted.get(part);
        if (existing) {
          ids.push(existing);
          continue;
        }
        const lines = part === 1 ? [text, ...(link ? [`Status: ${link}`] : [])] : [];
        lines.push(resultMarker(job, part, groups.length));
        const msg = await channel.send({
          content: lines.join("\n"),
          files: group.map((f) => new AttachmentBuilder(f.data, { name: f.name })),
          nonce: `${job.id}-${part}`.slice(0, 25),
          enforceNonce: true,
          // The requester asked for this and is told it is ready; nobody else is pinged.
          allowedMentions: { parse: [], users: [job.requesterId] },
        });
        ids.push(msg.id);
      }
      return ids;
    },
  };
}
