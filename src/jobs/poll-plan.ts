import { z } from "zod";
import type { KeyValue } from "../storage/key-value.ts";

/**
 * When to ask MiniMax whether a narration is done. MiniMax takes roughly a fixed time per character
 * (per model), so each job's processing time is estimated from its length and the speed observed on
 * finished jobs. The first query goes a little before the expected finish, the next ones at short
 * intervals around it that grow the later the job is, never more than `maxPollMs` apart. Until a speed
 * is known (a new install) the plan is the plain backoff (`pollDelay`). The estimate is kept in a
 * small Keyv namespace, so a restart keeps it.
 *
 * What is learned, per model (and across models, for a model not seen yet), each an exponentially
 * weighted average over finished jobs:
 * - the speed: processing ms per character (weighted by characters, so long jobs count most);
 * - the spread: the mean relative error of the prediction, which sizes the gaps between queries;
 * - the lead: how far before the expected finish the first query goes, nudged so that about
 *   `earlyFinishes` of the jobs are already done at their first query (later means fewer queries and
 *   longer waits for those early ones, earlier the other way round).
 *
 * The same estimate ranks due queries when more are due than the query budget allows: the job most
 * likely done (the largest share of its expected time elapsed) is asked first.
 */

/** The fixed backoff: the first poll after `firstPollMs`, each next one `pollBackoff` times later. */
export interface BackoffTiming {
  firstPollMs: number;
  maxPollMs: number;
  pollBackoff: number;
}

/** Delay before the poll after poll number `polls` (0 = the first poll, right after the submit). */
export function pollDelay(polls: number, t: BackoffTiming): number {
  return Math.min(t.maxPollMs, Math.round(t.firstPollMs * t.pollBackoff ** polls));
}

/** What the plan needs of a job: the record before the query being answered. */
export interface PlanJob {
  /** Characters of the text. */
  chars: number;
  settings: { model: string };
  submittedAt?: number;
  createdAt: number;
  /** Queries made before this one. */
  polls?: number;
  /** When this query was planned (ms epoch). */
  nextAt?: number;
  /** When a query last answered "processing" (ms epoch). */
  seenProcessingAt?: number;
  /** Set when the first query was planned from an estimate (the finish expected then, ms epoch). */
  expectedAt?: number;
}

export interface PollPlan {
  /** Delay from the submit to the first query. */
  firstDelay(job: PlanJob): number;
  /** A query answered "processing" at `now`: learns from it, and returns the delay to the next one. */
  processing(job: PlanJob, now: number): number;
  /** A query answered "success" at `now`: learns the job's processing time. */
  finished(job: PlanJob, now: number): void;
  /** How likely the job is done at `now`, for ordering due queries (larger first). */
  readiness(job: PlanJob, now: number): number;
  /** Expected processing time in ms, or undefined while nothing is known (the backoff applies). */
  expectedMs(job: PlanJob): number | undefined;
  /** Reads the stored estimate (a failure is logged, and the plan starts without one). */
  load(): Promise<void>;
  /** Resolves once the last change is stored (or failed to be). */
  flush(): Promise<void>;
}

export interface PollPlanOptions {
  /** "adaptive" (default), or "backoff": the fixed backoff and first-come order (the old plan; benches). */
  policy?: "adaptive" | "backoff";
  /** Weight of the newest finished job in the averages. Default 0.2. */
  alpha?: number;
  /** Bounds of the learned speed, ms per character. Default 0.05 to 500. */
  minMsPerChar?: number;
  maxMsPerChar?: number;
  /** Shortest gap between two queries of a job. Default 500 ms (or `firstPollMs` when smaller). */
  minGapMs?: number;
  /** Share of jobs the first query should find already done. Default 0.2. */
  earlyFinishes?: number;
  /** Gap between queries around the expected finish, in spreads of the expected time. Default 1. */
  gapSpreads?: number;
}

/** The learned estimate for one model. */
interface Speed {
  /** Exponentially weighted processing milliseconds and characters: their ratio is the speed. */
  ms: number;
  chars: number;
  /** Mean relative error of the prediction. */
  spread: number;
  /** The first query comes at (1 - lead) of the expected time. */
  lead: number;
  samples: number;
}

const SpeedSchema = z.object({
  ms: z.number().positive(),
  chars: z.number().positive(),
  spread: z.number().nonnegative(),
  lead: z.number().nonnegative(),
  samples: z.number().int().nonnegative(),
});
const StoredSchema = z.object({ v: z.literal(1), models: z.record(z.string(), SpeedSchema) });
type Stored = z.infer<typeof StoredSchema>;

/** The store key; the namespace is the runner's own. */
export const SPEED_KEY = "speed";
/** Learned across models: the fallback for a model not seen yet. */
const ANY_MODEL = "*";
const MAX_MODELS = 32;
export const SPREAD_BOUNDS = [0.05, 0.5] as const;
export const LEAD_BOUNDS = [0.02, 0.6] as const;
/** Before anything is known about the error: ±25 %. */
const FIRST_SPREAD = 0.25;
/** How far one first query moves the lead (a step of the quantile tracking). */
const LEAD_STEP = 0.05;

export interface PollPlanDeps {
  timing: BackoffTiming;
  options?: PollPlanOptions;
  /** Where the estimate is kept across restarts (a Keyv namespace). Without one it lives in memory. */
  store?: Pick<KeyValue, "get" | "set">;
  logger?: { warn(obj: object, msg?: string): void };
}

const clamp = (v: number, [lo, hi]: readonly [number, number]) => Math.min(hi, Math.max(lo, v));

export function createPollPlan(deps: PollPlanDeps): PollPlan {
  const t = deps.timing;
  const o = deps.options ?? {};
  const adaptive = (o.policy ?? "adaptive") === "adaptive";
  const alpha = clamp(o.alpha ?? 0.2, [0.01, 1]);
  const minRate = o.minMsPerChar ?? 0.05;
  const rateBounds = [minRate, Math.max(minRate, o.maxMsPerChar ?? 500)] as const;
  const minGap = Math.max(1, o.minGapMs ?? Math.min(500, t.firstPollMs));
  const early = clamp(o.earlyFinishes ?? 0.2, [0.01, 0.99]);
  const gapSpreads = o.gapSpreads ?? 1;
  const delayBounds = [minGap, Math.max(minGap, t.maxPollMs)] as const;
  const speeds = new Map<string, Speed>();

  const startOf = (job: PlanJob) => job.submittedAt ?? job.createdAt;
  const speedOf = (job: PlanJob) =>
    adaptive ? (speeds.get(job.settings.model) ?? speeds.get(ANY_MODEL)) : undefined;
  const rateOf = (s: Speed) => clamp(s.ms / s.chars, rateBounds);
  const expected = (job: PlanJob, s: Speed) => Math.max(minGap, rateOf(s) * Math.max(1, job.chars));
  const keysOf = (job: PlanJob) => [job.settings.model, ANY_MODEL];

  /** The first query came when it was planned, from an estimate: it says whether the lead was right. */
  function firstOnTime(job: PlanJob, now: number): boolean {
    return (
      adaptive &&
      (job.polls ?? 0) === 0 &&
      job.expectedAt !== undefined &&
      job.nextAt !== undefined &&
      now - job.nextAt <= minGap
    );
  }

  /** Quantile tracking: up when the first query found the job done, down when not. */
  function moveLead(job: PlanJob, done: boolean): void {
    for (const key of keysOf(job)) {
      const s = speeds.get(key);
      if (s) s.lead = clamp(s.lead + LEAD_STEP * (done ? 1 - early : -early), LEAD_BOUNDS);
    }
  }

  function learn(key: string, chars: number, ms: number, error: number | undefined): void {
    const s = speeds.get(key);
    if (!s) {
      if (key === ANY_MODEL || speeds.size < MAX_MODELS) {
        speeds.set(key, { ms, chars, spread: FIRST_SPREAD, lead: FIRST_SPREAD, samples: 1 });
      }
      return;
    }
    s.ms = (1 - alpha) * s.ms + alpha * ms;
    s.chars = (1 - alpha) * s.chars + alpha * chars;
    if (error !== undefined) s.spread = clamp((1 - alpha) * s.spread + alpha * error, SPREAD_BOUNDS);
    s.samples++;
  }

  // Writes one at a time, the newest state last; a failure is logged and the next change tries again.
  let writing: Promise<void> = Promise.resolve();
  let queued = false;
  function save(): void {
    const store = deps.store;
    if (!store || queued) return;
    queued = true;
    writing = writing.then(async () => {
      queued = false;
      const value: Stored = { v: 1, models: Object.fromEntries(speeds) };
      await store.set(SPEED_KEY, value).then(undefined, (err: unknown) => {
        deps.logger?.warn({ err }, "could not store the narration speed estimate");
      });
    });
  }

  return {
    firstDelay(job) {
      const s = speedOf(job);
      if (!s) return pollDelay(0, t);
      return Math.round(clamp(expected(job, s) * (1 - s.lead), delayBounds));
    },

    processing(job, now) {
      if (firstOnTime(job, now)) {
        moveLead(job, false);
        save();
      }
      const polls = (job.polls ?? 0) + 1;
      const s = speedOf(job);
      if (!s) return pollDelay(polls, t);
      const e = expected(job, s);
      const elapsed = now - startOf(job);
      const windowStart = e * (1 - s.lead);
      // Well before the expected finish (the ceiling made an early query): on to the window.
      if (elapsed < windowStart - minGap) return Math.round(clamp(windowStart - elapsed, delayBounds));
      // Around it: short gaps, growing with how late the job is beyond its expected finish.
      const gap = Math.max(gapSpreads * clamp(s.spread, SPREAD_BOUNDS) * e, 0.5 * (elapsed - e));
      return Math.round(clamp(gap, delayBounds));
    },

    finished(job, now) {
      if (!adaptive) return;
      const start = startOf(job);
      const upper = now - start;
      if (!(upper > 0)) return;
      if (firstOnTime(job, now)) moveLead(job, true);
      const lower =
        job.seenProcessingAt !== undefined && job.seenProcessingAt >= start
          ? Math.min(upper, job.seenProcessingAt - start)
          : undefined;
      const chars = Math.max(1, job.chars);
      for (const key of keysOf(job)) {
        const s = speeds.get(key);
        const predicted = s ? expected(job, s) : undefined;
        const sample = sampleOf(lower, upper, predicted, minGap);
        if (!sample) continue;
        const error = sample.tight && predicted ? Math.abs(sample.ms - predicted) / predicted : undefined;
        learn(key, chars, sample.ms, error);
      }
      save();
    },

    readiness(job, now) {
      const elapsed = now - startOf(job);
      if (!adaptive) return elapsed;
      const s = speedOf(job);
      // Without a speed, any common rate gives the same order: the most time per character first.
      return elapsed / (s ? expected(job, s) : Math.max(1, job.chars));
    },

    expectedMs(job) {
      const s = speedOf(job);
      return s ? expected(job, s) : undefined;
    },

    async load() {
      if (!deps.store) return;
      let raw: unknown;
      try {
        raw = await deps.store.get(SPEED_KEY);
      } catch (err) {
        deps.logger?.warn({ err }, "could not read the narration speed estimate; starting without it");
        return;
      }
      if (raw === undefined) return;
      const parsed = StoredSchema.safeParse(raw);
      if (!parsed.success) {
        deps.logger?.warn({ err: parsed.error.message }, "ignoring a malformed narration speed estimate");
        return;
      }
      speeds.clear();
      for (const [model, s] of Object.entries(parsed.data.models).slice(0, MAX_MODELS + 1)) {
        // Bounds hold for stored values too (they may have changed since the values were written).
        speeds.set(model, {
          ...s,
          ms: clamp(s.ms / s.chars, rateBounds) * s.chars,
          spread: clamp(s.spread, SPREAD_BOUNDS),
          lead: clamp(s.lead, LEAD_BOUNDS),
        });
      }
    },

    flush() {
      return writing;
    },
  };
}

/**
 * One processing time from a job's last "processing" answer (`lower`, ms since the submit; undefined
 * when the first query already found it done) and its "success" answer (`upper`). A tight interval
 * gives its middle. A loose one (a query held back by the budget, or no "processing" answer at all)
 * only says the truth is inside it: the prediction moved into it, or nothing when the prediction is
 * already inside, so late queries do not teach the estimate that jobs are slower than they are.
 */
export function sampleOf(
  lower: number | undefined,
  upper: number,
  predicted: number | undefined,
  minGapMs: number,
): { ms: number; tight: boolean } | undefined {
  if (predicted === undefined) {
    return { ms: lower === undefined ? upper : (lower + upper) / 2, tight: false };
  }
  if (lower !== undefined && upper - lower <= Math.max(2 * minGapMs, 0.3 * predicted)) {
    return { ms: (lower + upper) / 2, tight: true };
  }
  const low = lower ?? 0;
  if (predicted < low) return { ms: low, tight: false };
  if (predicted > upper) return { ms: upper, tight: false };
  return undefined;
}
