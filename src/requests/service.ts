import type { JobRecord } from "../jobs/types.ts";
import { createRequestContext, type RequestServiceDeps } from "./context.ts";
import { followJob } from "./finish.ts";
import { approve, cancel, findInServer, type RequestActor, reject, upvote } from "./moderation.ts";
import { createPump, pumpNow } from "./pump.ts";
import { createSharedPump } from "./pump-queue.ts";
import { resumeAll } from "./resume.ts";
import { type SubmitRequest, submitRequest } from "./submit.ts";
import type { NarrationRequestRecord } from "./types.ts";

/**
 * What `/request` and the card's buttons do. Decides who may do what (the caller says whether the
 * actor is a moderator), keeps the card in step with every change, and starts approved requests as
 * narration jobs in the fair order of `pickNext`, within the guild's `limits.maxConcurrentJobs`
 * (counting the guild's running requests; other narrations of the guild are not counted).
 *
 * Rules: upvotes are once per member, and not by the requester; approve and reject are for
 * moderators (the caller decides: Manage Server or the guild's moderator role); a pending or
 * approved request may be rejected; only the requester may cancel, while it is pending or approved.
 * A member may have at most `MAX_OPEN_PER_REQUESTER` requests open.
 *
 * The parts: submit.ts (a new request), moderation.ts (upvote, approve, reject, cancel), pump.ts
 * (the guild's fair queue), start.ts (one request becomes a job), finish.ts (a job's end becomes the
 * request's), resume.ts (start-up); context.ts holds what they share.
 */

export type { RequestServiceDeps } from "./context.ts";
export { MAX_REASON_LENGTH, type RequestActor } from "./moderation.ts";
export { creditTitle, requestJobId } from "./start.ts";
export { MAX_OPEN_PER_REQUESTER, MAX_TITLE_LENGTH, type SubmitRequest } from "./submit.ts";

export interface RequestService {
  submit(req: SubmitRequest): Promise<NarrationRequestRecord>;
  upvote(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  approve(requestId: string, actor: RequestActor, reason?: string): Promise<NarrationRequestRecord>;
  reject(requestId: string, actor: RequestActor, reason?: string): Promise<NarrationRequestRecord>;
  cancel(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  get(requestId: string): Promise<NarrationRequestRecord | undefined>;
  /** The request, if it belongs to the actor's server (the card buttons check this first). */
  find(requestId: string, actor: RequestActor): Promise<NarrationRequestRecord>;
  /** Open and recent requests of the guild, newest first. */
  list(guildId: string, limit?: number): Promise<NarrationRequestRecord[]>;
  /** Starts the next approved requests of the guild while it has free slots. Never throws. */
  pump(guildId: string): Promise<void>;
  /** The runner's `onChange`: a job's end is mapped onto its request. Never throws. */
  onJobChange(job: JobRecord): Promise<void>;
  /** At start-up: requests interrupted while starting go back to the queue, then every guild is pumped. */
  resumeAll(): Promise<void>;
  /** Stops taking pump runs (a fleet's shared pump); nothing to do in one process. */
  stop(): Promise<void>;
}

export function createRequestService(deps: RequestServiceDeps): RequestService {
  const ctx = createRequestContext(deps);
  const shared = deps.fleet && createSharedPump(ctx, (guildId) => pumpNow(ctx, guildId), deps.fleet);
  const pump = shared?.pump ?? createPump(ctx);
  return {
    submit: (req) => submitRequest(ctx, pump, req),
    upvote: (requestId, actor) => upvote(ctx, requestId, actor),
    approve: (requestId, actor, reason) => approve(ctx, pump, requestId, actor, reason),
    reject: (requestId, actor, reason) => reject(ctx, requestId, actor, reason),
    cancel: (requestId, actor) => cancel(ctx, requestId, actor),
    get: (requestId) => ctx.store.get(requestId),
    find: (requestId, actor) => findInServer(ctx, requestId, actor),
    list: (guildId, limit) => ctx.store.list(guildId, limit),
    pump,
    onJobChange: (job) => followJob(ctx, pump, job),
    resumeAll: () => {
      // Runs post cards and status messages: taken only once the client is ready (this is called then).
      shared?.start();
      return resumeAll(ctx, pump);
    },
    stop: async () => shared?.close(),
  };
}
