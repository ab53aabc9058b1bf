import { isFinal, type JobRecord } from "../jobs/types.ts";
import type { GuildSettings } from "../settings/settings.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { RequestContext } from "./context.ts";
import { finishRequest } from "./finish.ts";
import type { NarrationRequestRecord } from "./types.ts";

/**
 * Starting one approved request as a narration job. The request is claimed (marked running) before
 * the job exists, and the job's id is fixed by the request's, so a crash in between is found at
 * start-up (`resumeAll`) and a second start finds the same job rather than making a new one.
 */

export async function startRequest(ctx: RequestContext, id: string, settings: GuildSettings): Promise<void> {
  const { store, logger, now } = ctx;
  const channelId = settings.channels.narration ?? settings.channels.requests;
  // Marked running before the job exists: a crash in between is found by resumeAll (no jobId).
  const claimed = await store.update(id, (cur) =>
    cur?.state === "approved"
      ? {
          ...cur,
          state: "running",
          startedAt: now(),
          narrationChannelId: channelId ?? cur.cardChannelId,
        }
      : undefined,
  );
  if (!claimed) return;
  let job: JobRecord;
  try {
    if (!claimed.narrationChannelId) throw new UserFacingError("No channel is set for narrations.");
    const input = claimed.input;
    if (input.kind === "dropped") throw new UserFacingError("The request's text is no longer kept.");
    job = await ctx.narration.start({
      kind: "request",
      // Started deterministically: a crash and a second start find the same job, not a new one.
      jobId: requestJobId(claimed.id),
      actor: { userId: claimed.requesterId, guildId: claimed.guildId, roleIds: [], isManager: false },
      channelId: claimed.narrationChannelId,
      title: creditTitle(claimed),
      ...(input.kind === "text"
        ? { text: input.text }
        : { file: { bytes: Buffer.from(input.contentBase64, "base64"), name: input.fileName } }),
      options: claimed.options,
      uploadLimit: claimed.uploadLimit,
    });
  } catch (err) {
    const message = err instanceof UserFacingError ? err.message : "The narration could not be started.";
    if (!(err instanceof UserFacingError)) logger.warn({ requestId: id, err }, "could not start a request");
    const failed = await store.update(id, (cur) =>
      cur?.state === "running" && !cur.jobId
        ? { ...cur, state: "failed", error: message.slice(0, 1000), finishedAt: now() }
        : undefined,
    );
    if (failed) {
      await ctx.showCard(failed);
      await ctx.tell(failed, "failed");
    }
    return;
  }
  const started = await store.update(id, (cur) => (cur ? { ...cur, jobId: job.id } : undefined));
  if (started) {
    await ctx.showCard(started);
    // A job that ended while its id was being stored.
    if (isFinal(job.state)) await finishRequest(ctx, started, job);
  }
}

/** A request's narration job id: fixed, so that starting it twice (after a crash) starts one job. */
export function requestJobId(requestId: string): string {
  return `rq${requestId}`;
}

/** The narration's title: the request's, crediting requester and approver by name. */
export function creditTitle(request: NarrationRequestRecord): string {
  const by = request.requesterName ? `requested by ${request.requesterName}` : "a community request";
  const approved = request.approverId ? `, approved by ${request.approverName ?? "a moderator"}` : "";
  return `${request.title} (${by}${approved})`;
}
