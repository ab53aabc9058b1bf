import type { Narration } from "../jobs/narrate.ts";
import type { JobService } from "../jobs/service.ts";
import type { GuildSettingsStore } from "../settings/settings.ts";
import type { RequestStore } from "./store.ts";
import type { NarrationRequestRecord, RequestCards, RequestNotice } from "./types.ts";

/** What the parts of the request service (submit, moderation, start, pump, resume) share. */

export interface RequestServiceDeps {
  store: RequestStore;
  cards: RequestCards;
  narration: Pick<Narration, "start">;
  guildSettings: Pick<GuildSettingsStore, "get">;
  /** To notice jobs that ended without the runner telling (cancelled from their status message). */
  jobs?: Pick<JobService, "get">;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
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
