import { hostname } from "node:os";
import { DelayedError, type Job, PRIORITY_LIMIT, Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { settlesWithin } from "../storage/fleet-redis.ts";
import type { JobLedger } from "./billing.ts";
import { createPollPlan } from "./poll-plan.ts";
import type { JobRunner, JobRunnerOptions, JobRunnerStats } from "./runner.ts";
import { createStepWiring, runnerTiming } from "./step-wiring.ts";
import { type JobLogger, runStep, type StepDeps } from "./steps.ts";
import type { JobStore } from "./store.ts";
import { isFinal, type JobPublisher, type JobRecord, type JobState } from "./types.ts";

/**
 * The distributed form of the job runner, for a fleet on one Redis: BullMQ schedules, the steps are
 * the same (`runStep` in steps.ts), and the job record in the job store stays the one truth about a
 * narration. Two queues, each holding at most one BullMQ job per narration (its BullMQ id is made from
 * the narration's, so adding it twice adds it once):
 *
 * - `narration-work`: submits, downloads and posting. A worker runs the job's steps one after another
 *   until it waits for its task (it moves to the poll queue), waits for a retry (moved to delayed),
 *   or ends.
 * - `narration-poll`: one status query per activation, then back to delayed until the poll plan's
 *   next time. The queue's limiter (global across every worker of the fleet) spaces activations so
 *   that no window of 1.2 s holds more than ASYNC_POLL_QPS queries. When more are due than that, the
 *   jobs most likely done go first, as in the embedded runner: each poll job carries the poll plan's
 *   readiness as its BullMQ priority (see `pollPriority`).
 *
 * A process that dies mid-step loses its BullMQ lock; another worker's stalled-job check puts the
 * job back in line and runs it from its stored state (a paid call half made is never repeated: see
 * `submitKey`; a result half posted is found by the publisher's nonce and marker).
 */

export interface BullJobRunnerOptions extends JobRunnerOptions {
  /** BullMQ's key prefix (tests use one per run). Default "bull". */
  prefix?: string;
  /**
   * How long a worker's lock on a job lasts without renewal (renewed every half of it): a dead
   * process's job is taken over after this plus up to `stalledIntervalMs`. Default 15 s.
   */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs. Default 5 s. */
  stalledIntervalMs?: number;
  /** Stalls (a worker died holding it) after which a job is given up on by BullMQ. Default 10. */
  maxStalledCount?: number;
  /** How often every active record is checked to be in a queue (a crash between store and queue). Default 60 s. */
  /** Stored on each BullMQ job while this process runs it (`processedBy`). Default `host:pid`. */
  workerName?: string;
  sweepMs?: number;
}

export interface BullJobRunnerDeps {
  /** A connection for the queues; the workers use duplicates of it (blocking commands). */
  connection: Redis;
  store: JobStore;
  publisher: JobPublisher;
  provider: StepDeps["provider"];
  ledger: JobLedger;
  logger: JobLogger;
  speedStore?: Parameters<typeof createPollPlan>[0]["store"];
  options?: BullJobRunnerOptions;
}

export const WORK_QUEUE = "narration-work";
export const POLL_QUEUE = "narration-poll";

/**
 * The query budget's window: a little over a second, as the fleet's shared query limiter has it (see
 * FLEET_SECOND_MS in src/providers/http/shared-rate-limiter.ts), so activations spaced by it seldom
 * wait there.
 */
const QUERY_WINDOW_MS = 1200;

/** Steps one work activation runs at most before it yields its slot (a job that keeps moving). */
const MAX_STEPS_PER_RUN = 16;

const isQuery = (state: JobState) => state === "submitted" || state === "processing";

interface StepJobData {
  id: string;
}

/** The BullMQ id of a narration's job (BullMQ refuses ids that are integers or hold ":"). */
export function bullJobId(jobId: string): string {
  return `job-${jobId.replaceAll(":", "_")}`;
}

/** Spacing of poll activations: `qps` per QUERY_WINDOW_MS at most, in every window. */
export function pollSpacingMs(qps: number): number {
  return Math.ceil(QUERY_WINDOW_MS / Math.max(1, Math.floor(qps)));
}

/** BullMQ serves jobs without a priority (0) before every prioritised one (1 and up): every poll has one. */
const PRIORITY_RANGE = [1, PRIORITY_LIMIT] as const;
/** Priority steps per doubling of readiness: readiness from 2^-32 to 2^32 fits in the range. */
const STEPS_PER_DOUBLING = Math.floor((PRIORITY_LIMIT - 1) / 64);

/**
 * A poll job's BullMQ priority from the poll plan's readiness (`PollPlan.readiness`, larger = more
 * likely done); BullMQ serves the lowest number first, ties first come, first served.
 *
 * The scale of readiness depends on what the plan knows: a share of the expected time (around 1) with a
 * learned speed, milliseconds per character without one, milliseconds since the submit under the
 * "backoff" policy. A logarithm maps all of them into BullMQ's 2^21 integers without a scale to tune
 * and without ties between scores that differ by more than about 0.002 %: readiness 1 is the middle of
 * the range, each doubling 32767 steps nearer the front; past 2^±32 it is clamped to the ends. A score
 * that is not a positive number (a clock step) goes to the back.
 */
export function pollPriority(readiness: number): number {
  if (!(readiness > 0)) return PRIORITY_RANGE[1];
  const middle = Math.floor((PRIORITY_RANGE[0] + PRIORITY_RANGE[1]) / 2);
  const p = Math.round(middle - Math.log2(readiness) * STEPS_PER_DOUBLING);
  return Math.min(PRIORITY_RANGE[1], Math.max(PRIORITY_RANGE[0], p));
}

export interface BullJobRunner extends JobRunner {
  /**
   * Stops at once, as a killed process would: the workers close without waiting for their jobs and
   * without handing them back, so their locks expire and another worker takes them over as stalled.
   * For tests and benchmarks of that takeover; `stop()` is the graceful way.
   */
  halt(): Promise<void>;
}

export function createBullJobRunner(deps: BullJobRunnerDeps): BullJobRunner {
  const { store, logger, connection } = deps;
  const opts = deps.options ?? {};
  const prefix = opts.prefix ?? "bull";
  const timing = runnerTiming(opts);
  const plan = createPollPlan({ timing, options: opts.pollPlan, store: deps.speedStore, logger });
  const qps = Math.max(1, Math.floor(opts.queryQps ?? 10));
  const inFlight = new Map<string, AbortController>();
  let stopping = false;
  let sweepTimer: NodeJS.Timeout | undefined;

  const wiring = createStepWiring({
    store,
    ledger: deps.ledger,
    provider: deps.provider,
    publisher: deps.publisher,
    logger,
    now: Date.now,
    random: Math.random,
    timing,
    plan,
    options: opts,
  });
  const { deps: stepDeps, run: stepRun, counters } = wiring;

  const queueOpts = { connection, prefix };
  const work = new Queue<StepJobData>(WORK_QUEUE, queueOpts);
  const poll = new Queue<StepJobData>(POLL_QUEUE, queueOpts);
  for (const q of [work, poll]) {
    q.on("error", (err) => logger.warn({ err, queue: q.name }, "job queue error"));
  }

  /**
   * A poll job's rank once it is due: the readiness when it comes due (not when it is scheduled). The
   * rank then stays fixed while it waits for the budget (BullMQ's priority is set, not computed), where
   * the embedded runner ranks again at every pass; the sweep ranks again the polls still waiting.
   */
  function priorityOf(record: JobRecord): number {
    return pollPriority(plan.readiness(record, Math.max(record.nextAt, Date.now())));
  }

  async function enqueue(record: JobRecord): Promise<void> {
    const query = isQuery(record.state);
    await (query ? poll : work).add(
      "step",
      { id: record.id },
      {
        jobId: bullJobId(record.id),
        delay: Math.max(0, record.nextAt - Date.now()),
        ...(query && { priority: priorityOf(record) }),
        removeOnComplete: true,
        removeOnFail: true,
        // Only a failing store gets here (steps catch everything else): retried, then left to the sweep.
        attempts: timing.maxAttempts,
        backoff: { type: "exponential", delay: timing.retryBaseMs },
      },
    );
  }

  /** One step under a local abort controller (cancel, stop) joined with BullMQ's own signal. */
  async function step(id: string, signal: AbortSignal | undefined): Promise<JobRecord | undefined> {
    const controller = new AbortController();
    inFlight.set(id, controller);
    try {
      const joined = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
      const record = await runStep(id, stepRun, joined);
      // The notes of a paid call are kept only while the job is still before or at its submit (a
      // store failure after the call keeps them, so the retry here uses the answer in hand).
      if (record?.state !== "queued") {
        stepDeps.paid.delete(id);
        stepDeps.submitting.delete(id);
      }
      return record;
    } finally {
      inFlight.delete(id);
    }
  }

  /** Back to delayed until `at` (the same BullMQ job keeps its place in this queue). */
  async function delayUntil(job: Job<StepJobData>, token: string | undefined, at: number): Promise<never> {
    await job.moveToDelayed(Math.max(at, Date.now() + 1), token);
    throw new DelayedError();
  }

  async function processWork(job: Job<StepJobData>, token?: string, signal?: AbortSignal): Promise<void> {
    const { id } = job.data;
    for (let i = 0; i < MAX_STEPS_PER_RUN; i++) {
      // Stopping: handed back to the queue rather than completed (a completed job would be gone),
      // unless its paid call is half made here: only this process may finish it (see `submitKey`).
      if (stopping && !stepDeps.submitting.has(id)) await delayUntil(job, token, Date.now() + 1000);
      const record = await step(id, signal);
      if (!record || isFinal(record.state)) return forget(id);
      if (isQuery(record.state)) return enqueue(record);
      if (record.nextAt > Date.now()) await delayUntil(job, token, record.nextAt);
    }
    await delayUntil(job, token, Date.now());
  }

  async function processPoll(job: Job<StepJobData>, token?: string, signal?: AbortSignal): Promise<void> {
    const { id } = job.data;
    let record = await store.get(id);
    if (!record || isFinal(record.state)) return forget(id);
    if (!isQuery(record.state)) return enqueue(record);
    if (stopping) await delayUntil(job, token, Date.now() + 1000);
    // One query per activation: the queue's limiter counts activations.
    if (record.nextAt <= Date.now()) record = await step(id, signal);
    if (!record || isFinal(record.state)) return forget(id);
    if (isQuery(record.state)) {
      // The rank for its next turn (the job is active, so BullMQ only stores it for the promotion).
      await job.changePriority({ priority: priorityOf(record) });
      await delayUntil(job, token, record.nextAt);
    }
    return enqueue(record);
  }

  function forget(id: string): void {
    stepDeps.submitting.delete(id);
    stepDeps.pending.delete(id);
  }

  const workerOpts = {
    connection,
    prefix,
    name: opts.workerName ?? `${hostname()}:${process.pid}`,
    autorun: false,
    lockDuration: opts.lockDurationMs ?? 15_000,
    stalledInterval: opts.stalledIntervalMs ?? 5_000,
    maxStalledCount: opts.maxStalledCount ?? 10,
  };
  const workers = [
    new Worker<StepJobData>(WORK_QUEUE, processWork, {
      ...workerOpts,
      concurrency: opts.concurrency ?? 8,
    }),
    new Worker<StepJobData>(POLL_QUEUE, processPoll, {
      ...workerOpts,
      concurrency: qps,
      // Global across the fleet: one activation per spacing, so any 1.2 s holds at most `qps`.
      limiter: { max: 1, duration: pollSpacingMs(qps) },
    }),
  ];
  for (const w of workers) {
    w.on("error", (err) => logger.warn({ err, queue: w.name }, "job worker error"));
    w.on("failed", (job, err) =>
      logger.error({ jobId: job?.data.id, err, queue: w.name }, "a job's step could not be stored"),
    );
  }

  /**
   * Every active record into its queue (already there: nothing happens), and the polls waiting for
   * the query budget ranked again at the current time, so a poll that has waited long is not kept
   * behind newer ones for ever.
   */
  async function sweep(): Promise<number> {
    const active = await store.listActive();
    for (const record of active) await enqueue(record);
    const byBullId = new Map(active.map((r) => [bullJobId(r.id), r]));
    for (const waiting of await poll.getJobs(["prioritized"])) {
      const record = waiting.id === undefined ? undefined : byBullId.get(waiting.id);
      if (!record || !isQuery(record.state)) continue;
      const priority = priorityOf(record);
      // Taken by a worker meanwhile: only the stored field changes, which that worker sets again
      // before its next turn (unless it already did: then that one turn is ranked as of now).
      if (priority !== waiting.priority) await waiting.changePriority({ priority });
    }
    return active.length;
  }

  function scheduleSweep(): void {
    sweepTimer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => logger.warn({ err }, "could not check the narration queues"))
        .finally(() => {
          if (!stopping) scheduleSweep();
        });
    }, opts.sweepMs ?? 60_000);
    sweepTimer.unref();
  }

  return {
    async start() {
      stopping = false;
      await plan.load();
      const jobs = await sweep();
      for (const w of workers) void w.run();
      scheduleSweep();
      logger.info({ jobs, queryQps: qps }, "job workers started (BullMQ)");
    },
    wake(jobId) {
      const woken = jobId === undefined ? sweep() : store.get(jobId).then((r) => r && enqueue(r));
      woken.catch((err: unknown) => logger.warn({ err, jobId }, "could not queue a narration job"));
    },
    abort(jobId) {
      inFlight.get(jobId)?.abort(new Error("job cancelled"));
    },
    async stop() {
      stopping = true;
      clearTimeout(sweepTimer);
      const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
      // Idle, nothing is waited for: a graceful close would only wait out the workers' blocking
      // polls for the next job (or a Redis reconnection).
      const idle = inFlight.size === 0;
      const closing = Promise.all(workers.map((w) => w.close(idle)));
      if (!(await settlesWithin(closing, idle ? 2_000 : stopTimeoutMs))) {
        logger.warn({ jobs: [...inFlight.keys()] }, "aborting job steps still running at stop");
        for (const c of inFlight.values()) c.abort(new Error("job runner stopping"));
        // Aborted steps end at once; a worker still waiting is caught in a Redis reconnection, and
        // is closed by force (its jobs are taken over as stalled, from their stored state).
        if (!(await settlesWithin(closing, 1_000))) {
          await Promise.all(workers.map((w) => settlesWithin(w.close(true), 2_000)));
        }
      }
      await settlesWithin(Promise.all([work.close(), poll.close()]), 5_000);
      await plan.flush();
      logger.info({}, "job workers stopped");
    },
    async halt() {
      stopping = true;
      clearTimeout(sweepTimer);
      await Promise.all(workers.map((w) => w.close(true)));
      await Promise.all([work.close(), poll.close()]);
    },
    stats(): JobRunnerStats {
      return {
        byState: wiring.finishedByState(),
        queries: counters.queries,
        steps: counters.steps,
        inFlight: inFlight.size,
      };
    },
  };
}
