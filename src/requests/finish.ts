import { isFinal, type JobRecord } from "../jobs/types.ts";
import type { Pump, RequestContext } from "./context.ts";
import type { NarrationRequestRecord } from "./types.ts";

/** A narration job's end, mapped onto the request it runs: done, cancelled or failed, with its result. */

/** Maps a final job onto its running request; true when the request changed. */
export async function finishRequest(
  ctx: RequestContext,
  request: NarrationRequestRecord,
  job: JobRecord,
): Promise<boolean> {
  const state = job.state === "done" ? "done" : job.state === "cancelled" ? "cancelled" : "failed";
  const ended = await ctx.store.update(request.id, (cur) =>
    cur?.state === "running" && cur.jobId === job.id
      ? {
          ...cur,
          state,
          finishedAt: job.finishedAt ?? ctx.now(),
          resultMessageId: job.resultMessageIds?.[0],
          narrationChannelId: job.channelId,
          error:
            state === "failed"
              ? (job.lastError?.message ?? `The narration ${job.state}.`).slice(0, 1000)
              : undefined,
        }
      : undefined,
  );
  if (!ended) return false;
  await ctx.showCard(ended);
  if (state !== "cancelled") await ctx.tell(ended, state);
  return true;
}

/** The runner's `onChange`: a request's job ended, so the request follows and the next ones start. Never throws. */
export async function followJob(ctx: RequestContext, pump: Pump, job: JobRecord): Promise<void> {
  try {
    if (!isFinal(job.state)) return;
    const request = await ctx.store.byJobId(job.id);
    if (!request) return;
    await finishRequest(ctx, request, job);
    await pump(request.guildId);
  } catch (err) {
    ctx.logger.warn({ jobId: job.id, err }, "could not update a request from its job");
  }
}
