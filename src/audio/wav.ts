/**
 * RIFF/WAVE helpers for 16-bit PCM: build a header, find the data chunk of a file, and join several
 * files of the same shape into one (rewriting the sizes in the header).
 */

export interface PcmShape {
  sampleRate: number;
  channels: number;
  /** Only 16 is produced by MiniMax; kept explicit so a mismatch is caught when joining. */
  bitsPerSample: number;
}

export function wavHeader(shape: PcmShape, dataBytes: number): Buffer {
  const { sampleRate, channels, bitsPerSample } = shape;
  const blockAlign = (channels * bitsPerSample) / 8;
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write("WAVE", 8, "ascii");
  h.write("fmt ", 12, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export function pcmToWav(pcm: Buffer, shape: PcmShape): Buffer {
  return Buffer.concat([wavHeader(shape, pcm.length), pcm]);
}

export interface ParsedWav extends PcmShape {
  /** The sample bytes (a view into the input). */
  data: Buffer;
}

/**
 * Walks the RIFF chunks instead of assuming a 44-byte header, because encoders may add LIST or fact
 * chunks. A data size of 0 or 0xFFFFFFFF (streaming writers) means "to the end of the file".
 */
export function parseWav(buf: Buffer): ParsedWav {
  if (buf.length < 12 || buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error("not a RIFF/WAVE file");
  }
  let offset = 12;
  let shape: PcmShape | undefined;
  while (offset + 8 <= buf.length) {
    const id = buf.toString("ascii", offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > buf.length) throw new Error("truncated fmt chunk");
      const audioFormat = buf.readUInt16LE(body);
      if (audioFormat !== 1 && audioFormat !== 0xfffe)
        throw new Error(`unsupported WAV encoding ${audioFormat}`);
      shape = {
        channels: buf.readUInt16LE(body + 2),
        sampleRate: buf.readUInt32LE(body + 4),
        bitsPerSample: buf.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (!shape) throw new Error("WAV data chunk before fmt chunk");
      const end = size === 0 || size === 0xffffffff ? buf.length : Math.min(buf.length, body + size);
      return { ...shape, data: buf.subarray(body, end) };
    }
    offset = body + size + (size % 2);
  }
  throw new Error("WAV file has no data chunk");
}

/** Joins WAV files of identical shape into one file with a correct header. */
export function joinWav(files: Buffer[]): Buffer {
  if (files.length === 0) throw new Error("nothing to join");
  const parsed = files.map(parseWav);
  const first = parsed[0]!;
  for (const p of parsed) {
    if (
      p.sampleRate !== first.sampleRate ||
      p.channels !== first.channels ||
      p.bitsPerSample !== first.bitsPerSample
    ) {
      throw new Error("cannot join WAV files of different sample rate, channels or sample size");
    }
  }
  const data = Buffer.concat(parsed.map((p) => p.data));
  return pcmToWav(data, first);
}

/** Duration in ms of raw PCM bytes. */
export function pcmDurationMs(bytes: number, shape: PcmShape): number {
  const frameBytes = (shape.channels * shape.bitsPerSample) / 8;
  return Math.round(((bytes / frameBytes) * 1000) / shape.sampleRate);
}
