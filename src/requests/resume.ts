import { isFinal } from "../jobs/types.ts";
import type { Pump, RequestContext } from "./context.ts";
import { finishRequest } from "./finish.ts";
import { requestJobId } from "./start.ts";

/**
 * At start-up: a request interrupted between "running" and storing its job's id adopts the job if it
 * exists (its id is the request's), or else goes back to the queue; then every guild is pumped.
 */
export async function resumeAll(ctx: RequestContext, pump: Pump): Promise<void> {
  const { store } = ctx;
  for (const guildId of await store.guildsWithOpen()) {
    try {
      for (const r of await store.listOpen(guildId)) {
        if (r.state !== "running" || r.jobId) continue;
        const job = await ctx.jobs?.get(requestJobId(r.id));
        // Claimed a moment ago: another process of the fleet may be starting it right now.
        if (!job && ctx.now() - (r.startedAt ?? 0) < (ctx.resumeGraceMs ?? 0)) continue;
        const resumed = await store.update(r.id, (cur) =>
          cur?.state === "running" && !cur.jobId
            ? job
              ? { ...cur, jobId: job.id }
              : { ...cur, state: "approved", startedAt: undefined }
            : undefined,
        );
        if (resumed && job && isFinal(job.state)) await finishRequest(ctx, resumed, job);
      }
      await pump(guildId);
    } catch (err) {
      ctx.logger.warn({ guildId, err }, "could not resume narration requests");
    }
  }
}
