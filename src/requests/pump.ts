import { isFinal } from "../jobs/types.ts";
import { createKeyedSerialQueue } from "../storage/record-kit.ts";
import type { Pump, RequestContext } from "./context.ts";
import { pickNext, type QueueCandidate } from "./fair-queue.ts";
import { finishRequest } from "./finish.ts";
import { startRequest } from "./start.ts";

/**
 * The guild's queue: approved requests start as narration jobs in the fair order of `pickNext`,
 * within the guild's `limits.maxConcurrentJobs` (counting the guild's running requests; other
 * narrations of the guild are not counted). One run per guild at a time; a run never throws.
 */
export function createPump(ctx: RequestContext): Pump {
  const serially = createKeyedSerialQueue();
  return (guildId) =>
    serially(guildId, () =>
      pumpNow(ctx, guildId).catch((err: unknown) =>
        ctx.logger.warn({ guildId, err }, "could not start narration requests"),
      ),
    );
}

/** Starts as many approved requests of the guild as it has free slots, fairly (one run, either mode). */
export async function pumpNow(ctx: RequestContext, guildId: string): Promise<void> {
  const { store } = ctx;
  const settings = await ctx.guildSettings.get(guildId);
  let open = await store.listOpen(guildId);
  if (ctx.jobs) {
    // Jobs cancelled from their own status message end without the runner's onChange.
    for (const r of open) {
      if (r.state !== "running" || !r.jobId) continue;
      const job = await ctx.jobs.get(r.jobId);
      if (job && isFinal(job.state)) await finishRequest(ctx, r, job);
    }
    open = await store.listOpen(guildId);
  }
  const running = open.filter((r) => r.state === "running");
  const slots = settings.limits.maxConcurrentJobs - running.length;
  if (slots <= 0) return;
  const waiting: QueueCandidate[] = open
    .filter((r) => r.state === "approved")
    .map((r) => ({
      id: r.id,
      requesterId: r.requesterId,
      upvotes: r.upvoters.length,
      createdAt: r.createdAt,
    }));
  if (waiting.length === 0) return;
  const runningBy = new Map<string, number>();
  for (const r of running) runningBy.set(r.requesterId, (runningBy.get(r.requesterId) ?? 0) + 1);
  const lastStartedAt = new Map<string, number>();
  for (const r of await store.list(guildId, 100)) {
    if (r.startedAt !== undefined && r.startedAt > (lastStartedAt.get(r.requesterId) ?? -1)) {
      lastStartedAt.set(r.requesterId, r.startedAt);
    }
  }
  for (const next of pickNext({ waiting, running: runningBy, lastStartedAt, slots })) {
    await startRequest(ctx, next.id, settings);
  }
}
