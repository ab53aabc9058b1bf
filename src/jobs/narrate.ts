import type { Actor, RequestPlanner } from "../speak/planner.ts";
import type { SpeakOptions } from "../speak/speak-options.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { JobActor, JobService } from "./service.ts";
import type { JobRecord } from "./types.ts";

/**
 * Starting a narration, whatever the way in (`/narrate` text, file or modal, a long `/speak`, an
 * approved `/request`), and starting a failed one again: the request planner decides and reserves
 * the characters, then a queued job holds the reservation until it ends.
 */

export const NARRATE_FORMATS = ["mp3", "flac"] as const;

export interface NarrationRequest {
  actor: Actor;
  /** How the narration was asked for (access rules differ a little, see the planner). */
  kind?: "narrate" | "long-speak" | "request";
  /** A deterministic job id (a request's): starting it twice returns the first job. */
  jobId?: string;
  channelId: string;
  title?: string;
  text?: string;
  file?: { bytes: Buffer; name: string };
  options: Omit<SpeakOptions, "text">;
  uploadLimit?: number;
}

export interface NarrationDeps {
  jobs: JobService;
  planner: Pick<RequestPlanner, "narration" | "retry">;
}

export interface Narration {
  start(req: NarrationRequest): Promise<JobRecord>;
  /** Retry of a failed or expired job: the requester or a moderator of its server, with a new reservation. */
  retry(jobId: string, actor: Actor & JobActor): Promise<JobRecord>;
}

const RETRYABLE = new Set(["failed", "expired"]);

export function createNarration(deps: NarrationDeps): Narration {
  const { jobs, planner } = deps;
  return {
    async start(req) {
      const format = req.options.format ?? "mp3";
      if (!(NARRATE_FORMATS as readonly string[]).includes(format)) {
        throw new UserFacingError("Long narrations come as mp3 or flac. Please pick one of those formats.");
      }
      if (req.jobId !== undefined) {
        const existing = await jobs.get(req.jobId);
        if (existing) return existing;
      }
      const jobId = req.jobId ?? jobs.newId();
      return planner.narration(
        {
          kind: req.kind ?? "narrate",
          actor: req.actor,
          options: req.options,
          source: { text: req.text, file: req.file },
          jobId,
        },
        (planned) =>
          jobs.create({
            id: jobId,
            reservation: planned.reservation,
            requesterId: req.actor.userId,
            guildId: planned.reservation.guildId,
            channelId: req.channelId,
            title: req.title?.trim() || undefined,
            input: planned.input,
            settings: planned.settings,
            chars: planned.chars,
            uploadLimit: req.uploadLimit,
          }),
      );
    },

    async retry(jobId, actor) {
      const job = await jobs.show(jobId, actor);
      if (!RETRYABLE.has(job.state)) {
        throw new UserFacingError(
          `Only a failed or expired narration can be retried (this one is ${job.state}).`,
        );
      }
      const reservation = await planner.retry({ actor, job, attempt: job.retries + 1 });
      return jobs.retry(jobId, actor, reservation);
    },
  };
}
