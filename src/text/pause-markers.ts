/**
 * Checking MiniMax's pause markers `<#x#>` (x seconds of silence) before a text is sent: MiniMax
 * rejects a whole request over one bad marker, and for a long narration job that costs a slot in its
 * queue, so we name every bad marker up front. Markers are only checked, never removed or rewritten.
 */

export type PauseMarkerCheck = { ok: true } | { ok: false; problems: string[] };

const MIN_SECONDS = 0.01;
const MAX_SECONDS = 99.99;
/**
 * Anything shaped like a marker, including malformed ones (`<#abc#>`, `<#1.234#>`): the stricter
 * pattern of chunk-text's `findPauseMarkers` would let those through silently to be read aloud.
 */
const MARKER_LIKE = /<#([^#<>\n]*)#>/g;
const NUMBER = /^-?\d+(?:\.(\d+))?$/;

export function validatePauseMarkers(text: string): PauseMarkerCheck {
  const problems: string[] = [];
  const speechStart = text.length - text.trimStart().length;
  const speechEnd = text.trimEnd().length;
  let previousEnd = -1;
  let line = 1;
  let lineCountedTo = 0;
  for (const m of text.matchAll(MARKER_LIKE)) {
    const start = m.index;
    const end = start + m[0].length;
    line += countNewlines(text, lineCountedTo, start);
    lineCountedTo = start;
    const where = `\`${m[0]}\` on line ${line}`;
    const valueProblem = describeValue(m[1]!);
    if (valueProblem) problems.push(`${where} ${valueProblem}`);
    if (start <= speechStart) {
      problems.push(`${where} is at the start of the text; a pause must sit between words.`);
    } else if (previousEnd >= 0 && text.slice(previousEnd, start).trim() === "") {
      // Only whitespace between two markers still counts as "in a row" for MiniMax.
      problems.push(`${where} comes right after another pause; merge them into one.`);
    }
    if (end >= speechEnd) {
      problems.push(`${where} is at the end of the text; a pause must sit between words.`);
    }
    previousEnd = end;
  }
  return problems.length === 0 ? { ok: true } : { ok: false, problems };
}

/** Why the number inside a marker is refused, or undefined when it is fine. */
function describeValue(raw: string): string | undefined {
  const m = NUMBER.exec(raw);
  if (!m) return "is not a number of seconds (write it like `<#1.5#>`).";
  if ((m[1]?.length ?? 0) > 2) return "has more than 2 decimals (write it like `<#1.25#>`).";
  const seconds = Number(raw);
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    return `is out of range: a pause must be ${MIN_SECONDS}–${MAX_SECONDS} seconds.`;
  }
  return undefined;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
