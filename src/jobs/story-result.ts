import { audioDurationMs } from "../audio/duration.ts";
import { AudioFormatSchema } from "../audio/format.ts";
import { joinAudio } from "../audio/join.ts";
import type { SubtitleSegment } from "../speech/types.ts";
import { offsetSubtitles, subtitlesFromChunks } from "../text/subtitles.ts";
import type { AudioPiece } from "./result-files.ts";

/**
 * A finished multi-voice story as one piece of audio: each run's audio (one speaker's turn, in their
 * voice) joined in script order, and one subtitle track whose cues are shifted to where each run starts
 * in the joined file and name its speaker (`Alice: Hello!`).
 */

export interface StoryRunAudio {
  speaker: string;
  /** The run's text, for cues when the provider gave none. */
  text: string;
  /** The run's audio files in order (an async result may hold several). */
  clips: Buffer[];
  format: string;
  /** Cues for the run's own audio, starting at 0. */
  subtitles: SubtitleSegment[] | undefined;
  sampleRate?: number;
  channels?: 1 | 2;
}

export interface JoinedStory extends AudioPiece {
  durationMs: number;
  subtitles: SubtitleSegment[];
  /** Where each run sits in the joined audio (ms), in script order. */
  runs: { speaker: string; startMs: number; endMs: number }[];
}

export function joinStory(runs: readonly StoryRunAudio[]): JoinedStory {
  const first = runs[0];
  if (!first) throw new Error("a story has at least one run");
  const format = AudioFormatSchema.parse(first.format);
  const shape = { sampleRate: first.sampleRate ?? 32000, channels: first.channels ?? 1 };
  const audios: Buffer[] = [];
  const subtitles: SubtitleSegment[] = [];
  const placed: JoinedStory["runs"] = [];
  let offset = 0;
  for (const run of runs) {
    if (run.format !== format) throw new Error(`story runs differ in format: ${run.format} and ${format}`);
    const audio = joinAudio(run.clips, format);
    // The joined file's own clock: each run is measured from the frames that go into it.
    const durationMs = audioDurationMs(audio, format, shape) ?? 0;
    const own =
      run.subtitles && run.subtitles.length > 0
        ? run.subtitles
        : subtitlesFromChunks([{ text: run.text, durationMs }]);
    for (const cue of offsetSubtitles(own, offset)) {
      subtitles.push({ ...cue, text: `${run.speaker}: ${cue.text}` });
    }
    placed.push({ speaker: run.speaker, startMs: offset, endMs: offset + durationMs });
    audios.push(audio);
    offset += durationMs;
  }
  return {
    audio: joinAudio(audios, format),
    format,
    subtitles,
    durationMs: offset,
    runs: placed,
    sampleRate: shape.sampleRate,
    channels: shape.channels,
  };
}
