import { describe, expect, it } from "vitest";
import { createDaveWatch } from "../../src/voice/dave-watch.ts";

const REINIT = "[NW] [DAVE] Failed to decrypt a packet (reinitializing session)";
const ONE_FAIL = "[NW] [DAVE] Failed to decrypt a packet (3 consecutive fails)";
const INVALID = "[NW] [DAVE] Invalidating transition 7";

describe("DAVE watch", () => {
  it.each([
    {
      name: "single failed packets are the library's to absorb",
      lines: [
        [ONE_FAIL, 0],
        [ONE_FAIL, 1],
        [ONE_FAIL, 2],
        [ONE_FAIL, 3],
      ],
      want: [false, false, false, false],
    },
    {
      name: "three recoveries within a minute ask for a rejoin",
      lines: [
        [REINIT, 0],
        [INVALID, 10_000],
        [REINIT, 20_000],
      ],
      want: [false, false, true],
    },
    {
      name: "recoveries spread over more than a minute do not",
      lines: [
        [REINIT, 0],
        [REINIT, 40_000],
        [REINIT, 70_000],
      ],
      want: [false, false, false],
    },
    {
      name: "the window starts over after a rejoin",
      lines: [
        [REINIT, 0],
        [REINIT, 1],
        [REINIT, 2],
        [REINIT, 3],
      ],
      want: [false, false, true, false],
    },
    {
      name: "other debug lines are ignored",
      lines: [
        ['[WS] >> {"op":3}', 0],
        ["[NW] state change", 1],
        ["[UDP] keep alive", 2],
      ],
      want: [false, false, false],
    },
  ] as const)("$name", ({ lines, want }) => {
    const watch = createDaveWatch({ threshold: 3, windowMs: 60_000 });
    expect(lines.map(([line, t]) => watch.observe(line, t))).toEqual(want);
  });
});

describe("DAVE watch: commits and welcomes the library could not process", () => {
  const ERRORED = "[NW] [DAVE] MLS welcome errored from transition 4: Error: Failed to process welcome";
  const INVALIDATE = "[NW] [DAVE] Invalidating transition 4";
  const PROCESSED = "[NW] [DAVE] MLS welcome processed (transition id: 5)";

  it("counts one failed welcome (errored, then invalidating) as one recovery, and forgets it once one is processed", () => {
    const watch = createDaveWatch({ threshold: 2, windowMs: 60_000 });
    expect(watch.observe(ERRORED, 0)).toBe(false);
    expect(watch.observe(INVALIDATE, 1)).toBe(false);
    expect(watch.observe(PROCESSED, 50)).toBe(false);
    // A second incident later in the window reaches the threshold of two.
    expect(watch.observe(ERRORED, 1000)).toBe(true);
  });

  it("asks for a rejoin at once when a welcome fails while a recovery is still under way (0.19.2 would stay stuck)", () => {
    const watch = createDaveWatch({ threshold: 3, windowMs: 60_000 });
    expect(watch.observe(ERRORED, 0)).toBe(false);
    expect(watch.observe(INVALIDATE, 1)).toBe(false);
    expect(watch.recovering).toBe(true);
    expect(watch.observe(ERRORED, 200)).toBe(true);
    // The window starts over after the rejoin.
    expect(watch.recovering).toBe(false);
    expect(watch.observe(ERRORED, 300)).toBe(false);
  });

  it("lets a commit fail while recovering (the gateway may broadcast one before welcoming us back)", () => {
    const watch = createDaveWatch({ threshold: 3, windowMs: 60_000 });
    expect(watch.observe(ERRORED, 0)).toBe(false);
    expect(watch.observe("[NW] [DAVE] MLS commit errored from transition 5: Error: no group", 100)).toBe(
      false,
    );
    expect(watch.observe(PROCESSED, 200)).toBe(false);
    expect(watch.recovering).toBe(false);
  });

  it("calls a recovery that does not complete within stuckMs stuck, once", () => {
    const watch = createDaveWatch({ threshold: 3, windowMs: 60_000, stuckMs: 15_000 });
    expect(watch.stuck(0)).toBe(false);
    watch.observe(ERRORED, 1000);
    expect(watch.stuck(15_000)).toBe(false);
    expect(watch.stuck(16_000)).toBe(true);
    expect(watch.stuck(30_000)).toBe(false);
  });

  it("counts contained errors like recoveries", () => {
    const watch = createDaveWatch({ threshold: 2, windowMs: 60_000 });
    expect(watch.failure(0)).toBe(false);
    expect(watch.failure(10)).toBe(true);
  });

  it.each([
    {
      name: "gives up on the third DAVE rejoin within the window",
      times: [0, 1000, 2000],
      want: [false, false, true],
    },
    {
      name: "rejoins spread over more than the window never give up",
      times: [0, 6 * 60_000, 12 * 60_000],
      want: [false, false, false],
    },
  ])("$name", ({ times, want }) => {
    const watch = createDaveWatch({
      threshold: 3,
      windowMs: 60_000,
      rejoinLimit: 2,
      rejoinWindowMs: 10 * 60_000,
    });
    expect(times.map((t) => watch.rejoined(t))).toEqual(want);
  });
});
