import type { Narration } from "../jobs/narrate.ts";
import type { JobService } from "../jobs/service.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import type { SharedPumpOptions } from "./pump-queue.ts";
import type { RequestStore } from "./store.ts";
import type { NarrationRequestRecord, RequestCards, RequestNotice } from "./types.ts";

/** What the parts of the request service (submit, moderation, start, pump, resume) share. */

export interface RequestServiceDeps {
  store: RequestStore;
  cards: RequestCards;
  narration: Pick<Narration, "start" | "checkStory">;
  guildSettings: Pick<GuildSettingsStore, "get">;
  /** To notice jobs that ended without the runner telling (cancelled from their status message). */
  jobs?: Pick<JobService, "get">;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
  /**
   * A fleet on Redis: pump runs go through one BullMQ queue (see pump-queue.ts), so a guild's fair
   * queue and `max_concurrent_jobs` hold across processes. Without it, runs are serialised in process.
   */
  fleet?: SharedPumpOptions;
  /**
   * At start-up, a request claimed less than this long ago and still without a job may be being started
   * by another process, and is left alone. Default 0 (one process: every such request was cut off).
   */
  resumeGraceMs?: number;
}

export interface RequestContext extends RequestServiceDeps {
  now: () => number;
  /** Shows the request's current state on its card (best effort; never throws). */
  showCard(request: NarrationRequestRecord): Promise<void>;
  /** Tells the requester (best effort; never throws). */
  tell(request: NarrationRequestRecord, notice: RequestNotice): Promise<void>;
}

/** Starts the next approved requests of the guild while it has free slots; one run per guild at a time. */
export type Pump = (guildId: string) => Promise<void>;

export function createRequestContext(deps: RequestServiceDeps): RequestContext {
  const { cards, logger } = deps;
  return {
    ...deps,
    now: deps.now ?? Date.now,
    async showCard(request) {
      await cards.update(request).catch((err: unknown) => {
        logger.warn({ requestId: request.id, err }, "could not update a request card");
      });
    },
    async tell(request, notice) {
      await cards.notify(request, notice).catch((err: unknown) => {
        logger.warn({ requestId: request.id, err }, "could not notify a requester");
      });
    },
  };
}
