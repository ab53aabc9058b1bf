import type { AudioFormat } from "./format.ts";
import { joinMp3 } from "./mp3.ts";
import { joinWav } from "./wav.ts";

/**
 * Clips of one format (and one sample rate and channel count) joined into one file without
 * re-encoding: MP3 frame by frame, WAV and raw PCM sample by sample. FLAC cannot be joined this way
 * (its stream header states the total length), so callers ask the provider for mp3 when they join.
 */
export function joinAudio(clips: readonly Buffer[], format: AudioFormat): Buffer {
  if (clips.length === 0) throw new Error("nothing to join");
  if (clips.length === 1) return clips[0]!;
  switch (format) {
    case "mp3":
      return joinMp3(clips);
    case "wav":
      return joinWav([...clips]);
    case "pcm":
      return Buffer.concat(clips);
    case "flac":
      throw new Error("FLAC clips cannot be joined without re-encoding; ask for mp3");
  }
}
