import { describe, expect, it } from "vitest";
import {
  chunkText,
  chunkTextWithPauses,
  mergeAdjacentPauses,
  normalizeText,
  splitSentences,
  stripPauseMarkers,
} from "../../src/text/chunk-text.ts";

const MARKER = /<#\d+(?:\.\d+)?#>/g;

describe("chunkText", () => {
  it.each([
    ["fits as it is (trimmed)", "  Hello there.  ", 50, ["Hello there."]],
    ["empty", "", 10, []],
    ["only whitespace", " \n\t ", 10, []],
    ["packs sentences", "One. Two. Three.", 10, ["One. Two.", "Three."]],
    [
      "prefers a sentence end to a later clause",
      "Alpha beta, gamma delta. Epsilon zeta, eta theta.",
      30,
      ["Alpha beta, gamma delta.", "Epsilon zeta, eta theta."],
    ],
    [
      "clauses when a sentence is too long",
      "aaa bbb, ccc ddd; eee fff",
      10,
      ["aaa bbb,", "ccc ddd;", "eee fff"],
    ],
    ["spaces when there is no punctuation", "one two three four five", 9, ["one two", "three", "four five"]],
    ["hard cut for a single huge word", "x".repeat(25), 10, ["x".repeat(10), "x".repeat(10), "x".repeat(5)]],
    ["a huge word between normal ones", `go ${"y".repeat(12)} now`, 8, ["go", "y".repeat(8), "yyyy now"]],
    ["newlines are sentence ends", "Title\nBody text here", 15, ["Title", "Body text here"]],
    ["blank lines too", "First part\n\nSecond part", 12, ["First part", "Second part"]],
    ["!? and ellipsis", "Really?! Yes… Sure.", 9, ["Really?!", "Yes…", "Sure."]],
    [
      "closing quotes stay with their sentence",
      'He said "stop." Then left.',
      16,
      ['He said "stop."', "Then left."],
    ],
    [
      "no cut inside numbers",
      "Pi is 3.14159 and e is 2.71828.",
      16,
      ["Pi is 3.14159", "and e is", "2.71828."],
    ],
    ["no cut at a no-break space", "go 10\u00a0km now", 7, ["go", "10\u00a0km", "now"]],
    ["a period after Dr. is no sentence end", "Dr. Smith went home.", 12, ["Dr. Smith", "went home."]],
    [
      "CJK sentence ends without spaces",
      "你好世界。今天天气很好！我们去公园吧？",
      10,
      ["你好世界。", "今天天气很好！", "我们去公园吧？"],
    ],
    ["CJK clauses", "一二三四五，六七八九十，甲乙丙丁戊", 8, ["一二三四五，", "六七八九十，", "甲乙丙丁戊"]],
    ["Japanese", "今日は晴れです。明日は雨でしょう。", 9, ["今日は晴れです。", "明日は雨でしょう。"]],
    ["Hindi danda", "यह पहला वाक्य है। यह दूसरा है।", 18, ["यह पहला वाक्य है।", "यह दूसरा है।"]],
  ])("%s", (_name, text, max, expected) => {
    expect(chunkText(text, max)).toEqual(expected);
  });

  it("never splits a surrogate pair or a grapheme", () => {
    expect(chunkText("👍👍👍👍", 3)).toEqual(["👍", "👍", "👍", "👍"]);
    expect(chunkText("e\u0301e\u0301e\u0301", 3)).toEqual(["e\u0301", "e\u0301", "e\u0301"]);
    // A grapheme longer than the limit is cut between code points, never inside one.
    for (const chunk of chunkText("👨‍👩‍👧👨‍👩‍👧", 5)) {
      expect(chunk.length).toBeLessThanOrEqual(5);
      expect(chunk).not.toMatch(/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
    }
  });

  it("rejects a limit that is not a positive integer", () => {
    expect(() => chunkText("abc", 0)).toThrow(RangeError);
    expect(() => chunkText("abc", 2.5)).toThrow(RangeError);
  });
});

describe("pause markers", () => {
  it.each([
    ["stay inside a chunk that fits", "Hello <#0.5#> world.", 100, [["Hello <#0.5#> world.", 0]]],
    [
      "become the cut (and silence after the chunk)",
      "Hello there. <#1.5#> General Kenobi.",
      15,
      [
        ["Hello there.", 1500],
        ["General Kenobi.", 0],
      ],
    ],
    [
      "are never split",
      "aaaa<#12.5#>bbbb",
      6,
      [
        ["aaaa", 12_500],
        ["bbbb", 0],
      ],
    ],
    ["at the very start or end are dropped", "<#1#> Hi there <#2#>", 50, [["Hi there", 0]]],
    ["merge when adjacent", "A <#1#> <#0.5#> B", 50, [["A <#1.5#> B", 0]]],
    [
      "are preferred as cut points like sentence ends",
      "one two <#2#> three four five six",
      25,
      [
        ["one two", 2000],
        ["three four five six", 0],
      ],
    ],
    [
      "never end up at a chunk edge even when a space cut is next to them",
      "aa bb <#1#> cc dd",
      8,
      [
        ["aa bb", 1000],
        ["cc dd", 0],
      ],
    ],
  ] as const)("%s", (_name, text, max, expected) => {
    expect(chunkTextWithPauses(text, max).map((c) => [c.text, c.pauseAfterMs])).toEqual(expected);
  });

  it("mergeAdjacentPauses sums and caps at 99.99 s", () => {
    expect(mergeAdjacentPauses("a<#1.25#><#2#>b")).toBe("a<#3.25#>b");
    expect(mergeAdjacentPauses("a <#60#>\n<#60#> b")).toBe("a <#99.99#> b");
    expect(mergeAdjacentPauses("a <#1#> b <#2#> c")).toBe("a <#1#> b <#2#> c");
  });

  it("stripPauseMarkers leaves the spoken text", () => {
    expect(stripPauseMarkers("Wait <#1#> for it<#0.5#>now")).toBe("Wait for it now");
  });
});

/** Deterministic PRNG (mulberry32) so a failing case can be reproduced from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  "the",
  "quick",
  "brown",
  "fox",
  "jumps",
  "over",
  "lazy",
  "dog",
  "Dr.",
  "3.14",
  "e.g.",
  "hello,",
  "world.",
  "what?",
  "no!",
  "wait…",
  "“quoted.”",
  "你好。",
  "世界！",
  "今天，",
  "天气很好",
  "😀",
  "👨‍👩‍👧",
  "supercalifragilisticexpialidocious",
  "x".repeat(70),
  ";",
  ":",
  "—",
  "(aside)",
  "。",
  "\n",
  "\n\n",
  "\t",
];

function randomText(random: () => number): { text: string; pauseMs: number } {
  const parts: string[] = [];
  let pauseMs = 0;
  const words = 1 + Math.floor(random() * 120);
  for (let i = 0; i < words; i++) {
    // Markers only between words, never first or last, never two in a row: all of them are interior.
    if (i > 0 && i < words - 1 && random() < 0.08 && !parts.at(-1)?.startsWith("<#")) {
      const seconds = (1 + Math.floor(random() * 300)) / 100;
      pauseMs += Math.round(seconds * 1000);
      parts.push(`<#${seconds}#>`);
      continue;
    }
    parts.push(PIECES[Math.floor(random() * PIECES.length)]!);
  }
  const sep = () => (random() < 0.15 ? "" : random() < 0.9 ? " " : "  ");
  // Spoken words at both ends, so every marker is interior and its pause must survive.
  return { text: `start ${parts.map((p) => p + sep()).join("")} end`, pauseMs };
}

const spoken = (s: string) => s.replace(MARKER, "").replace(/\s+/g, "");
const pausesIn = (s: string) =>
  [...s.matchAll(/<#(\d+(?:\.\d+)?)#>/g)].reduce((ms, m) => ms + Math.round(Number(m[1]) * 1000), 0);

describe("chunkText properties over random texts", () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1);
  it.each(seeds)("seed %i", (seed) => {
    const random = rng(seed);
    const { text, pauseMs } = randomText(random);
    for (const max of [4, 13, 40, 200, 5000]) {
      const chunks = chunkTextWithPauses(text, max);
      for (const { text: c } of chunks) {
        expect(c.length).toBeGreaterThan(0);
        expect(c.length).toBeLessThanOrEqual(max);
        expect(c).toBe(c.trim());
        expect(c).not.toMatch(/^<#[\d.]+#>|<#[\d.]+#>$/);
        // Every marker piece in a chunk is a whole marker.
        expect((c.match(/<#/g) ?? []).length).toBe((c.match(MARKER) ?? []).length);
        expect((c.match(/#>/g) ?? []).length).toBe((c.match(MARKER) ?? []).length);
        // No lone surrogate at a cut.
        expect(c).not.toMatch(/[\uD800-\uDBFF]$|^[\uDC00-\uDFFF]/);
      }
      // All spoken content, in order; no pause lost (kept inline or turned into a gap).
      expect(chunks.map((c) => spoken(c.text)).join("")).toBe(spoken(text));
      const kept = chunks.reduce((ms, c) => ms + pausesIn(c.text) + c.pauseAfterMs, 0);
      expect(kept).toBe(pauseMs);
      expect(chunks.at(-1)?.pauseAfterMs ?? 0).toBe(0);
    }
  });

  it("chunks are as large as the limit allows when the text is plain words", () => {
    const text = Array.from({ length: 500 }, (_, i) => `word${i}`).join(" ");
    const chunks = chunkText(text, 100);
    for (let i = 1; i < chunks.length; i++) {
      // Adding the next word would have overflowed.
      const nextWord = chunks[i]!.split(" ")[0]!;
      expect(chunks[i - 1]!.length + 1 + nextWord.length).toBeGreaterThan(100);
    }
  });
});

describe("normalizeText", () => {
  it.each([
    ["trims", "  hi  ", "hi"],
    ["CRLF and CR become LF", "a\r\nb\rc", "a\nb\nc"],
    ["strips control characters but keeps newlines", "a\u0000b\u0007c\u001bd\u007fe\nf", "abcde\nf"],
    ["collapses runs of spaces and tabs", "a \t  b\t\tc", "a b c"],
    ["keeps at most one blank line", "a\n\n\n\n b", "a\n\nb"],
    ["removes spaces around newlines", "a   \n   b", "a\nb"],
    ["leaves other text alone", "Héllo, 世界! <#1#> 😀", "Héllo, 世界! <#1#> 😀"],
  ])("%s", (_name, input, expected) => {
    expect(normalizeText(input)).toBe(expected);
  });
});

describe("splitSentences", () => {
  it.each([
    ["Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]],
    ["Line one\nLine two", ["Line one", "Line two"]],
    ["你好。世界！", ["你好。", "世界！"]],
    ["Dr. Who arrived. Then left.", ["Dr. Who arrived.", "Then left."]],
    ["Before <#1#> after.", ["Before", "after."]],
    ["No end", ["No end"]],
    ["", []],
    // A run of punctuation and closing quotes ends the sentence after all of it.
    ["Really?! Yes.", ["Really?!", "Yes."]],
    ['"Are we late?" she asked.', ['"Are we late?"', "she asked."]],
    ["Wait!!! Now.", ["Wait!!!", "Now."]],
    ["「你好。」他说。", ["「你好。」", "他说。"]],
    ["真的？！好。", ["真的？！", "好。"]],
  ])("%j", (text, expected) => {
    expect(splitSentences(text)).toEqual(expected);
  });
});
