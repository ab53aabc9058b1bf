import { ABBREVIATIONS, mergeAdjacentPauses, splitSentences } from "../src/text/chunk-text.ts";
import { fmt } from "./stats.ts";

/**
 * Sentence splitting: the splitter in src/text/chunk-text.ts against `Intl.Segmenter` with
 * `granularity: "sentence"` (ICU's rules), on the same mixed-language text in the same run, rounds
 * interleaved so machine noise hits both alike. ICU alone breaks after "Dr." and not after "…", and
 * knows nothing of pause markers, so the candidate gets the fix-ups it needs to pass the splitter's
 * tests: markers cut first, segments ending in an abbreviation joined to the next, "…" ending a
 * sentence. Its correctness on those cases is printed with the figures. It stays a candidate: ICU
 * ends no sentence before a lower-case word, which chat often is (see README, "Dependencies").
 * `node bench/sentences.ts` runs this one alone.
 */

export interface SentencesResult {
  chars: number;
  current: { opsPerS: number };
  intl: { opsPerS: number };
  /** Cases from the splitter's tests (and a few more) each splitter gets right. */
  correct: {
    current: number;
    intl: number;
    total: number;
    currentFailures: string[];
    intlFailures: string[];
  };
  /** Of the corpus's paragraphs, how many both split the same way. */
  agreement: { same: number; total: number };
}

const SENTENCES = new Intl.Segmenter("en", { granularity: "sentence" });
const PAUSE_MARKER = /<#\d+(?:\.\d+)?#>/;

function endsInAbbreviation(sentence: string): boolean {
  if (!sentence.endsWith(".")) return false;
  const word = sentence.slice(sentence.search(/\S+$/), -1).replace(/^[("'“‘]+/, "");
  return ABBREVIATIONS.has(word.toLowerCase()) || /^[A-Z]$/.test(word);
}

/** The candidate: Intl.Segmenter plus the fix-ups above. */
export function splitSentencesIntl(text: string): string[] {
  const out: string[] = [];
  for (const part of mergeAdjacentPauses(text).split(PAUSE_MARKER)) {
    let pending = "";
    for (const { segment } of SENTENCES.segment(part)) {
      // ICU does not end a sentence at "…"; the current splitter does when a space follows.
      for (const piece of segment.split(/(?<=…)(?=\s)/)) {
        pending += piece;
        const sentence = pending.trim();
        if (sentence === "") {
          pending = "";
          continue;
        }
        // "Dr. " is no sentence end unless a line ends there.
        if (endsInAbbreviation(sentence) && !/\n\s*$/.test(pending)) continue;
        out.push(sentence);
        pending = "";
      }
    }
    if (pending.trim() !== "") out.push(pending.trim());
  }
  return out;
}

/** The splitter's own test cases (test/text/chunk-text.test.ts) and a few more of its behaviours. */
const CASES: [text: string, expected: string[]][] = [
  ["Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]],
  ["Line one\nLine two", ["Line one", "Line two"]],
  ["你好。世界！", ["你好。", "世界！"]],
  ["Dr. Who arrived. Then left.", ["Dr. Who arrived.", "Then left."]],
  ["Before <#1#> after.", ["Before", "after."]],
  ["No end", ["No end"]],
  ["", []],
  ["Really?! Yes… Sure.", ["Really?!", "Yes…", "Sure."]],
  ['He said "stop." Then left.', ['He said "stop."', "Then left."]],
  ["Pi is 3.14159 and e is 2.71828.", ["Pi is 3.14159 and e is 2.71828."]],
  ["First part\n\nSecond part", ["First part", "Second part"]],
  ["你好世界。今天天气很好！我们去公园吧？", ["你好世界。", "今天天气很好！", "我们去公园吧？"]],
  ["今日は晴れです。明日は雨でしょう。", ["今日は晴れです。", "明日は雨でしょう。"]],
  ["यह पहला वाक्य है। यह दूसरा है।", ["यह पहला वाक्य है।", "यह दूसरा है।"]],
  [
    "Mr. Smith met Mrs. Jones at St. Paul's. A. B. Clark wrote it.",
    ["Mr. Smith met Mrs. Jones at St. Paul's.", "A. B. Clark wrote it."],
  ],
  ["See fig. 3 for e.g. the curve. Then stop.", ["See fig. 3 for e.g. the curve.", "Then stop."]],
  ["Wait <#0.5#><#1#> for it. Now!", ["Wait", "for it.", "Now!"]],
  // Chat is often typed in lower case; ICU ends a sentence only before a capital.
  ["i went home. then i slept.", ["i went home.", "then i slept."]],
  ["ok. so what now? idk. maybe later", ["ok.", "so what now?", "idk.", "maybe later"]],
];

const PARAGRAPHS = [
  'Dr. Smith arrived at 3.30 p.m. sharp. "Are we late?" she asked. Nobody answered… The meeting had started.',
  "The results (see fig. 2) were clear: revenue grew 4.5% in Q3. Costs fell! Why? Nobody knows.",
  "Once upon a time <#1.5#> there was a bot. It read stories aloud. Children loved it; parents less so.",
  "Mr. and Mrs. Jones live on Baker St. near the park. Their dog, Rex, barks at 6 a.m. every day.",
  "你好世界。今天天气很好！我们去公园吧？好的，我们走吧。",
  "今日は晴れです。明日は雨でしょう。傘を持って行きましょう。",
  "यह पहला वाक्य है। यह दूसरा है। और यह तीसरा।",
  "Chapter one\nIt was a bright cold day in April, and the clocks were striking thirteen.\n\nChapter two",
  "J. R. R. Tolkien wrote it. e.g. The Hobbit, i.e. a children's book. No. 1 on the list!",
  "Wait… what? Really?! Yes. <#2#> Fine, then.",
];

/** About 16,000 characters of the paragraphs above, in a fixed shuffled order. */
function corpus(): string {
  const parts: string[] = [];
  let seed = 7;
  while (parts.join(" ").length < 16_000) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    parts.push(PARAGRAPHS[seed % PARAGRAPHS.length]!);
  }
  return parts.join(" ");
}

const same = (a: string[], b: string[]) => a.length === b.length && a.every((s, i) => s === b[i]);

function opsPerSecond(fn: (text: string) => string[], text: string, ms: number): number {
  let ops = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    sink += fn(text).length;
    ops++;
    now = performance.now();
  }
  if (sink === 0) throw new Error("the splitter found no sentences");
  return ops / ((now - start) / 1000);
}

export async function benchSentences(rounds = 5, msPerRound = 300): Promise<SentencesResult> {
  const text = corpus();
  const failures = (fn: (text: string) => string[]) =>
    CASES.filter(([t, e]) => !same(fn(t), e)).map(([t]) => t);
  const currentFailures = failures(splitSentences);
  const intlFailures = failures(splitSentencesIntl);
  const correct = {
    current: CASES.length - currentFailures.length,
    intl: CASES.length - intlFailures.length,
    total: CASES.length,
    currentFailures,
    intlFailures,
  };
  const agreement = {
    same: PARAGRAPHS.filter((p) => same(splitSentences(p), splitSentencesIntl(p))).length,
    total: PARAGRAPHS.length,
  };
  // Warm both up, then alternate rounds.
  opsPerSecond(splitSentences, text, 100);
  opsPerSecond(splitSentencesIntl, text, 100);
  const current: number[] = [];
  const intl: number[] = [];
  for (let i = 0; i < rounds; i++) {
    current.push(opsPerSecond(splitSentences, text, msPerRound));
    intl.push(opsPerSecond(splitSentencesIntl, text, msPerRound));
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  return {
    chars: text.length,
    current: { opsPerS: median(current) },
    intl: { opsPerS: median(intl) },
    correct,
    agreement,
  };
}

export function printSentences(r: SentencesResult): void {
  const kChars = (ops: number) => fmt((ops * r.chars) / 1e6, 1);
  console.log(
    `Sentence splitting (${r.chars.toLocaleString("en-US")} characters: English, Chinese, Japanese, Hindi, pause markers)`,
  );
  console.log(
    `  splitSentences (current)     : ${fmt(r.current.opsPerS, 0)} ops/s (${kChars(r.current.opsPerS)} M chars/s), ` +
      `${r.correct.current}/${r.correct.total} cases right`,
  );
  console.log(
    `  Intl.Segmenter + fix-ups     : ${fmt(r.intl.opsPerS, 0)} ops/s (${kChars(r.intl.opsPerS)} M chars/s), ` +
      `${r.correct.intl}/${r.correct.total} cases right; ${fmt(r.intl.opsPerS / r.current.opsPerS, 3)}× the current splitter`,
  );
  console.log(`  same split on ${r.agreement.same} of ${r.agreement.total} sample paragraphs`);
  for (const text of r.correct.currentFailures)
    console.log(`  the current splitter gets wrong: ${JSON.stringify(text)}`);
  for (const text of r.correct.intlFailures)
    console.log(`  Intl.Segmenter gets wrong: ${JSON.stringify(text)}`);
}

if (import.meta.main) printSentences(await benchSentences());
