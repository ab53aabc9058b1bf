import type { JobLedger } from "./billing.ts";
import { PendingResults } from "./pending-results.ts";
import type { JobRunnerOptions } from "./runner.ts";
import type { StepDeps, StepRun, StepTiming } from "./steps.ts";
import type { JobStore } from "./store.ts";
import { isFinal, JOB_STATES, type JobState } from "./types.ts";

/**
 * What both job runners (the embedded loop in runner.ts and the BullMQ workers in bullmq-runner.ts)
 * hand to `runStep`: the step's dependencies, the stored run around it, and the counters their
 * `stats()` report. Only the scheduling differs between the two; the steps are wired once, here.
 */

export const DEFAULT_RUNNER_TIMING: StepTiming = {
  firstPollMs: 2_000,
  maxPollMs: 20_000,
  pollBackoff: 1.5,
  maxProcessingMs: 2 * 3600_000,
  maxAttempts: 8,
  maxUnexpectedAttempts: 3,
  retryBaseMs: 2_000,
  retryMaxMs: 120_000,
};

/**
 * The defaults, overridden by the options that are set (`{ maxAttempts: undefined }` from a config
 * lookup means "default", not "no limit").
 */
export function runnerTiming(opts: JobRunnerOptions): StepTiming {
  const timing: StepTiming = { ...DEFAULT_RUNNER_TIMING };
  for (const k of Object.keys(DEFAULT_RUNNER_TIMING) as (keyof StepTiming)[]) {
    const v = opts[k];
    if (v !== undefined) timing[k] = v;
  }
  return timing;
}

export interface StepWiringDeps
  extends Pick<StepDeps, "provider" | "publisher" | "logger" | "now" | "random" | "timing" | "plan"> {
  store: JobStore;
  ledger: JobLedger;
  options: JobRunnerOptions;
}

export interface StepWiring {
  deps: StepDeps;
  run: StepRun;
  counters: { queries: number; steps: number };
  /** Jobs finished since start, by final state (every other state at 0). */
  finishedByState(): Record<JobState, number>;
}

export function createStepWiring(w: StepWiringDeps): StepWiring {
  const opts = w.options;
  const finished = new Map<JobState, number>();
  const counters = { queries: 0, steps: 0 };
  const deps: StepDeps = {
    provider: w.provider,
    publisher: w.publisher,
    logger: w.logger,
    now: w.now,
    random: w.random,
    timing: w.timing,
    plan: w.plan,
    pending: new PendingResults(opts.maxPendingBytes ?? 256 * 1024 * 1024),
    paid: new Map(),
    submitting: new Set(),
    onQuery: (info) => {
      counters.queries++;
      opts.onQuery?.(info);
    },
  };
  const run: StepRun = {
    store: w.store,
    ledger: w.ledger,
    deps,
    onStep: () => {
      counters.steps++;
    },
    onChange: (stored) => {
      if (isFinal(stored.state)) finished.set(stored.state, (finished.get(stored.state) ?? 0) + 1);
      opts.onChange?.(stored);
    },
  };
  return {
    deps,
    run,
    counters,
    finishedByState: () =>
      Object.fromEntries(JOB_STATES.map((s) => [s, finished.get(s) ?? 0])) as Record<JobState, number>,
  };
}
