import { describe, expect, it } from "vitest";
import {
  formatScript,
  hasVoicesHeader,
  MAX_SCRIPT_RUNS,
  MAX_SPEAKERS,
  parseScript,
  parseVoiceMapping,
  ScriptError,
} from "../../src/text/script.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const MAP = "Narrator=Wise_Woman, Alice=Calm_Woman, Bob=Deep_Voice_Man";

describe("parseVoiceMapping", () => {
  it.each([
    [
      "Narrator=Wise_Woman, Alice=Calm_Woman",
      [
        ["Narrator", "Wise_Woman"],
        ["Alice", "Calm_Woman"],
      ],
    ],
    [
      "  Old Man = Patient_Man ; Girl=Lovely_Girl ",
      [
        ["Old Man", "Patient_Man"],
        ["Girl", "Lovely_Girl"],
      ],
    ],
    [
      "A=moss_audio_1a2b-3.c\nB=English_Graceful_Lady,",
      [
        ["A", "moss_audio_1a2b-3.c"],
        ["B", "English_Graceful_Lady"],
      ],
    ],
    ["Zoë=Sweet_Girl_2", [["Zoë", "Sweet_Girl_2"]]],
    ["", []],
  ])("%j", (text, expected) => {
    expect(parseVoiceMapping(text).map((s) => [s.name, s.voiceId])).toEqual(expected);
  });

  it.each([
    ["Narrator", /is not `Speaker=Voice`/],
    ["=Wise_Woman", /is not a speaker name/],
    ["A very long four word=Wise_Woman", /is not a speaker name/],
    ["Alice=", /is not a voice id/],
    ["Alice=Calm Woman", /is not a voice id/],
    ["Alice=Calm_Woman, alice=Wise_Woman", /alice is given a voice twice/],
    ["x".repeat(1001), /too long/],
  ])("refuses %j", (text, message) => {
    expect(() => parseVoiceMapping(text)).toThrow(message);
  });
});

describe("parseScript", () => {
  const runs = (text: string, mapping?: string) =>
    parseScript(text, mapping).runs.map((r) => [r.speaker, r.voiceId, r.text]);

  it.each([
    [
      "three speakers, one line each",
      "Narrator: Once upon a time.\nAlice: Hello!\nBob: Hi, Alice.",
      MAP,
      [
        ["Narrator", "Wise_Woman", "Once upon a time."],
        ["Alice", "Calm_Woman", "Hello!"],
        ["Bob", "Deep_Voice_Man", "Hi, Alice."],
      ],
    ],
    [
      "untagged lines continue the speaker; consecutive lines of one speaker are one run",
      "Narrator: It was dark.\nThe wind howled.\n\nNarrator: Then a knock.\nAlice: Who is it?",
      MAP,
      [
        ["Narrator", "Wise_Woman", "It was dark.\nThe wind howled.\n\nThen a knock."],
        ["Alice", "Calm_Woman", "Who is it?"],
      ],
    ],
    [
      "tags match case-insensitively and keep the mapping's spelling; full-width colons count",
      "narrator: One.\nALICE： Two.",
      MAP,
      [
        ["Narrator", "Wise_Woman", "One."],
        ["Alice", "Calm_Woman", "Two."],
      ],
    ],
    [
      "longer openings with a colon are prose, and times are not tags",
      "Narrator: He said: run.\nChapter 2: the end, at 5:30.\nAlice: See https://example.com",
      MAP,
      [
        ["Narrator", "Wise_Woman", "He said: run.\nChapter 2: the end, at 5:30."],
        ["Alice", "Calm_Woman", "See https://example.com"],
      ],
    ],
    [
      "a header declares the voices; the option overrides one and adds another",
      "@voices Narrator=Wise_Woman, Alice=Lively_Girl\n\nNarrator: Hi.\nAlice: Yo.\nBob: Hey.",
      "Alice=Calm_Woman, Bob=Deep_Voice_Man",
      [
        ["Narrator", "Wise_Woman", "Hi."],
        ["Alice", "Calm_Woman", "Yo."],
        ["Bob", "Deep_Voice_Man", "Hey."],
      ],
    ],
    [
      "a multi-word speaker named in the mapping; an empty turn in between does not split a run",
      "Old Man: Listen.\nAlice:\nOld Man: Closely.",
      "Old Man=Patient_Man, Alice=Calm_Woman",
      [["Old Man", "Patient_Man", "Listen.\nClosely."]],
    ],
    [
      "leading blank lines and CRLF line ends",
      "\r\n\r\nAlice: One.\r\nBob: Two.\r\n",
      MAP,
      [
        ["Alice", "Calm_Woman", "One."],
        ["Bob", "Deep_Voice_Man", "Two."],
      ],
    ],
  ])("%s", (_name, text, mapping, expected) => {
    expect(runs(text, mapping)).toEqual(expected);
  });

  it.each([
    ["no voices at all", "Alice: Hi.", undefined, /Give each speaker a voice/],
    ["text before the first speaker", "Once upon a time.\nAlice: Hi.", MAP, /^Line 1 has no speaker/],
    [
      "an unknown speaker, named with the line",
      "Alice: Hi.\nCarol: Hey.",
      MAP,
      /^Line 2 is spoken by Carol, who has no voice/,
    ],
    [
      "a header after the first speaker",
      "Alice: Hi.\n@voices Bob=Deep_Voice_Man",
      MAP,
      /^Line 2: `@voices` lines go at the top/,
    ],
    ["only empty turns", "Alice:\nBob:   ", MAP, /no lines to speak/],
    [
      "too many speakers",
      "A: x",
      Array.from({ length: MAX_SPEAKERS + 1 }, (_, i) => `S${i}=Wise_Woman`).join(","),
      new RegExp(`at most ${MAX_SPEAKERS} speakers; this one names ${MAX_SPEAKERS + 1}`),
    ],
    [
      "too many turns",
      Array.from({ length: MAX_SCRIPT_RUNS + 1 }, (_, i) => (i % 2 ? "Alice: a" : "Bob: b")).join("\n"),
      MAP,
      new RegExp(`changes speaker ${MAX_SCRIPT_RUNS + 1} times`),
    ],
  ])("refuses %s", (_name, text, mapping, message) => {
    const err = (() => {
      try {
        parseScript(text, mapping);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ScriptError);
    expect(err).toBeInstanceOf(UserFacingError);
    expect((err as Error).message).toMatch(message);
  });
});

describe("formatScript", () => {
  it.each([
    ["Narrator: Once.\nAlice: Hi.\nthere\n\nBob: Bye.", MAP],
    ["@voices Old Man=Patient_Man\nOld Man: He said: run.\nChapter 2: on.", undefined],
    ["Alice: <#1.5#> pause\nNarrator: then", MAP],
  ])("round-trips %j to the same runs, declaring only the speakers who speak", (text, mapping) => {
    const script = parseScript(text, mapping);
    const canonical = formatScript(script);
    expect(hasVoicesHeader(canonical)).toBe(true);
    expect(parseScript(canonical).runs).toEqual(script.runs);
    expect(parseScript(canonical).speakers.map((s) => s.name)).toEqual(
      [...new Set(script.runs.map((r) => r.speaker))].sort(
        (a, b) =>
          script.speakers.findIndex((s) => s.name === a) - script.speakers.findIndex((s) => s.name === b),
      ),
    );
  });
});

describe("hasVoicesHeader", () => {
  it.each([
    ["@voices A=Wise_Woman\nA: hi", true],
    ["\n  @voice A=Wise_Woman\nA: hi", true],
    ["A: hi\n@voices A=Wise_Woman", false],
    ["Just a text.", false],
  ])("%j → %s", (text, expected) => {
    expect(hasVoicesHeader(text)).toBe(expected);
  });
});
