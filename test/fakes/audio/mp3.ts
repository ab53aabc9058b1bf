/**
 * MPEG audio Layer III frame headers: enough to walk the frames of a file (to cut a stream at frame
 * boundaries, as a streaming encoder would) and to read back version, sample rate and channel mode.
 */

export interface Mp3FrameHeader {
  version: "1" | "2" | "2.5";
  sampleRate: number;
  /** kbps */
  bitrate: number;
  channels: 1 | 2;
  /** Bytes including the header. */
  length: number;
}

const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES: Record<Mp3FrameHeader["version"], number[]> = {
  "1": [44100, 48000, 32000],
  "2": [22050, 24000, 16000],
  "2.5": [11025, 12000, 8000],
};

export function parseMp3FrameHeader(buf: Buffer, offset: number): Mp3FrameHeader | undefined {
  if (offset + 4 > buf.length) return undefined;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  const b3 = buf[offset + 3]!;
  if (buf[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 0b11;
  if (versionBits === 0b01 || ((b1 >> 1) & 0b11) !== 0b01) return undefined; // reserved version, or not Layer III
  const version = versionBits === 0b11 ? "1" : versionBits === 0b10 ? "2" : "2.5";
  const bitrate = (version === "1" ? BITRATES_V1 : BITRATES_V2)[b2 >> 4];
  const sampleRate = SAMPLE_RATES[version][(b2 >> 2) & 0b11];
  if (!bitrate || !sampleRate) return undefined;
  const padding = (b2 >> 1) & 1;
  const coefficient = version === "1" ? 144 : 72;
  const length = Math.floor((coefficient * bitrate * 1000) / sampleRate) + padding;
  return { version, sampleRate, bitrate, channels: b3 >> 6 === 0b11 ? 1 : 2, length };
}

/** Byte offsets where frames start, following frame lengths from the first sync. */
export function mp3FrameOffsets(buf: Buffer): number[] {
  const offsets: number[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const header = parseMp3FrameHeader(buf, offset);
    if (!header) break;
    offsets.push(offset);
    offset += header.length;
  }
  return offsets;
}
