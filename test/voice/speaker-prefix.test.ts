import { describe, expect, it } from "vitest";
import { createSpeakerPrefix } from "../../src/voice/speaker-prefix.ts";

type Step = [
  guildId: string,
  speakerId: string,
  name: string,
  atSeconds: number,
  expected: string | undefined,
];

const ALICE = ["a", "Alice"] as const;
const BOB = ["b", "Bob"] as const;

describe("createSpeakerPrefix", () => {
  it.each<[string, Step[]]>([
    ["the first message is announced", [["g1", ...ALICE, 0, "Alice said"]]],
    [
      "the same speaker within 59 s is not",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...ALICE, 59, undefined],
      ],
    ],
    [
      "exactly the gap is still within it",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...ALICE, 60, undefined],
      ],
    ],
    [
      "the same speaker after 61 s is announced again",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...ALICE, 61, "Alice said"],
      ],
    ],
    [
      "the gap counts from the last announcement, not the last message",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...ALICE, 30, undefined],
        ["g1", ...ALICE, 55, undefined],
        ["g1", ...ALICE, 61, "Alice said"],
        ["g1", ...ALICE, 100, undefined],
      ],
    ],
    [
      "a change of speaker is announced",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...BOB, 1, "Bob said"],
      ],
    ],
    [
      "A, B, A announces every time",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...BOB, 1, "Bob said"],
        ["g1", ...ALICE, 2, "Alice said"],
      ],
    ],
    [
      "a conversation announces only the turns",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g1", ...ALICE, 5, undefined],
        ["g1", ...BOB, 10, "Bob said"],
        ["g1", ...BOB, 12, undefined],
        ["g1", ...BOB, 20, undefined],
        ["g1", ...ALICE, 25, "Alice said"],
      ],
    ],
    [
      "guilds are independent",
      [
        ["g1", ...ALICE, 0, "Alice said"],
        ["g2", ...ALICE, 1, "Alice said"],
        ["g2", ...BOB, 2, "Bob said"],
        ["g1", ...ALICE, 3, undefined],
        ["g2", ...BOB, 4, undefined],
      ],
    ],
    [
      "a new name for the same speaker is not a change",
      [
        ["g1", "a", "Alice", 0, "Alice said"],
        ["g1", "a", "Ally", 5, undefined],
      ],
    ],
    [
      "the same name for another speaker is a change",
      [
        ["g1", "a", "Sam", 0, "Sam said"],
        ["g1", "b", "Sam", 5, "Sam said"],
      ],
    ],
    [
      "a clock going backwards counts as no time passed",
      [
        ["g1", ...ALICE, 100, "Alice said"],
        ["g1", ...ALICE, 10, undefined],
      ],
    ],
  ])("%s", (_name, steps) => {
    const speaker = createSpeakerPrefix();
    for (const [guildId, speakerId, name, at, expected] of steps) {
      // The name plays no part: only who speaks and when.
      void name;
      expect(speaker.shouldName(guildId, speakerId, at * 1000)).toBe(expected !== undefined);
    }
  });

  it.each([
    [10_000, 10, undefined],
    [10_000, 11, "Alice said"],
    [0, 0, undefined],
    [0, 0.001, "Alice said"],
  ])("follows gapMs %i (next message after %f s)", (gapMs, afterSeconds, expected) => {
    const speaker = createSpeakerPrefix({ gapMs });
    speaker.shouldName("g1", "a", 0);
    expect(speaker.shouldName("g1", "a", afterSeconds * 1000)).toBe(expected !== undefined);
  });

  it("reset announces the same speaker again in that guild only", () => {
    const speaker = createSpeakerPrefix();
    speaker.shouldName("g1", "a", 0);
    speaker.shouldName("g2", "a", 0);
    speaker.reset("g1");
    expect(speaker.shouldName("g1", "a", 1000)).toBe(true);
    expect(speaker.shouldName("g2", "a", 1000)).toBe(false);
  });

  it("reset of an unknown guild is harmless", () => {
    const speaker = createSpeakerPrefix();
    expect(() => speaker.reset("nope")).not.toThrow();
    expect(speaker.shouldName("nope", "a", 0)).toBe(true);
  });

  it("instances do not share state", () => {
    const one = createSpeakerPrefix();
    const two = createSpeakerPrefix();
    one.shouldName("g1", "a", 0);
    expect(two.shouldName("g1", "a", 0)).toBe(true);
  });

  it("a message that named the speaker anyway counts as naming them", () => {
    const speaker = createSpeakerPrefix();
    speaker.named("g1", "a", 0);
    expect(speaker.shouldName("g1", "a", 30_000)).toBe(false);
    expect(speaker.shouldName("g1", "b", 31_000)).toBe(true);
    speaker.named("g1", "a", 32_000);
    expect(speaker.shouldName("g1", "a", 33_000)).toBe(false);
  });
});
