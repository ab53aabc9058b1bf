import type { AudioFormat } from "./format.ts";
import { id3v2End, mp3DurationMs } from "./mp3.ts";
import { type PcmShape, parseWav, pcmDurationMs } from "./wav.ts";

export interface FlacStreamInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 0 when the encoder did not know it (streaming encoders write the header first). */
  totalSamples: number;
}

/** Reads the mandatory first metadata block. Some taggers put an ID3v2 tag before `fLaC`. */
export function flacStreamInfo(buf: Buffer): FlacStreamInfo {
  const start = id3v2End(buf);
  if (buf.toString("ascii", start, start + 4) !== "fLaC") throw new Error("not a FLAC file");
  const block = start + 4;
  if (block + 4 + 34 > buf.length) throw new Error("truncated FLAC header");
  if ((buf[block]! & 0x7f) !== 0) throw new Error("FLAC file does not start with STREAMINFO");
  const si = block + 4;
  // Bytes 10–17 of STREAMINFO: 20 bits rate, 3 bits channels−1, 5 bits depth−1, 36 bits total samples.
  const sampleRate = (buf[si + 10]! << 12) | (buf[si + 11]! << 4) | (buf[si + 12]! >> 4);
  const channels = ((buf[si + 12]! >> 1) & 0x07) + 1;
  const bitsPerSample = (((buf[si + 12]! & 0x01) << 4) | (buf[si + 13]! >> 4)) + 1;
  const totalSamples = (buf[si + 13]! & 0x0f) * 2 ** 32 + buf.readUInt32BE(si + 14);
  if (sampleRate === 0) throw new Error("FLAC STREAMINFO has no sample rate");
  return { sampleRate, channels, bitsPerSample, totalSamples };
}

/**
 * Length of an audio file in ms, read from its own structure. Undefined when the file does not say
 * (a FLAC written by a streaming encoder). Throws when the bytes are not in `format`; raw `pcm` needs
 * its `shape` (16-bit samples unless told otherwise).
 */
export function audioDurationMs(
  buf: Buffer,
  format: AudioFormat,
  shape?: Partial<PcmShape> & Pick<PcmShape, "sampleRate" | "channels">,
): number | undefined {
  switch (format) {
    case "mp3":
      return mp3DurationMs(buf);
    case "wav": {
      const wav = parseWav(buf);
      return pcmDurationMs(wav.data.length, wav);
    }
    case "pcm": {
      if (!shape) throw new Error("the duration of raw PCM needs its sample rate and channels");
      return pcmDurationMs(buf.length, {
        sampleRate: shape.sampleRate,
        channels: shape.channels,
        bitsPerSample: shape.bitsPerSample ?? 16,
      });
    }
    case "flac": {
      const info = flacStreamInfo(buf);
      return info.totalSamples === 0 ? undefined : Math.round((info.totalSamples * 1000) / info.sampleRate);
    }
  }
}
