import { splitMp3 } from "../audio/mp3.ts";
import { parseWav, pcmToWav } from "../audio/wav.ts";
import { BITRATES } from "../speech/models.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * Making audio fit Discord's upload limits: pick an mp3 bitrate up front from the expected length,
 * and split whatever is still too large into numbered, individually playable parts. Splitting never
 * re-encodes: the parts hold exactly the audio frames (or samples) the provider served. An mp3 is cut
 * where a part can play without the bit reservoir of the part before, and part one's Xing/Info frame
 * is rewritten for part one, so players show each part's own duration (see `splitMp3`).
 */

type Bitrate = (typeof BITRATES)[number];

export interface AudioFile {
  name: string;
  data: Buffer;
  contentType: string;
}

export const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  ogg: "audio/ogg",
  pcm: "application/octet-stream",
};

/**
 * A generous speaking rate (about 11 characters a second at speed 1): overestimating only costs a
 * lower bitrate, underestimating costs a split.
 */
const MS_PER_CHAR = 90;
/** Multipart framing and the JSON payload need a little room beside the file itself. */
const HEADROOM = 0.95;

/** The highest standard bitrate at or below `requested` whose expected size fits `limitBytes`. */
export function chooseMp3Bitrate(input: {
  chars: number;
  speed: number | undefined;
  requested: Bitrate | undefined;
  limitBytes: number;
}): Bitrate {
  const requested = input.requested ?? 128_000;
  const expectedSeconds = (input.chars * MS_PER_CHAR) / 1000 / (input.speed ?? 1);
  const candidates: Bitrate[] = [...BITRATES].filter((b) => b <= requested).sort((a, b) => b - a);
  for (const bitrate of candidates) {
    if ((expectedSeconds * bitrate) / 8 <= input.limitBytes * HEADROOM) return bitrate;
  }
  return candidates.at(-1) ?? requested;
}

export function splitToFit(audio: Buffer, format: string, limitBytes: number, baseName: string): AudioFile[] {
  const contentType = CONTENT_TYPES[format] ?? "application/octet-stream";
  const max = Math.floor(limitBytes * HEADROOM);
  if (audio.length <= max) return [{ name: `${baseName}.${format}`, data: audio, contentType }];
  let parts: Buffer[];
  if (format === "mp3") parts = splitMp3(audio, max);
  else if (format === "wav") parts = splitWav(audio, max);
  else if (format === "pcm") parts = splitAligned(audio, max, 2);
  else {
    throw new UserFacingError(
      `The ${format.toUpperCase()} file would be larger than this server's upload limit. ` +
        "Try mp3 or wav, or a shorter text.",
    );
  }
  return parts.map((data, i) => ({
    name: `${baseName}-part${i + 1}of${parts.length}.${format}`,
    data,
    contentType,
  }));
}

/** Each part a complete WAV file with its own header, cut on sample-frame boundaries. */
function splitWav(audio: Buffer, max: number): Buffer[] {
  const wav = parseWav(audio);
  const frame = (wav.channels * wav.bitsPerSample) / 8;
  return splitAligned(wav.data, max - 44, frame).map((pcm) => pcmToWav(pcm, wav));
}

function splitAligned(data: Buffer, max: number, align: number): Buffer[] {
  const size = Math.floor(max / align) * align;
  if (size <= 0) throw new RangeError("upload limit too small to split audio");
  const parts: Buffer[] = [];
  for (let o = 0; o < data.length; o += size) parts.push(data.subarray(o, o + size));
  return parts;
}

/**
 * Groups files into messages: at most 10 attachments and a bounded request body per message
 * (Discord refuses bodies over 25 MiB).
 */
export function groupForMessages(
  files: AudioFile[],
  opts: { maxFiles?: number; maxBodyBytes?: number } = {},
): AudioFile[][] {
  const maxFiles = opts.maxFiles ?? 10;
  const maxBody = opts.maxBodyBytes ?? 24 * 1024 * 1024;
  const groups: AudioFile[][] = [];
  let current: AudioFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (current.length > 0 && (current.length >= maxFiles || bytes + f.data.length > maxBody)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.data.length;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
