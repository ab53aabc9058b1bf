import { PAUSE_MARKER, pauseSeconds } from "../audio/tone.ts";

/**
 * Sentence cues in MiniMax's subtitle shape: ≤ 50 characters each, times in ms,
 * character offsets into the submitted text. Times follow the same model as the audio length
 * (per spoken character, whitespace free, pauses as silence), so the last cue ends where the audio does.
 */

export interface SubtitleCue {
  text: string;
  pronounce_text: string;
  time_begin: number;
  time_end: number;
  text_begin: number;
  text_end: number;
  pronounce_text_begin: number;
  pronounce_text_end: number;
}

const MAX_CUE_CHARS = 50;

interface Span {
  begin: number;
  end: number;
}

/** Sentences split at terminal punctuation and newlines, then cut at a space to stay ≤ 50 characters. */
function sentenceSpans(text: string): Span[] {
  const spans: Span[] = [];
  const pattern = /[^.!?。！？\n]+[.!?。！？]*/g;
  for (const match of text.matchAll(pattern)) {
    let begin = match.index;
    const end = begin + match[0].length;
    while (begin < end) {
      while (begin < end && /\s/.test(text[begin]!)) begin++;
      if (begin >= end) break;
      let stop = Math.min(end, begin + MAX_CUE_CHARS);
      if (stop < end) {
        const space = text.lastIndexOf(" ", stop);
        if (space > begin) stop = space;
      }
      let trimmed = stop;
      while (trimmed > begin && /\s/.test(text[trimmed - 1]!)) trimmed--;
      spans.push({ begin, end: trimmed });
      begin = stop;
    }
  }
  return spans;
}

export function buildCues(text: string, msPerChar: number, durationMs: number): SubtitleCue[] {
  // Time at each character offset: spoken characters advance the clock, pause markers jump it.
  const clock = new Float64Array(text.length + 1);
  const pauses = new Map<number, { length: number; ms: number }>();
  for (const m of text.matchAll(PAUSE_MARKER)) {
    pauses.set(m.index, { length: m[0].length, ms: (pauseSeconds(m[1]!) ?? 0) * 1000 });
  }
  const masked = text.replace(PAUSE_MARKER, (m) => " ".repeat(m.length));
  let t = 0;
  for (let i = 0; i < text.length; ) {
    const pause = pauses.get(i);
    if (pause) {
      t += pause.ms;
      for (let j = 0; j < pause.length; j++) clock[++i] = t;
      continue;
    }
    if (!/\s/.test(text[i]!)) t += msPerChar;
    clock[++i] = t;
  }
  const scale = t > 0 ? durationMs / t : 1;
  const spans = sentenceSpans(masked);
  return spans.map((s, index) => {
    const cueText = text.slice(s.begin, s.end);
    const last = index === spans.length - 1;
    return {
      text: cueText,
      pronounce_text: cueText,
      time_begin: clock[s.begin]! * scale,
      time_end: last ? durationMs : clock[s.end]! * scale,
      text_begin: s.begin,
      text_end: s.end,
      pronounce_text_begin: s.begin,
      pronounce_text_end: s.end,
    };
  });
}
