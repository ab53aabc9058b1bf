import type { SpeechSettingsInput, TtsProvider } from "../tts/types.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { JobRunner } from "./runner.ts";
import type { JobLogger } from "./steps.ts";
import type { JobStore } from "./store.ts";
import { isFinal, type JobInput, type JobPublisher, type JobRecord, JobRecordSchema } from "./types.ts";

/**
 * What commands and buttons do with narration jobs: create, cancel, retry, look up. The runner does
 * the work; this decides who may do what and keeps the status message in step.
 */

export interface CreateJobRequest {
  requesterId: string;
  guildId: string | null;
  channelId: string;
  title?: string;
  input: JobInput;
  settings: SpeechSettingsInput;
  chars: number;
  uploadLimit?: number;
}

export interface JobActor {
  userId: string;
  /** May cancel or retry anyone's job (e.g. Manage Messages in the channel). */
  isModerator?: boolean;
}

export interface JobService {
  create(req: CreateJobRequest): Promise<JobRecord>;
  cancel(jobId: string, actor: JobActor): Promise<JobRecord>;
  retry(jobId: string, actor: JobActor): Promise<JobRecord>;
  get(jobId: string): Promise<JobRecord | undefined>;
  listForUser(userId: string, limit?: number): Promise<JobRecord[]>;
}

export interface JobServiceDeps {
  store: JobStore;
  publisher: JobPublisher;
  provider: TtsProvider;
  runner: Pick<JobRunner, "wake" | "abort">;
  logger: JobLogger;
  now?: () => number;
}

const RETRYABLE_STATES = new Set(["failed", "expired"]);

export function createJobService(deps: JobServiceDeps): JobService {
  const { store, publisher, runner, logger } = deps;
  const now = deps.now ?? Date.now;

  async function find(jobId: string): Promise<JobRecord> {
    const job = await store.get(jobId);
    if (!job) throw new UserFacingError(`There is no narration job \`${jobId}\`.`);
    return job;
  }

  function checkAllowed(job: JobRecord, actor: JobActor, verb: string): void {
    if (job.requesterId !== actor.userId && !actor.isModerator) {
      throw new UserFacingError(`Only the person who started this narration or a moderator can ${verb} it.`);
    }
  }

  async function showStatus(job: JobRecord): Promise<void> {
    await publisher.updateStatus(job).catch((err: unknown) => {
      logger.warn({ jobId: job.id, err }, "could not update a job's status message");
    });
  }

  return {
    async create(req) {
      if (
        !deps.provider.async &&
        req.input.kind === "file" &&
        !req.input.fileName.toLowerCase().endsWith(".txt")
      ) {
        throw new UserFacingError("Only .txt files can be narrated with the current speech service.");
      }
      const t = now();
      // Parsed here so a bad request fails the command, not the runner later.
      let job = JobRecordSchema.parse({
        id: store.newId(),
        state: "queued",
        title: req.title,
        requesterId: req.requesterId,
        guildId: req.guildId,
        channelId: req.channelId,
        input: req.input,
        settings: req.settings,
        chars: req.chars,
        provider: deps.provider.name,
        createdAt: t,
        updatedAt: t,
        attempts: 0,
        polls: 0,
        nextAt: t,
        uploadLimit: req.uploadLimit,
      });
      job = await store.put(job);
      try {
        const statusMessageId = await publisher.postStatus(job);
        job = (await store.update(job.id, (cur) => cur && { ...cur, statusMessageId })) ?? job;
      } catch (err) {
        // The narration still runs; its result is posted to the channel all the same.
        logger.warn({ jobId: job.id, err }, "could not post a job's status message");
      }
      runner.wake(job.id);
      return job;
    },

    async cancel(jobId, actor) {
      const job = await find(jobId);
      checkAllowed(job, actor, "cancel");
      if (isFinal(job.state)) throw new UserFacingError(`This narration has already ended (${job.state}).`);
      const cancelled = await store.update(jobId, (cur) =>
        cur && !isFinal(cur.state)
          ? { ...cur, state: "cancelled", finishedAt: now(), attempts: 0 }
          : undefined,
      );
      if (!cancelled) throw new UserFacingError("This narration ended before it could be cancelled.");
      // MiniMax has no cancel call: a submitted task runs on, but nothing more is fetched or posted.
      runner.abort(jobId);
      await showStatus(cancelled);
      return cancelled;
    },

    async retry(jobId, actor) {
      const job = await find(jobId);
      checkAllowed(job, actor, "retry");
      if (!RETRYABLE_STATES.has(job.state)) {
        throw new UserFacingError(
          `Only a failed or expired narration can be retried (this one is ${job.state}).`,
        );
      }
      const t = now();
      const retried = await store.update(jobId, (cur) =>
        cur && RETRYABLE_STATES.has(cur.state)
          ? {
              ...cur,
              state: "queued",
              // From the start: a new task is created (an uploaded file is reused).
              taskId: undefined,
              resultFileId: undefined,
              submittedAt: undefined,
              finishedAt: undefined,
              resultMessageIds: undefined,
              lastError: undefined,
              attempts: 0,
              polls: 0,
              nextAt: t,
            }
          : undefined,
      );
      if (!retried) throw new UserFacingError("This narration changed meanwhile; it cannot be retried now.");
      await showStatus(retried);
      runner.wake(jobId);
      return retried;
    },

    get: (jobId) => store.get(jobId),
    listForUser: (userId, limit = 10) => store.listByUser(userId, limit),
  };
}
