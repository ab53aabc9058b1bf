import { describe, expect, it } from "vitest";
import type { SubtitleSegment } from "../../src/speech/types.ts";
import {
  MAX_CUE_CHARS,
  offsetSubtitles,
  parseTitles,
  subtitlesFromChunks,
  toSrt,
} from "../../src/text/subtitles.ts";

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
  ])("%s", (_name, segments, expected) => {
    expect(toSrt(segments)).toBe(expected);
  });

  it("uses LF only", () => {
    expect(toSrt([seg("a\r\nb", 0, 1), seg("c", 1, 2)])).not.toContain("\r");
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
