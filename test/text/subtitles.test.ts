import { describe, expect, it } from "vitest";
import type { SubtitleSegment } from "../../src/speech/types.ts";
import {
  MAX_CUE_CHARS,
  offsetSubtitles,
  parseTitles,
  subtitlesFromChunks,
  toSrt,
} from "../../src/text/subtitles.ts";
import { prng } from "../audio/signal.ts";

const seg = (text: string, time_begin: number, time_end: number): SubtitleSegment => ({
  text,
  time_begin,
  time_end,
});

describe("toSrt", () => {
  it("numbers cues from 1 and formats HH:MM:SS,mmm", () => {
    expect(toSrt([seg("One code.", 0, 1037.78), seg("Two.", 3_723_004.4, 3_725_000)])).toBe(
      "1\n00:00:00,000 --> 00:00:01,038\nOne code.\n\n2\n01:02:03,004 --> 01:02:05,000\nTwo.\n",
    );
  });

  it.each([
    ["empty list", [], ""],
    [
      "skips empty and blank texts without leaving holes in the numbering",
      [seg("", 0, 5), seg(" \n ", 5, 9), seg("A", 10, 20)],
      "1\n00:00:00,010 --> 00:00:00,020\nA\n",
    ],
    ["clamps negative times", [seg("A", -50, -10)], "1\n00:00:00,000 --> 00:00:00,001\nA\n"],
    ["makes a cue end after it begins", [seg("A", 2000, 1500)], "1\n00:00:02,000 --> 00:00:02,001\nA\n"],
    [
      "drops blank lines inside a text (they would end the cue)",
      [seg("A\r\n\r\nB\n", 0, 1000)],
      "1\n00:00:00,000 --> 00:00:01,000\nA\nB\n",
    ],
    [
      "hours past 99 keep counting",
      [seg("A", 360_000_000, 360_000_500)],
      "1\n100:00:00,000 --> 100:00:00,500\nA\n",
    ],
    [
      "sorts cues by start",
      [seg("B", 2000, 3000), seg("A", 0, 1000)],
      "1\n00:00:00,000 --> 00:00:01,000\nA\n\n2\n00:00:02,000 --> 00:00:03,000\nB\n",
    ],
    [
      "clamps an end to the next start (MiniMax's sub-millisecond overlap, 1 ms once rounded)",
      [seg("A", 0, 1037.6), seg("B", 1037.4, 2000)],
      "1\n00:00:00,000 --> 00:00:01,037\nA\n\n2\n00:00:01,037 --> 00:00:02,000\nB\n",
    ],
    [
      "clamps a cue that runs past several later ones to the first of them",
      [seg("A", 0, 5000), seg("B", 1000, 2000), seg("C", 1500, 1800)],
      "1\n00:00:00,000 --> 00:00:01,000\nA\n\n2\n00:00:01,000 --> 00:00:01,500\nB\n\n" +
        "3\n00:00:01,500 --> 00:00:01,800\nC\n",
    ],
    [
      "leaves a gap between cues alone",
      [seg("A", 0, 900), seg("B", 1000, 2000)],
      "1\n00:00:00,000 --> 00:00:00,900\nA\n\n2\n00:00:01,000 --> 00:00:02,000\nB\n",
    ],
    [
      "merges cues that start on the same millisecond instead of leaving an empty one",
      [seg("A", 1000.2, 1500), seg("B", 999.6, 2500), seg("C", 3000, 4000)],
      "1\n00:00:01,000 --> 00:00:02,500\nA\nB\n\n2\n00:00:03,000 --> 00:00:04,000\nC\n",
    ],
    [
      "merges cues that all clamp to 0",
      [seg("A", -30, 400), seg("B", -10, 200)],
      "1\n00:00:00,000 --> 00:00:00,400\nA\nB\n",
    ],
    [
      "a zero-length cue before the next one keeps its 1 ms",
      [seg("A", 500, 500), seg("B", 501, 900)],
      "1\n00:00:00,500 --> 00:00:00,501\nA\n\n2\n00:00:00,501 --> 00:00:00,900\nB\n",
    ],
    ["replaces --> in text", [seg("A --> B -->C", 0, 1000)], "1\n00:00:00,000 --> 00:00:01,000\nA → B →C\n"],
    [
      "neutralises a text line that looks like a timing line",
      [seg("Said:\n00:00:05,000 --> 00:00:06,000\nthen", 0, 1000)],
      "1\n00:00:00,000 --> 00:00:01,000\nSaid:\n00:00:05,000 → 00:00:06,000\nthen\n",
    ],
    [
      "neutralises a timing line with dots (WebVTT style) and a longer arrow",
      [seg("2\n00:00:05.000 ---> 00:00:06.000", 0, 1000)],
      "1\n00:00:00,000 --> 00:00:01,000\n2\n00:00:05.000 -→ 00:00:06.000\n",
    ],
    [
      "leaves out cues without finite times",
      [seg("A", Number.NaN, 5), seg("B", 0, Number.POSITIVE_INFINITY), seg("C", 0, 5)],
      "1\n00:00:00,000 --> 00:00:00,005\nC\n",
    ],
  ])("%s", (_name, segments, expected) => {
    expect(toSrt(segments)).toBe(expected);
  });

  it("uses LF only", () => {
    expect(toSrt([seg("a\r\nb", 0, 1), seg("c", 1, 2)])).not.toContain("\r");
  });
});

/** A cue as a WebVTT (or SRT) reader sees it. */
interface ParsedCue {
  start: number;
  end: number;
  lines: string[];
}

const TIMING = /^(\d+):(\d{2}):(\d{2})[,.](\d{3}) --> (\d+):(\d{2}):(\d{2})[,.](\d{3})$/;
const ms = (h: string, m: string, s: string, f: string) => ((+h * 60 + +m) * 60 + +s) * 1000 + +f;

/** SRT to WebVTT the way converters do it: a header, and a dot for the comma in timing lines. */
function srtToVtt(srt: string): string {
  const body = srt
    .split("\n")
    .map((line) => (line.includes("-->") ? line.replace(/,(\d{3})/g, ".$1") : line))
    .join("\n");
  return `WEBVTT\n\n${body}`;
}

/**
 * A minimal WebVTT reader: like real ones, any line with `-->` starts a cue and a blank line ends it;
 * a line outside a cue (the SRT cue number, which WebVTT takes as an identifier) is skipped.
 */
function parseVtt(vtt: string): ParsedCue[] {
  const lines = vtt.split("\n");
  expect(lines[0]).toBe("WEBVTT");
  const cues: ParsedCue[] = [];
  let current: ParsedCue | undefined;
  for (const line of lines.slice(1)) {
    if (line.includes("-->")) {
      const m = TIMING.exec(line);
      expect(m, `timing line ${JSON.stringify(line)}`).not.toBeNull();
      const [, h1, m1, s1, f1, h2, m2, s2, f2] = m!;
      current = { start: ms(h1!, m1!, s1!, f1!), end: ms(h2!, m2!, s2!, f2!), lines: [] };
      cues.push(current);
    } else if (line === "") {
      current = undefined;
    } else if (current) {
      current.lines.push(line);
    }
  }
  return cues;
}

/** What a WebVTT player needs: every cue with text, ending after it starts, none before the last ends. */
function expectPlayableVtt(cues: readonly ParsedCue[]): void {
  for (const [i, cue] of cues.entries()) {
    expect(cue.lines.length).toBeGreaterThan(0);
    expect(cue.end).toBeGreaterThan(cue.start);
    if (i > 0) expect(cue.start).toBeGreaterThanOrEqual(cues[i - 1]!.end);
  }
}

describe("toSrt converted to WebVTT", () => {
  it.each([
    [
      "overlapping MiniMax sentences",
      [seg("One.", 0, 1037.78), seg("Two.", 1037.2, 2000.6), seg("Three.", 2000.1, 2600)],
      3,
    ],
    ["unsorted cues", [seg("C", 4000, 5000), seg("A", 0, 1000), seg("B", 2000, 3000)], 3],
    [
      "text with timing lines",
      [seg("a\n1\n00:00:09,000 --> 00:00:10,000\nb", 0, 1000), seg("c", 1000, 2000)],
      2,
    ],
    ["cues starting together", [seg("A", 10, 20), seg("B", 10, 30), seg("C", 10.4, 15)], 1],
  ])("%s: one cue per start, in order, none overlapping", (_name, segments, count) => {
    const cues = parseVtt(srtToVtt(toSrt(segments)));
    expect(cues).toHaveLength(count);
    expectPlayableVtt(cues);
  });

  it("holds for random cues, text and times alike", () => {
    const random = prng(7);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const texts = [
      "Hello.",
      "a --> b",
      "00:00:01,000 --> 00:00:02,000",
      "-->",
      "x\n\ny",
      " ",
      "12",
      "ok\r\n-->",
    ];
    for (let round = 0; round < 200; round++) {
      const segments = Array.from({ length: 1 + Math.floor(random() * 12) }, () => {
        const begin = random() * 10_000 - 500;
        return seg(pick(texts), begin, begin + (random() - 0.1) * 3000);
      });
      const srt = toSrt(segments);
      const cues = parseVtt(srtToVtt(srt));
      expect(cues).toHaveLength(srt === "" ? 0 : srt.split("\n\n").length);
      expectPlayableVtt(cues);
      // Every cue's text survives (merged cues keep each line).
      const shown = cues.flatMap((c) => c.lines).join("\n");
      for (const s of segments) {
        for (const line of s.text.split(/\r?\n/)) {
          if (line.trim() !== "") expect(shown).toContain(line.trim().replaceAll("-->", "→"));
        }
      }
    }
  });
});

describe("parseTitles", () => {
  it("accepts the MiniMax item shape and keeps text offsets", () => {
    const json = [
      {
        text: "One code.",
        pronounce_text: "One code.",
        time_begin: 0.0,
        time_end: 1037.7777777777778,
        text_begin: 0,
        text_end: 9,
        pronounce_text_begin: 0,
        pronounce_text_end: 9,
        is_final_segment: true,
        timestamped_words: [{ word: "One", time_begin: 47.4, time_end: 189.6 }],
      },
      { text: "Two.", time_begin: "1037.5", time_end: 2000 },
    ];
    expect(parseTitles(json)).toEqual([
      { text: "One code.", time_begin: 0, time_end: 1037.7777777777778, text_begin: 0, text_end: 9 },
      { text: "Two.", time_begin: 1037.5, time_end: 2000 },
    ]);
  });

  it.each([
    ["not an array", { text: "a", time_begin: 0, time_end: 1 }],
    ["missing time_end", [{ text: "a", time_begin: 0 }]],
    ["text not a string", [{ text: 5, time_begin: 0, time_end: 1 }]],
    ["time not numeric", [{ text: "a", time_begin: "soon", time_end: 1 }]],
  ])("rejects %s", (_name, json) => {
    expect(() => parseTitles(json)).toThrow(/invalid subtitle file/);
  });
});

describe("offsetSubtitles", () => {
  it("shifts both ends and leaves the input untouched", () => {
    const input = [{ ...seg("A", 0, 100), text_begin: 0, text_end: 1 }];
    expect(offsetSubtitles(input, 2500)).toEqual([
      { text: "A", time_begin: 2500, time_end: 2600, text_begin: 0, text_end: 1 },
    ]);
    expect(input[0]!.time_begin).toBe(0);
  });
});

describe("subtitlesFromChunks", () => {
  it("one cue per sentence, timed in proportion to characters, chunks laid end to end", () => {
    const cues = subtitlesFromChunks([
      { text: "Hello there. Goodbye now, friend.", durationMs: 3000 },
      { text: "Second chunk.", durationMs: 1000 },
    ]);
    // "Hello there." = 11 spoken characters, "Goodbye now, friend." = 18: 3000 ms split 11:18.
    expect(cues).toEqual([
      { text: "Hello there.", time_begin: 0, time_end: 1138 },
      { text: "Goodbye now, friend.", time_begin: 1138, time_end: 3000 },
      { text: "Second chunk.", time_begin: 3000, time_end: 4000 },
    ]);
  });

  it("splits sentences longer than a cue at clauses or spaces", () => {
    const sentence =
      "This sentence is long enough, with a clause here and there, that it cannot be one cue on screen.";
    const cues = subtitlesFromChunks([{ text: sentence, durationMs: 10_000 }]);
    expect(cues.length).toBeGreaterThan(1);
    for (const c of cues) expect(c.text.length).toBeLessThanOrEqual(MAX_CUE_CHARS);
    expect(cues.map((c) => c.text).join(" ")).toBe(sentence);
    expect(cues[0]!.time_begin).toBe(0);
    expect(cues.at(-1)!.time_end).toBe(10_000);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.time_begin).toBe(cues[i - 1]!.time_end);
  });

  it("turns pause markers into gaps and never shows them", () => {
    const cues = subtitlesFromChunks([{ text: "Wait. <#2#> Now go.", durationMs: 4000 }]);
    // 2000 ms of speech split 5:6 between "Wait." and "Nowgo.", 2000 ms of silence between.
    expect(cues).toEqual([
      { text: "Wait.", time_begin: 0, time_end: 909 },
      { text: "Now go.", time_begin: 2909, time_end: 4000 },
    ]);
  });

  it("scales pauses down when the chunk is shorter than they claim", () => {
    const cues = subtitlesFromChunks([{ text: "A <#10#> B", durationMs: 1000 }]);
    expect(cues[0]!.time_begin).toBe(0);
    expect(cues[1]!.time_end).toBe(1000);
    expect(cues[1]!.time_begin).toBeGreaterThan(cues[0]!.time_end);
  });

  it("an empty chunk is a pause between chunks", () => {
    const cues = subtitlesFromChunks([
      { text: "First.", durationMs: 1000 },
      { text: "", durationMs: 1500 },
      { text: "Second.", durationMs: 1000 },
    ]);
    expect(cues).toEqual([
      { text: "First.", time_begin: 0, time_end: 1000 },
      { text: "Second.", time_begin: 2500, time_end: 3500 },
    ]);
  });

  it("CJK text splits at its own punctuation", () => {
    const cues = subtitlesFromChunks([{ text: "你好世界。今天天气很好！", durationMs: 900 }]);
    expect(cues.map((c) => c.text)).toEqual(["你好世界。", "今天天气很好！"]);
  });

  it("round-trips into SRT", () => {
    const srt = toSrt(subtitlesFromChunks([{ text: "One. Two.", durationMs: 2000 }]));
    expect(srt).toBe("1\n00:00:00,000 --> 00:00:01,000\nOne.\n\n2\n00:00:01,000 --> 00:00:02,000\nTwo.\n");
  });
});
