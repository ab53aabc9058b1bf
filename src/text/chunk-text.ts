/**
 * Splitting long text into request-sized chunks that still sound natural when synthesised one after
 * another: prefer sentence ends, then clause punctuation, then spaces, and cut inside a word only when
 * nothing else fits. MiniMax's pause markers `<#x#>` are atomic and must sit between
 * speakable text, so a marker is never left at the edge of a chunk.
 */

/** A chunk and the silence a pause marker asked for right after it (the marker itself was a cut point). */
export interface TextChunk {
  text: string;
  pauseAfterMs: number;
}

const MAX_PAUSE_SECONDS = 99.99;
const PAUSE_MARKER = /<#(\d+(?:\.\d+)?)#>/g;
const PAUSE_RUN = /<#\d+(?:\.\d+)?#>(?:\s*<#\d+(?:\.\d+)?#>)+/g;

// Boundary ranks: lower is a better place to cut.
const SENTENCE = 0;
const CLAUSE = 1;
const SPACE = 2;
const HARD = 3;

const SENTENCE_PUNCT = new Set([".", "!", "?", "…", "‼", "⁇", "。", "！", "？", "｡", "؟", "۔", "।", "॥"]);
/** Sentence punctuation that ends a sentence even with no space after it (CJK text has none). */
const SENTENCE_PUNCT_NO_SPACE = new Set(["!", "?", "…", "‼", "⁇", "。", "！", "？", "｡", "؟", "।", "॥"]);
const CLAUSE_PUNCT = new Set([",", ";", ":", "，", "；", "、", "：", "،", "؛"]);
const CLAUSE_PUNCT_NO_SPACE = new Set([",", ";", "，", "；", "、", "：", "،", "؛"]);
const CLOSERS = new Set(['"', "'", ")", "]", "}", "”", "’", "»", "」", "』", "】", "》", "〉", "）"]);
/** A period after these is not a sentence end ("Dr. Smith"), so it is only as good as a space. */
export const ABBREVIATIONS: ReadonlySet<string> = new Set([
  "mr",
  "mrs",
  "ms",
  "dr",
  "prof",
  "sr",
  "jr",
  "st",
  "vs",
  "e.g",
  "i.e",
  "fig",
  "no",
]);

interface Marker {
  start: number;
  end: number;
  ms: number;
}

interface Cut {
  /** The chunk before the cut ends here (exclusive); never after whitespace or a marker. */
  end: number;
  /** The next chunk starts here; never at whitespace or a marker. */
  next: number;
  rank: number;
  pauseMs: number;
}

/** Whitespace where a cut may fall: no-break spaces ("10\u00a0km") are meant to hold words together. */
const isSpace = (ch: string | undefined): boolean => ch !== undefined && /[^\S\u00A0\u2007\u202F]/.test(ch);
const isAsciiAlnum = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9]/.test(ch);

function formatSeconds(seconds: number): string {
  return String(Number(Math.min(MAX_PAUSE_SECONDS, seconds).toFixed(2)));
}

/** `<#1#> <#2#>` is rejected by MiniMax (two markers in a row); one marker with the summed pause is not. */
export function mergeAdjacentPauses(text: string): string {
  return text.replace(PAUSE_RUN, (run) => {
    let seconds = 0;
    for (const m of run.matchAll(PAUSE_MARKER)) seconds += Number(m[1]);
    return `<#${formatSeconds(seconds)}#>`;
  });
}

/** Removes pause markers, e.g. for subtitles and character counts of what is actually said. */
export function stripPauseMarkers(text: string): string {
  return text.replace(PAUSE_MARKER, " ").replace(/[^\S\n]{2,}/g, " ");
}

/** The pause markers of `text` with their position and length in ms. */
export function findPauseMarkers(text: string): Marker[] {
  return [...text.matchAll(PAUSE_MARKER)].map((m) => ({
    start: m.index,
    end: m.index + m[0].length,
    ms: Math.round(Number(m[1]) * 1000),
  }));
}

/**
 * Cleans user text before synthesis: CRLF → LF, ASCII control characters other than tab and newline
 * removed (MiniMax rejects texts with more than 10% of them), runs of spaces collapsed, at most one
 * blank line in a row, trimmed.
 */
export function normalizeText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .replace(/[\x00-\x08\x0B-\x1F\x7F]/g, "")
    .replace(/[^\S\n]+/g, " ")
    .replace(/ ?\n ?/g, "\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

interface Analysis {
  text: string;
  /** First and one-past-last speakable character: leading/trailing whitespace and markers excluded. */
  start: number;
  end: number;
  /** Cuts of rank SENTENCE…SPACE, ordered by `end`. */
  cuts: Cut[];
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text[i])) i++;
  return i;
}

function trimSpaceBack(text: string, i: number): number {
  while (i > 0 && isSpace(text[i - 1])) i--;
  return i;
}

function isAbbreviation(text: string, dot: number): boolean {
  let i = dot;
  while (i > 0 && !isSpace(text[i - 1])) i--;
  const word = text.slice(i, dot).replace(/^[("'“‘]+/, "");
  return ABBREVIATIONS.has(word.toLowerCase()) || /^[A-Z]$/.test(word);
}

/** Rank of a cut right after `text[p - 1]` (a non-space character), or undefined if it is no boundary. */
function rankAt(text: string, p: number, next: number): number | undefined {
  let j = p - 1;
  while (j > 0 && CLOSERS.has(text[j]!)) j--;
  const punct = text[j]!;
  const spaced = p < text.length && isSpace(text[p]);
  if (spaced) {
    if (text.slice(p, next).includes("\n")) return SENTENCE;
    if (SENTENCE_PUNCT.has(punct)) return punct === "." && isAbbreviation(text, j) ? SPACE : SENTENCE;
    if (CLAUSE_PUNCT.has(punct)) return CLAUSE;
    return SPACE;
  }
  // No space follows: only unambiguous punctuation counts, and not before ASCII letters or digits
  // ("3.14", "1,000", "a?b" stay whole).
  if (isAsciiAlnum(text[p])) return undefined;
  // The punctuation run goes on ("?!", "。」"): the sentence ends after all of it, not inside it.
  const after = text[p]!;
  if (SENTENCE_PUNCT.has(after) || SENTENCE_PUNCT_NO_SPACE.has(after) || CLOSERS.has(after)) return undefined;
  if (SENTENCE_PUNCT_NO_SPACE.has(punct)) return SENTENCE;
  if (CLAUSE_PUNCT_NO_SPACE.has(punct)) return CLAUSE;
  return undefined;
}

function analyse(input: string): Analysis {
  const text = mergeAdjacentPauses(input);
  const markers = findPauseMarkers(text);
  const markerAt = new Map(markers.map((m) => [m.start, m]));
  const markerEndingAt = new Map(markers.map((m) => [m.end, m]));

  let start = skipSpace(text, 0);
  for (let m = markerAt.get(start); m; m = markerAt.get(start)) start = skipSpace(text, m.end);
  let end = trimSpaceBack(text, text.length);
  for (let m = markerEndingAt.get(end); m; m = markerEndingAt.get(end)) end = trimSpaceBack(text, m.start);

  const cuts: Cut[] = [];
  let marker = 0;
  for (let p = start + 1; p < end; p++) {
    while (marker < markers.length && markers[marker]!.end <= p) marker++;
    const m = markers[marker];
    if (m && p === m.start) {
      // The marker itself is the cut: it becomes silence between the chunks instead of text at an edge.
      cuts.push({ end: trimSpaceBack(text, p), next: skipSpace(text, m.end), rank: SENTENCE, pauseMs: m.ms });
      p = m.end;
      continue;
    }
    if (isSpace(text[p - 1])) continue;
    const next = skipSpace(text, p);
    if (markerAt.has(next)) continue; // covered by the marker's own cut
    const rank = rankAt(text, p, next);
    if (rank !== undefined) cuts.push({ end: p, next, rank, pauseMs: 0 });
  }
  return { text, start, end, cuts };
}

/** The last grapheme boundary in (s, s + max], so a hard cut never splits an emoji or accent. */
function hardCut(text: string, s: number, max: number): Cut {
  const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  let best = 0;
  for (const seg of segmenter.segment(text.slice(s, s + max + 1))) {
    if (seg.index > max) break;
    best = seg.index;
  }
  if (best === 0) {
    // One grapheme longer than the limit: fall back to a code point boundary.
    best = max;
    const code = text.charCodeAt(s + best - 1);
    if (best > 1 && code >= 0xd800 && code <= 0xdbff) best--;
  }
  return { end: s + best, next: s + best, rank: HARD, pauseMs: 0 };
}

/**
 * Chunks of at most `maxChars` UTF-16 units (never more characters than that, however they are
 * counted), each starting and ending with speakable text. Adjacent pause markers are merged first; a
 * marker where a cut falls is removed from the text and returned as `pauseAfterMs` of the chunk before
 * it, markers at the very start or end are dropped. Everything else is kept in order: joining the chunks
 * gives back the text except for whitespace at the cuts.
 */
export function chunkTextWithPauses(text: string, maxChars: number): TextChunk[] {
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError("maxChars must be a positive integer");
  const a = analyse(text);
  const chunks: TextChunk[] = [];
  let s = a.start;
  let first = 0;
  while (s < a.end) {
    if (a.end - s <= maxChars) {
      chunks.push({ text: a.text.slice(s, a.end), pauseAfterMs: 0 });
      break;
    }
    while (first < a.cuts.length && a.cuts[first]!.end <= s) first++;
    let best: Cut | undefined;
    for (let i = first; i < a.cuts.length && a.cuts[i]!.end - s <= maxChars; i++) {
      const c = a.cuts[i]!;
      if (!best || c.rank <= best.rank) best = c;
    }
    const cut = best ?? hardCut(a.text, s, maxChars);
    chunks.push({ text: a.text.slice(s, cut.end), pauseAfterMs: cut.pauseMs });
    s = cut.next;
  }
  return chunks;
}

export function chunkText(text: string, maxChars: number): string[] {
  return chunkTextWithPauses(text, maxChars).map((c) => c.text);
}

/** Sentences (and lines) of `text`, trimmed, in order. Pause markers between sentences are dropped. */
export function splitSentences(text: string): string[] {
  const a = analyse(text);
  const out: string[] = [];
  let s = a.start;
  for (const c of a.cuts) {
    if (c.rank !== SENTENCE || c.end <= s) continue;
    out.push(a.text.slice(s, c.end));
    s = c.next;
  }
  if (s < a.end) out.push(a.text.slice(s, a.end));
  return out;
}
