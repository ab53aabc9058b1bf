import { z } from "zod";
import type { SubtitleSegment } from "../speech/types.ts";
import { chunkText, findPauseMarkers, splitSentences } from "./chunk-text.ts";

/** MiniMax's sentence-level segments are at most 50 characters; our own cues follow suit. */
export const MAX_CUE_CHARS = 50;

// Times have been seen as floats; a numeric string is accepted too since the file is not our format.
const Millis = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^-?\d+(\.\d+)?$/)
      .transform(Number),
  ])
  .pipe(z.number());

const TitleItemSchema = z.object({
  text: z.string(),
  time_begin: Millis,
  time_end: Millis,
  text_begin: z.number().optional(),
  text_end: z.number().optional(),
});

/** Parses a MiniMax `.titles` file or sync `subtitle_file` (a flat array of sentence items). */
export function parseTitles(json: unknown): SubtitleSegment[] {
  const parsed = z.array(TitleItemSchema).safeParse(json);
  if (!parsed.success) throw new Error(`invalid subtitle file: ${z.prettifyError(parsed.error)}`);
  return parsed.data.map(({ text, time_begin, time_end, text_begin, text_end }) => {
    const seg: SubtitleSegment = { text, time_begin, time_end };
    if (text_begin !== undefined) seg.text_begin = text_begin;
    if (text_end !== undefined) seg.text_end = text_end;
    return seg;
  });
}

function srtTime(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor(total / 60_000) % 60;
  const s = Math.floor(total / 1000) % 60;
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)},${pad(total % 1000, 3)}`;
}

/**
 * A cue's text as SubRip (and WebVTT, which SRT is converted to) can carry it: `\n` line endings, lines
 * trimmed, blank lines removed (a blank line ends the cue in every parser), and every `-->` replaced by
 * `→`. The arrow is what makes a line a timing line, in ffmpeg's SRT reader, in other SRT parsers and
 * in WebVTT (where it is not allowed in cue text at all), so without it no line of text can be taken
 * for the start of another cue, e.g. a text line `00:00:05,000 --> 00:00:06,000`.
 */
function cueText(text: string): string {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((line) => line.replaceAll("-->", "→").trim())
    .filter((line) => line !== "")
    .join("\n");
}

interface Cue {
  begin: number;
  end: number;
  text: string;
}

/**
 * The cues an SRT file shows, in order and never overlapping: times rounded to milliseconds (negative
 * ones to 0), cues without text or without finite times left out, cues sorted by start, cues starting
 * at the same millisecond merged into one (their lines in order, the later end), and each cue's end
 * clamped to the next cue's start. Every cue ends at least 1 ms after it begins.
 */
function srtCues(segments: readonly SubtitleSegment[]): Cue[] {
  const cues: Cue[] = [];
  for (const seg of segments) {
    const text = cueText(seg.text);
    if (text === "" || !Number.isFinite(seg.time_begin) || !Number.isFinite(seg.time_end)) continue;
    const begin = Math.max(0, Math.round(seg.time_begin));
    cues.push({ begin, end: Math.max(begin + 1, Math.round(seg.time_end)), text });
  }
  cues.sort((a, b) => a.begin - b.begin); // stable: cues that start together keep their order

  const merged: Cue[] = [];
  for (const cue of cues) {
    const last = merged.at(-1);
    if (last && last.begin === cue.begin) {
      last.text += `\n${cue.text}`;
      last.end = Math.max(last.end, cue.end);
    } else {
      merged.push({ ...cue });
    }
  }
  // Starts are now strictly increasing, so clamping keeps every end after its begin.
  for (let i = 0; i + 1 < merged.length; i++) {
    merged[i]!.end = Math.min(merged[i]!.end, merged[i + 1]!.begin);
  }
  return merged;
}

/**
 * SubRip text with `\n` line endings, numbered 1, 2, 3… with no holes. Cues come out sorted and never
 * overlapping (see `srtCues`; MiniMax's sentence times overlap by fractions of a millisecond, which
 * rounding would turn into 1 ms overlaps), and their text cannot be mistaken for timing lines (see
 * `cueText`), so the file converts to valid WebVTT as well.
 */
export function toSrt(segments: readonly SubtitleSegment[]): string {
  return srtCues(segments)
    .map((cue, i) => `${i + 1}\n${srtTime(cue.begin)} --> ${srtTime(cue.end)}\n${cue.text}\n`)
    .join("\n");
}

export function offsetSubtitles(segments: readonly SubtitleSegment[], offsetMs: number): SubtitleSegment[] {
  return segments.map((seg) => ({
    ...seg,
    time_begin: seg.time_begin + offsetMs,
    time_end: seg.time_end + offsetMs,
  }));
}

/** Sentence-sized cues: one per sentence, long sentences split at clauses or spaces. */
function cueTexts(text: string): string[] {
  return splitSentences(text).flatMap((s) => (s.length <= MAX_CUE_CHARS ? [s] : chunkText(s, MAX_CUE_CHARS)));
}

const spokenWeight = (text: string): number => Math.max(1, text.replace(/\s/g, "").length);

/**
 * Cues for audio made of consecutive chunks when the provider gave no timings: each chunk's cues fill
 * its measured duration in proportion to their characters, and pause markers inside a chunk become gaps
 * of their stated length (scaled down if the chunk is shorter than its pauses, which only a wrong
 * duration can cause). A chunk with empty text just advances the clock (a pause between chunks).
 */
export function subtitlesFromChunks(
  chunks: readonly { text: string; durationMs: number }[],
): SubtitleSegment[] {
  const out: SubtitleSegment[] = [];
  let chunkStart = 0;
  for (const chunk of chunks) {
    const duration = Math.max(0, chunk.durationMs);
    const markers = findPauseMarkers(chunk.text);
    const pieces: ({ cues: string[] } | { pauseMs: number })[] = [];
    let pos = 0;
    for (const m of markers) {
      pieces.push({ cues: cueTexts(chunk.text.slice(pos, m.start)) }, { pauseMs: m.ms });
      pos = m.end;
    }
    pieces.push({ cues: cueTexts(chunk.text.slice(pos)) });

    const totalPause = markers.reduce((sum, m) => sum + m.ms, 0);
    const speechMs = Math.max(duration - totalPause, duration / 4);
    const pauseScale = totalPause > 0 ? (duration - speechMs) / totalPause : 0;
    const totalWeight = pieces.reduce(
      (sum, p) => sum + ("cues" in p ? p.cues.reduce((w, c) => w + spokenWeight(c), 0) : 0),
      0,
    );

    let t = chunkStart;
    for (const piece of pieces) {
      if ("pauseMs" in piece) {
        t += piece.pauseMs * pauseScale;
        continue;
      }
      for (const text of piece.cues) {
        const length = totalWeight > 0 ? (speechMs * spokenWeight(text)) / totalWeight : 0;
        out.push({ text, time_begin: Math.round(t), time_end: Math.round(t + length) });
        t += length;
      }
    }
    chunkStart += duration;
  }
  return out;
}
