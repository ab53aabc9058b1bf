import type { SpeechSettingsInput, TtsProvider } from "../speech/types.ts";
import type { JobInput } from "../text/narration-input.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { billFinal, type JobLedger } from "./billing.ts";
import type { JobRunner } from "./runner.ts";
import type { JobLogger } from "./steps.ts";
import type { JobStore } from "./store.ts";
import { isFinal, type JobPublisher, type JobRecord, JobRecordSchema } from "./types.ts";

/**
 * What commands and buttons do with narration jobs: create, cancel, retry, look up. The runner does
 * the work; this decides who may do what and keeps the status message in step.
 */

/** Characters held for the job by the request planner (`src/speak/planner.ts`). */
export interface JobReservation {
  readonly holdId: string;
  release(): Promise<void>;
}

export interface CreateJobRequest {
  /** A deterministic id (a request's job): creating it twice returns the first. */
  id?: string;
  reservation: JobReservation;
  requesterId: string;
  guildId: string | null;
  channelId: string;
  title?: string;
  input: JobInput;
  settings: SpeechSettingsInput;
  chars: number;
  uploadLimit?: number;
  /** A multi-voice story's runs (the script itself is the input). */
  story?: { runs: { speaker: string; voiceId: string; chars: number }[] };
}

export interface JobActor {
  userId: string;
  /** The server the action happens in (null in DMs). */
  guildId: string | null;
  /** Manage Messages in *that* server: counts only for jobs of that server. */
  isModerator?: boolean;
}

export interface JobService {
  create(req: CreateJobRequest): Promise<JobRecord>;
  cancel(jobId: string, actor: JobActor): Promise<JobRecord>;
  /** Starts a failed or expired job again with a new reservation (see `Narration.retry`). */
  retry(jobId: string, actor: JobActor, reservation: JobReservation): Promise<JobRecord>;
  /** A job the actor may see (its requester, or a moderator of its server). */
  show(jobId: string, actor: JobActor): Promise<JobRecord>;
  get(jobId: string): Promise<JobRecord | undefined>;
  newId(): string;
  listForUser(userId: string, limit?: number): Promise<JobRecord[]>;
}

export interface JobServiceDeps {
  store: JobStore;
  publisher: JobPublisher;
  provider: TtsProvider;
  runner: Pick<JobRunner, "wake" | "abort">;
  ledger: JobLedger;
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

  /**
   * The requester, or a moderator *of the job's server* acting from that server: a moderator's
   * permission where the command runs says nothing about another server's jobs.
   */
  function checkAllowed(job: JobRecord, actor: JobActor, verb: string): void {
    if (job.requesterId === actor.userId) return;
    const sameServer = actor.guildId !== null && actor.guildId === job.guildId;
    if (!sameServer) throw new UserFacingError(`There is no narration job \`${job.id}\` here.`);
    if (!actor.isModerator) {
      throw new UserFacingError(`Only the person who started this narration or a moderator can ${verb} it.`);
    }
  }

  /**
   * Two Retry clicks at once reserve the same hold (hold ids are per attempt): the one that lost must
   * not release the hold the winner stored.
   */
  async function releaseUnlessOwned(jobId: string, reservation: JobReservation): Promise<void> {
    const current = await store.get(jobId);
    if (current?.holdId !== reservation.holdId) await reservation.release();
  }

  async function showStatus(job: JobRecord): Promise<void> {
    await publisher.updateStatus(job).catch((err: unknown) => {
      logger.warn({ jobId: job.id, err }, "could not update a job's status message");
    });
  }

  function newJob(req: CreateJobRequest): JobRecord {
    if (
      !deps.provider.async &&
      req.input.kind === "file" &&
      !req.input.fileName.toLowerCase().endsWith(".txt")
    ) {
      throw new UserFacingError("Only .txt files can be narrated with the current speech service.");
    }
    const t = now();
    // Parsed here so a bad request fails the command, not the runner later.
    return JobRecordSchema.parse({
      id: req.id ?? store.newId(),
      holdId: req.reservation.holdId,
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
      story: req.story,
    });
  }

  return {
    async create(req) {
      let job: JobRecord;
      try {
        if (req.id !== undefined) {
          const existing = await store.get(req.id);
          // Created already (a request started twice): that job keeps the hold.
          if (existing) return existing;
          // Stored only if still absent: of two processes starting it at once, one creates it.
          const fresh = newJob(req);
          const created = await store.update(req.id, (cur) => (cur ? undefined : fresh));
          if (!created) {
            const winner = await store.get(req.id);
            if (winner) return winner;
          }
          job = created ?? (await store.put(fresh));
        } else {
          job = await store.put(newJob(req));
        }
      } catch (err) {
        // No job, no charge: the reservation goes back.
        await req.reservation.release();
        throw err;
      }
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
      // Billed before the state is stored: a task MiniMax accepted is paid for even if cancelled.
      await billFinal({ ...job, state: "cancelled" }, deps.ledger);
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

    async retry(jobId, actor, reservation) {
      let job: JobRecord;
      try {
        job = await find(jobId);
        checkAllowed(job, actor, "retry");
      } catch (err) {
        await releaseUnlessOwned(jobId, reservation);
        throw err;
      }
      if (!RETRYABLE_STATES.has(job.state)) {
        await releaseUnlessOwned(jobId, reservation);
        throw new UserFacingError(
          `Only a failed or expired narration can be retried (this one is ${job.state}).`,
        );
      }
      const t = now();
      const retried = await store.update(jobId, (cur) =>
        cur && RETRYABLE_STATES.has(cur.state) && cur.retries === job.retries
          ? {
              ...cur,
              state: "queued",
              holdId: reservation.holdId,
              retries: cur.retries + 1,
              submitKey: undefined,
              // From the start: a new task is created (an uploaded file is reused).
              taskId: undefined,
              // A story's runs too, each sent again.
              ...(cur.story
                ? {
                    story: {
                      runs: cur.story.runs.map((r) => ({
                        speaker: r.speaker,
                        voiceId: r.voiceId,
                        chars: r.chars,
                      })),
                    },
                    usageCharacters: undefined,
                  }
                : {}),
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
      if (!retried) {
        await releaseUnlessOwned(jobId, reservation);
        throw new UserFacingError("This narration changed meanwhile; it cannot be retried now.");
      }
      await showStatus(retried);
      runner.wake(jobId);
      return retried;
    },

    async show(jobId, actor) {
      const job = await store.get(jobId);
      const visible =
        job &&
        (job.requesterId === actor.userId ||
          (actor.isModerator === true && actor.guildId !== null && actor.guildId === job.guildId));
      if (!visible) throw new UserFacingError(`There is no job \`${jobId}\` of yours here.`);
      return job;
    },
    get: (jobId) => store.get(jobId),
    newId: () => store.newId(),
    listForUser: (userId, limit = 10) => store.listByUser(userId, limit),
  };
}
