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
