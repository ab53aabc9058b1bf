import { describe, expect, it } from "vitest";
import {
  type BackoffTiming,
  createPollPlan,
  LEAD_BOUNDS,
  type PlanJob,
  type PollPlanOptions,
  pollDelay,
  SPEED_KEY,
  sampleOf,
} from "../../src/jobs/poll-plan.ts";
import { MemoryKv, memoryLogger } from "./helpers.ts";

/** The poll plan on its own: what it learns from finished jobs, and when it asks. */

const TIMING: BackoffTiming = { firstPollMs: 2_000, maxPollMs: 20_000, pollBackoff: 1.5 };
const MODEL = "speech-2.6-hd";

function plan(options: PollPlanOptions = {}, store?: MemoryKv, timing = TIMING) {
  const logger = memoryLogger();
  return { plan: createPollPlan({ timing, options, store, logger }), logger };
}

const job = (chars: number, over: Partial<PlanJob> = {}): PlanJob => ({
  chars,
  settings: { model: MODEL },
  createdAt: 0,
  submittedAt: 0,
  ...over,
});

/** A job that took `ms`: seen processing `gapMs / 2` before, and found done `gapMs / 2` after. */
function finish(p: ReturnType<typeof createPollPlan>, chars: number, ms: number, gapMs = 200, model = MODEL) {
  p.finished(job(chars, { settings: { model }, seenProcessingAt: ms - gapMs / 2, polls: 3 }), ms + gapMs / 2);
}

describe("the speed estimate", () => {
  it("knows nothing at first: the fixed backoff applies", () => {
    const { plan: p } = plan();
    expect(p.expectedMs(job(1000))).toBeUndefined();
    expect(p.firstDelay(job(1000))).toBe(TIMING.firstPollMs);
    expect([0, 1, 2, 3].map((n) => p.processing(job(1000, { polls: n }), 0))).toEqual(
      [1, 2, 3, 4].map((n) => pollDelay(n, TIMING)),
    );
  });

  it.each([
    { name: "one job", jobs: [[1000, 10_000]], chars: 1000, expected: 10_000, within: 0.05 },
    {
      name: "a steady speed",
      jobs: [
        [500, 5_000],
        [2000, 20_000],
        [800, 8_000],
      ],
      chars: 3000,
      expected: 30_000,
      within: 0.05,
    },
    // 5 ms/char, then 20 ms/char: the newest jobs weigh most, and the estimate follows.
    {
      name: "a speed that changed",
      jobs: [...Array(3).fill([1000, 5_000]), ...Array(25).fill([1000, 20_000])],
      chars: 1000,
      expected: 20_000,
      within: 0.05,
    },
    // Long jobs weigh more than short ones (a short job's fixed overhead skews its ms per character).
    {
      name: "long jobs count most",
      jobs: [
        [10_000, 100_000],
        [20, 2_000],
      ],
      chars: 10_000,
      expected: 100_000,
      within: 0.1,
    },
  ] as const)("learns from finished jobs: $name", ({ jobs, chars, expected, within }) => {
    const { plan: p } = plan();
    for (const [c, ms] of jobs) finish(p, c, ms);
    const e = p.expectedMs(job(chars))!;
    expect(Math.abs(e - expected) / expected).toBeLessThanOrEqual(within);
  });

  it.each([
    { name: "absurdly fast", msPerChar: 1e-6, expected: 0.05 },
    { name: "absurdly slow", msPerChar: 1e6, expected: 500 },
  ])("stays within its bounds: $name", ({ msPerChar, expected }) => {
    const { plan: p } = plan();
    for (let i = 0; i < 30; i++) finish(p, 1000, 1000 * msPerChar, 0);
    const rate = p.expectedMs(job(100_000))! / 100_000;
    expect(rate).toBeCloseTo(expected, 6);
  });

  it("keeps a speed per model, and falls back to the speed of all models for a new one", () => {
    const { plan: p } = plan();
    for (let i = 0; i < 10; i++) {
      finish(p, 1000, 10_000, 200, "fast-model");
      finish(p, 1000, 40_000, 200, "slow-model");
    }
    expect(p.expectedMs(job(1000, { settings: { model: "fast-model" } }))).toBeCloseTo(10_000, -2);
    expect(p.expectedMs(job(1000, { settings: { model: "slow-model" } }))).toBeCloseTo(40_000, -2);
    const unseen = p.expectedMs(job(1000, { settings: { model: "new-model" } }))!;
    expect(unseen).toBeGreaterThan(10_000);
    expect(unseen).toBeLessThan(40_000);
  });

  it("does not learn that jobs are slow from queries held back by the budget", () => {
    const { plan: p } = plan();
    for (let i = 0; i < 5; i++) finish(p, 1000, 10_000);
    // Seen processing at 9 s, then not asked again until 60 s: the finish is somewhere in between.
    for (let i = 0; i < 20; i++) {
      p.finished(job(1000, { seenProcessingAt: 9_000, polls: 1 }), 60_000);
    }
    expect(p.expectedMs(job(1000))).toBeCloseTo(10_000, -2);
  });

  it.each([
    {
      name: "cold, a processing answer",
      lower: 4000,
      upper: 6000,
      predicted: undefined,
      out: { ms: 5000, tight: false },
    },
    {
      name: "cold, found done at once",
      lower: undefined,
      upper: 6000,
      predicted: undefined,
      out: { ms: 6000, tight: false },
    },
    {
      name: "a tight interval",
      lower: 9800,
      upper: 10_300,
      predicted: 10_000,
      out: { ms: 10_050, tight: true },
    },
    {
      name: "loose, later than predicted",
      lower: 15_000,
      upper: 40_000,
      predicted: 10_000,
      out: { ms: 15_000, tight: false },
    },
    {
      name: "loose, sooner than predicted",
      lower: undefined,
      upper: 8_000,
      predicted: 10_000,
      out: { ms: 8_000, tight: false },
    },
    { name: "loose, the prediction inside", lower: 9_000, upper: 60_000, predicted: 10_000, out: undefined },
  ])("one sample from a query's answers: $name", ({ lower, upper, predicted, out }) => {
    expect(sampleOf(lower, upper, predicted, 500)).toEqual(out);
  });
});

describe("when to ask", () => {
  function learned(msPerChar = 10) {
    const made = plan();
    for (let i = 0; i < 10; i++) finish(made.plan, 1000, 1000 * msPerChar);
    return made;
  }

  it("asks first a little before the expected finish", () => {
    const { plan: p } = learned();
    for (const chars of [300, 1000, 1500]) {
      const expected = p.expectedMs(job(chars))!;
      const first = p.firstDelay(job(chars));
      expect(first).toBeLessThan(expected);
      expect(first).toBeGreaterThanOrEqual(0.6 * expected);
    }
  });

  it("asks at short gaps around the expected finish, growing when late, within the ceiling", () => {
    const { plan: p } = learned();
    const expected = p.expectedMs(job(1000))!; // 10 s
    const at = (elapsed: number) => p.processing(job(1000, { polls: 2 }), elapsed);
    const gaps = [0.9, 1, 1.5, 3, 10].map((f) => at(f * expected));
    expect(gaps[0]).toBeGreaterThanOrEqual(500);
    expect(gaps[0]).toBeLessThanOrEqual(0.3 * expected);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(gaps.at(-1)).toBe(TIMING.maxPollMs);
    // A long job is asked at least every maxPollMs, even long before its expected finish.
    expect(p.firstDelay(job(100_000))).toBe(TIMING.maxPollMs);
    expect(p.processing(job(100_000, { polls: 1 }), 20_000)).toBe(TIMING.maxPollMs);
  });

  /** Jobs of 200–5,000 characters at 10 ms/char ±20 %, asked as the plan says, one after another. */
  function simulate(p: ReturnType<typeof createPollPlan>, jobs: number) {
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const runs: { doneAtFirst: boolean; queries: number; waitedMs: number }[] = [];
    for (let i = 0; i < jobs; i++) {
      const chars = Math.round(200 + rnd() * 4800);
      const truth = 10 * chars * (1 + 0.2 * (2 * rnd() - 1));
      const e = p.expectedMs(job(chars));
      let j = job(chars, { polls: 0, expectedAt: e, nextAt: p.firstDelay(job(chars)) });
      let queries = 0;
      for (;;) {
        const at = j.nextAt!;
        queries++;
        if (at >= truth) {
          p.finished(j, at);
          runs.push({ doneAtFirst: queries === 1, queries, waitedMs: at - truth });
          break;
        }
        const next = at + p.processing(j, at);
        j = { ...j, polls: queries, seenProcessingAt: at, nextAt: next };
      }
    }
    return runs;
  }

  it("finds jobs sooner than the backoff, with fewer queries; about a fifth done by the first query", () => {
    const { plan: p } = plan();
    const runs = simulate(p, 400).slice(100);
    const backoff = simulate(plan({ policy: "backoff" }).plan, 400).slice(100);
    const share = runs.filter((r) => r.doneAtFirst).length / runs.length;
    expect(share).toBeGreaterThan(0.1);
    expect(share).toBeLessThan(0.3);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Jobs take 2 to 60 s here: the wait is a small share of that, a fraction of the backoff's.
    expect(median(runs.map((r) => r.waitedMs))).toBeLessThan(median(backoff.map((r) => r.waitedMs)) / 3);
    expect(mean(runs.map((r) => r.queries))).toBeLessThan(mean(backoff.map((r) => r.queries)));
    expect(Math.abs(p.expectedMs(job(1000))! - 10_000)).toBeLessThan(1_000);
  });

  it.each([
    {
      name: "every job done at its first query: earlier, to the bound",
      done: true,
      ratio: 1 - LEAD_BOUNDS[1],
    },
    { name: "no job done at its first query: later, to the bound", done: false, ratio: 1 - LEAD_BOUNDS[0] },
  ])("moves the first query: $name", ({ done, ratio }) => {
    // No ceiling here, and a job long enough that the shortest gap never shows.
    const { plan: p } = plan({}, undefined, { ...TIMING, maxPollMs: 1e12 });
    for (let i = 0; i < 10; i++) finish(p, 1000, 10_000);
    const big = job(1_000_000);
    for (let i = 0; i < 200; i++) {
      const planned = p.firstDelay(big);
      const j = job(1_000_000, { polls: 0, nextAt: planned, expectedAt: p.expectedMs(big) });
      if (done) p.finished(j, planned);
      else p.processing(j, planned);
    }
    expect(p.firstDelay(big) / p.expectedMs(big)!).toBeCloseTo(ratio, 2);
  });

  it("ranks due jobs by the share of their expected time that has passed", () => {
    const { plan: p } = learned();
    const jobs = {
      shortAndLate: job(100, { submittedAt: 0 }), // 1 s expected, 3 s passed
      halfway: job(2000, { submittedAt: 0 }), // 20 s expected, 3 s passed
      justSent: job(1000, { submittedAt: 2_500 }), // 10 s expected, 0.5 s passed
      due: job(300, { submittedAt: 0 }), // 3 s expected, 3 s passed
    };
    const order = Object.entries(jobs)
      .sort(([, a], [, b]) => p.readiness(b, 3_000) - p.readiness(a, 3_000))
      .map(([name]) => name);
    expect(order).toEqual(["shortAndLate", "due", "halfway", "justSent"]);
  });

  it("the backoff policy is the old plan: fixed delays, first come first asked, nothing learned", () => {
    const { plan: p } = plan({ policy: "backoff" });
    for (let i = 0; i < 5; i++) finish(p, 1000, 10_000);
    expect(p.expectedMs(job(1000))).toBeUndefined();
    expect(p.firstDelay(job(1000))).toBe(2_000);
    expect(p.processing(job(1000, { polls: 2 }), 9_000)).toBe(pollDelay(3, TIMING));
    expect(p.readiness(job(10, { submittedAt: 0 }), 5_000)).toBeGreaterThan(
      p.readiness(job(10_000, { submittedAt: 1_000 }), 5_000),
    );
  });
});

describe("the estimate across a restart", () => {
  it("is stored, and a new plan over the same store starts from it", async () => {
    const kv = new MemoryKv();
    const first = plan({}, kv).plan;
    await first.load();
    for (let i = 0; i < 5; i++) finish(first, 1000, 8_000);
    await first.flush();
    expect(kv.data.has(SPEED_KEY)).toBe(true);

    const second = plan({}, kv).plan;
    expect(second.expectedMs(job(1000))).toBeUndefined();
    await second.load();
    expect(second.expectedMs(job(1000))).toBeCloseTo(first.expectedMs(job(1000))!, 6);
    expect(second.firstDelay(job(1000))).toBe(first.firstDelay(job(1000)));
  });

  it("clamps a stored speed outside today's bounds", async () => {
    const kv = new MemoryKv();
    const entry = { ms: 1e9, chars: 1, spread: 9, lead: 9, samples: 3 };
    await kv.set(SPEED_KEY, { v: 1, models: { [MODEL]: entry } });
    const { plan: p } = plan({ maxMsPerChar: 100 }, kv);
    await p.load();
    expect(p.expectedMs(job(1000))).toBe(100_000);
    expect(p.firstDelay(job(100))).toBeGreaterThanOrEqual(0.4 * 10_000);
  });

  it.each([
    { name: "malformed", value: { v: 1, models: { [MODEL]: { ms: "fast" } } }, message: /malformed/ },
    { name: "unreadable", value: "throw", message: /could not read/ },
  ])("starts without an estimate when the stored one is $name", async ({ value, message }) => {
    const kv = new MemoryKv();
    if (value === "throw") kv.get = async () => Promise.reject(new Error("store down"));
    else await kv.set(SPEED_KEY, value);
    const { plan: p, logger } = plan({}, kv);
    await p.load();
    expect(p.expectedMs(job(1000))).toBeUndefined();
    expect(logger.lines.some((l) => l.level === "warn" && message.test(l.msg ?? ""))).toBe(true);
  });

  it("a store that refuses writes is logged, and the plan keeps working", async () => {
    const kv = new MemoryKv();
    kv.set = async () => Promise.reject(new Error("read-only"));
    const { plan: p, logger } = plan({}, kv);
    finish(p, 1000, 10_000);
    await p.flush();
    expect(p.expectedMs(job(1000))).toBeCloseTo(10_000, -2);
    expect(logger.lines.some((l) => /could not store/.test(l.msg ?? ""))).toBe(true);
  });
});
