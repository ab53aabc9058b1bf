import { setTimeout as delay } from "node:timers/promises";
import type { TtsProvider } from "../speech/types.ts";
import type { KeyValue } from "../storage/key-value.ts";
import type { JobLedger } from "./billing.ts";
import { createPollPlan, type PlanJob, type PollPlanOptions } from "./poll-plan.ts";
import { createStepWiring, runnerTiming } from "./step-wiring.ts";
import { type JobLogger, type QueryInfo, runStep, type StepTiming } from "./steps.ts";
import type { JobStore } from "./store.ts";
import { isFinal, type JobPublisher, type JobRecord, type JobState } from "./types.ts";

export { DEFAULT_RUNNER_TIMING } from "./step-wiring.ts";

/**
 * The persistent form of the async poll loop: one scheduler loop over every non-final job in the
 * store. Each pass advances each due job by exactly one step and stores the result before the job is
 * looked at again, so a restart resumes every job where it stood (`start()` reads them all back).
 *
 * Two lanes: status queries (submitted and processing jobs) and everything else (submits, downloads,
 * posting). Queries start at most `queryQps` per second, so they never queue in the client's limiter
 * and never hold a slot the other lane needs; when more are due than that, the jobs most likely done
 * (by the poll plan's estimate) are asked first.
 */

export interface JobRunnerOptions extends Partial<StepTiming> {
  /** Steps other than status queries (submits, downloads, posting) running at once. Default 8. */
  concurrency?: number;
  /**
   * Status queries started per second, at most (and in flight at once): the provider's query budget
   * (ASYNC_POLL_QPS). Due queries beyond it wait, the ones most likely to find a result first. Default 10.
   */
  queryQps?: number;
  /** When to query (see `src/jobs/poll-plan.ts`); `{ policy: "backoff" }` is the old fixed backoff. */
  pollPlan?: PollPlanOptions;
  /** Longest the loop sleeps without being woken (a safety net; wake() is the normal path). Default 30 s. */
  idleMs?: number;
  /** How long stop() waits for steps in progress before aborting them. Default 10 s. */
  stopTimeoutMs?: number;
  /** Called after every status query (benchmarks, metrics). */
  onQuery?: (info: QueryInfo) => void;
  /** Called after every stored state change. */
  onChange?: (job: JobRecord) => void;
  /** Store failures in a row after which a job is left alone until the next start or wake. Default 8. */
  maxStoreFailures?: number;
  /** Bytes of finished audio held for posting at once; past it the oldest re-download later. Default 256 MiB. */
  maxPendingBytes?: number;
}

export interface JobRunnerDeps {
  store: JobStore;
  publisher: JobPublisher;
  provider: TtsProvider;
  /** Where a job's characters are settled (or released) before its final state is stored. */
  ledger: JobLedger;
  logger: JobLogger;
  now?: () => number;
  /** Must resolve early (or reject) when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  /**
   * Where the learned narration speed is kept across restarts (a small Keyv namespace of its own).
   * Without it the speed is learned again after each start.
   */
  speedStore?: Pick<KeyValue, "get" | "set">;
  options?: JobRunnerOptions;
}

export interface JobRunnerStats {
  /** Jobs this runner is tracking by state, plus those it finished since start. */
  byState: Record<JobState, number>;
  queries: number;
  steps: number;
  inFlight: number;
}

export interface JobRunner {
  /** Loads every non-final job from the store and starts the loop. */
  start(): Promise<void>;
  /** Look at this job now (new, retried or cancelled), or with no id re-read all active jobs. */
  wake(jobId?: string): void;
  /** Aborts the step in progress for this job, if any (its outcome is dropped if the job ended meanwhile). */
  abort(jobId: string): void;
  /** Stops scheduling and waits (bounded) for the steps in progress. */
  stop(): Promise<void>;
  stats(): JobRunnerStats;
}

/**
 * The query budget's window: `queryQps` starts per window. A little over a second, as the MiniMax
 * client's own limiter, so queries started here do not wait there (where they would be served first
 * come, first served) and network jitter does not put more than the limit into one of MiniMax's seconds.
 */
const QUERY_WINDOW_MS = 1100;

/** States whose step is a status query of the provider's task. */
const isQuery = (state: JobState) => state === "submitted" || state === "processing";

const defaultSleep = (ms: number, signal: AbortSignal) =>
  delay(ms, undefined, { signal }).catch(() => undefined);

export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, publisher, logger } = deps;
  const opts = deps.options ?? {};
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const concurrency = opts.concurrency ?? 8;
  const queryQps = Math.max(1, Math.floor(opts.queryQps ?? 10));
  const idleMs = opts.idleMs ?? 30_000;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  const timing = runnerTiming(opts);
  const plan = createPollPlan({ timing, options: opts.pollPlan, store: deps.speedStore, logger });

  /** Job id → when it is next due. Only non-final jobs are here. */
  const due = new Map<string, number>();
  const states = new Map<string, JobState>();
  /** What the poll plan ranks due queries by, for jobs waiting on their task. */
  const planJobs = new Map<string, PlanJob>();
  /** Jobs whose step in progress is a status query. */
  const querying = new Set<string>();
  /** Start times (performance.now()) of the queries in the current window, oldest first. */
  const queryStarts: number[] = [];
  const inFlight = new Map<string, { done: Promise<void>; controller: AbortController }>();
  /** Woken while a step was running: look again as soon as it ends. */
  const recheck = new Set<string>();
  const storeFailures = new Map<string, number>();
  const maxStoreFailures = opts.maxStoreFailures ?? 8;

  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let poked = false;
  let wakeLoop: (() => void) | undefined;

  const wiring = createStepWiring({
    store,
    ledger: deps.ledger,
    provider: deps.provider,
    publisher,
    logger,
    now,
    random: deps.random ?? Math.random,
    timing,
    plan,
    options: opts,
  });
  const { deps: stepDeps, run: stepRun, counters } = wiring;
  const { pending } = stepDeps;

  function poke(): void {
    poked = true;
    wakeLoop?.();
  }

  function track(job: JobRecord | undefined, id: string): void {
    if (job?.state !== "queued") {
      stepDeps.paid.delete(id);
      stepDeps.submitting.delete(id);
    }
    if (!job || isFinal(job.state)) {
      due.delete(id);
      states.delete(id);
      planJobs.delete(id);
      pending.delete(id);
      return;
    }
    due.set(id, recheck.delete(id) ? Math.min(job.nextAt, now()) : job.nextAt);
    states.set(id, job.state);
    if (isQuery(job.state)) planJobs.set(id, planJobOf(job));
    else planJobs.delete(id);
  }

  /** One step of one job (see `runStep`); returns the job as stored afterwards. */
  function step(id: string, signal: AbortSignal): Promise<JobRecord | undefined> {
    return runStep(id, stepRun, signal);
  }

  function launch(id: string, query: boolean): void {
    if (query) {
      querying.add(id);
      queryStarts.push(performance.now());
    }
    const controller = new AbortController();
    const done = step(id, controller.signal)
      .then(
        (job) => {
          storeFailures.delete(id);
          track(job, id);
        },
        (err: unknown) => {
          // The store itself failed: an attempt like any other, with backoff, and a cap so a broken
          // store does not spin. The job stays stored as it was and resumes on the next start.
          const failures = (storeFailures.get(id) ?? 0) + 1;
          storeFailures.set(id, failures);
          if (failures >= maxStoreFailures) {
            logger.error(
              { jobId: id, err, failures },
              "job step could not be stored; leaving the job until restart",
            );
            storeFailures.delete(id);
            due.delete(id);
            states.delete(id);
            planJobs.delete(id);
            return;
          }
          logger.error({ jobId: id, err, failures }, "job step could not be stored; retrying later");
          due.set(id, now() + Math.min(timing.retryMaxMs, timing.retryBaseMs * 2 ** (failures - 1)));
        },
      )
      .finally(() => {
        inFlight.delete(id);
        querying.delete(id);
        poke();
      });
    inFlight.set(id, { done, controller });
  }

  async function pause(ms: number): Promise<void> {
    if (poked) return;
    const controller = new AbortController();
    const woken = new Promise<void>((resolve) => {
      wakeLoop = resolve;
    });
    await Promise.race([woken, sleep(Math.min(ms, idleMs), controller.signal)]);
    controller.abort();
    wakeLoop = undefined;
  }

  /** Queries that may start now: what is left of this second's budget and of the in-flight cap. */
  function queryRoom(): number {
    const t = performance.now();
    while (queryStarts.length > 0 && t - queryStarts[0]! >= QUERY_WINDOW_MS) queryStarts.shift();
    return Math.max(0, Math.min(queryQps - queryStarts.length, queryQps - querying.size));
  }

  async function loop(): Promise<void> {
    while (running) {
      poked = false;
      const t = now();
      let nextAt = Number.POSITIVE_INFINITY;
      const dueQueries: string[] = [];
      for (const [id, at] of due) {
        if (inFlight.has(id)) continue;
        if (at > t) nextAt = Math.min(nextAt, at);
        else if (planJobs.has(id)) dueQueries.push(id);
        // The other lane: a full lane is woken by the end of one of its steps.
        else if (inFlight.size - querying.size < concurrency) launch(id, false);
      }
      const room = queryRoom();
      if (dueQueries.length > room) {
        // Over budget: the jobs most likely done first (the old plan: first come, first asked).
        const score = new Map(dueQueries.map((id) => [id, plan.readiness(planJobs.get(id)!, t)]));
        dueQueries.sort((a, b) => score.get(b)! - score.get(a)!);
        // Left waiting for the budget: look again when the oldest start leaves the window (a full
        // in-flight cap is woken by the end of a query instead).
        if (queryStarts.length >= queryQps) {
          nextAt = Math.min(nextAt, t + queryStarts[0]! + QUERY_WINDOW_MS - performance.now());
        }
      }
      for (const id of dueQueries.slice(0, room)) launch(id, true);
      await pause(Math.max(0, nextAt - now()));
    }
  }

  async function loadActive(): Promise<void> {
    for (const job of await store.listActive()) {
      if (!inFlight.has(job.id)) track(job, job.id);
    }
  }

  return {
    async start() {
      if (running) return;
      await plan.load();
      await loadActive();
      running = true;
      logger.info({ jobs: due.size }, "job runner started");
      loopDone = loop();
    },
    wake(jobId) {
      if (jobId === undefined) {
        loadActive().then(poke, (err: unknown) => logger.error({ err }, "could not reload active jobs"));
        return;
      }
      if (inFlight.has(jobId)) recheck.add(jobId);
      else due.set(jobId, 0);
      poke();
    },
    abort(jobId) {
      inFlight.get(jobId)?.controller.abort(new Error("job cancelled"));
    },
    async stop() {
      if (!running) return;
      running = false;
      poke();
      await loopDone;
      const steps = Promise.allSettled([...inFlight.values()].map((s) => s.done));
      const timer = new AbortController();
      const settled = await Promise.race([
        steps.then(() => true),
        sleep(stopTimeoutMs, timer.signal).then(() => false),
      ]);
      timer.abort();
      if (!settled) {
        logger.warn({ jobs: [...inFlight.keys()] }, "aborting job steps still running at stop");
        for (const s of inFlight.values()) s.controller.abort(new Error("job runner stopping"));
        // A call that ignores its signal must not hold shutdown hostage; its job resumes on restart.
        const grace = new AbortController();
        await Promise.race([steps, sleep(1_000, grace.signal)]);
        grace.abort();
      }
      due.clear();
      states.clear();
      planJobs.clear();
      pending.clear();
      recheck.clear();
      await plan.flush();
      logger.info({}, "job runner stopped");
    },
    stats() {
      const byState = wiring.finishedByState();
      for (const s of states.values()) byState[s]++;
      return { byState, queries: counters.queries, steps: counters.steps, inFlight: inFlight.size };
    },
  };
}

/** The few fields the poll plan ranks by (the record itself may hold a long text). */
function planJobOf(job: JobRecord): PlanJob {
  return {
    chars: job.chars,
    settings: { model: job.settings.model },
    submittedAt: job.submittedAt,
    createdAt: job.createdAt,
    seenProcessingAt: job.seenProcessingAt,
  };
}
