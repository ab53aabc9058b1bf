/**
 * MPEG audio (Layer III) frame parsing without decoding: enough to measure a file, join files made by
 * the same encoder settings, and split a file into playable parts. Layers I and II are not produced by
 * any TTS provider we talk to, so their headers are treated as "not a frame".
 */

export type MpegVersion = "1" | "2" | "2.5";

export interface Mp3FrameHeader {
  version: MpegVersion;
  /** Bits per second. */
  bitrate: number;
  sampleRate: number;
  padding: boolean;
  /** A 16-bit CRC follows the header. */
  crc: boolean;
  /** 0 stereo, 1 joint stereo, 2 dual channel, 3 mono. */
  channelMode: number;
  channels: 1 | 2;
  /** Whole frame length in bytes, header included. */
  frameBytes: number;
  samplesPerFrame: 576 | 1152;
}

export interface Mp3Frame extends Mp3FrameHeader {
  offset: number;
  /**
   * Set on the encoder's metadata frame (Xing/Info from LAME and most encoders, VBRI from Fraunhofer).
   * It decodes as silence in old players and describes the file it was written for, so it is not audio.
   */
  infoTag: "Xing" | "Info" | "VBRI" | undefined;
}

export interface Mp3Layout {
  /** End of the leading ID3v2 tag(s); 0 when there is none. */
  id3v2End: number;
  /** Start of the trailing ID3v1/APE tags; the buffer length when there are none. */
  tagsStart: number;
  /** Every complete frame in order, the info frame included. Bytes between frames are junk. */
  frames: Mp3Frame[];
}

export interface Mp3Info {
  sampleRate: number;
  channels: 1 | 2;
  /** Average bits per second over the audio frames. */
  bitrate: number;
  /** Audio frames (the info frame is not counted). */
  frames: number;
  durationMs: number;
}

// Layer III bitrates in kbps, index 1–14 (0 = free format, 15 = invalid).
const BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const SAMPLE_RATES: Record<MpegVersion, readonly number[]> = {
  "1": [44100, 48000, 32000],
  "2": [22050, 24000, 16000],
  "2.5": [11025, 12000, 8000],
};
const VERSION_BITS: Record<number, MpegVersion | undefined> = { 0: "2.5", 2: "2", 3: "1" };

/** Parses the 4-byte header at `offset`; undefined when it is not a Layer III frame header we can size. */
export function parseFrameHeader(buf: Uint8Array, offset: number): Mp3FrameHeader | undefined {
  if (offset < 0 || offset + 4 > buf.length) return undefined;
  const b1 = buf[offset + 1]!;
  const b2 = buf[offset + 2]!;
  const b3 = buf[offset + 3]!;
  if (buf[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = VERSION_BITS[(b1 >> 3) & 0x03];
  if (!version || ((b1 >> 1) & 0x03) !== 0x01) return undefined;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 0x03;
  // Free-format frames carry no length in the header; no TTS encoder emits them.
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined;
  const kbps = (version === "1" ? BITRATES_V1 : BITRATES_V2)[bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[version][rateIndex]!;
  const padding = ((b2 >> 1) & 0x01) === 1;
  const channelMode = b3 >> 6;
  const samplesPerFrame = version === "1" ? 1152 : 576;
  const bitrate = kbps * 1000;
  const frameBytes = Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + (padding ? 1 : 0);
  return {
    version,
    bitrate,
    sampleRate,
    padding,
    crc: (b1 & 0x01) === 0,
    channelMode,
    channels: channelMode === 3 ? 1 : 2,
    frameBytes,
    samplesPerFrame,
  };
}

/** Frames of one stream share version and sample rate; anything else after a sync word is a false sync. */
function sameStream(a: Mp3FrameHeader, b: Mp3FrameHeader): boolean {
  return a.version === b.version && a.sampleRate === b.sampleRate && a.channels === b.channels;
}

function sideInfoBytes(h: Mp3FrameHeader): number {
  if (h.version === "1") return h.channels === 1 ? 17 : 32;
  return h.channels === 1 ? 9 : 17;
}

function tagAt(buf: Uint8Array, offset: number, tag: string): boolean {
  if (offset + tag.length > buf.length) return false;
  for (let i = 0; i < tag.length; i++) if (buf[offset + i] !== tag.charCodeAt(i)) return false;
  return true;
}

function infoTagOf(buf: Uint8Array, offset: number, h: Mp3FrameHeader): Mp3Frame["infoTag"] {
  const xing = offset + 4 + (h.crc ? 2 : 0) + sideInfoBytes(h);
  if (tagAt(buf, xing, "Xing")) return "Xing";
  if (tagAt(buf, xing, "Info")) return "Info";
  if (tagAt(buf, offset + 36, "VBRI")) return "VBRI";
  return undefined;
}

function syncsafe(buf: Uint8Array, offset: number): number {
  return (
    ((buf[offset]! & 0x7f) << 21) |
    ((buf[offset + 1]! & 0x7f) << 14) |
    ((buf[offset + 2]! & 0x7f) << 7) |
    (buf[offset + 3]! & 0x7f)
  );
}

/** End of the ID3v2 tags at the start (some taggers write more than one). */
export function id3v2End(buf: Uint8Array): number {
  let offset = 0;
  while (tagAt(buf, offset, "ID3") && offset + 10 <= buf.length) {
    const hasFooter = (buf[offset + 5]! & 0x10) !== 0;
    offset += 10 + syncsafe(buf, offset + 6) + (hasFooter ? 10 : 0);
  }
  return Math.min(offset, buf.length);
}

/** Start of the ID3v1 and APEv2 tags at the end (in either order). */
export function trailingTagsStart(buf: Uint8Array, from = 0): number {
  let end = buf.length;
  for (;;) {
    if (end - 128 >= from && tagAt(buf, end - 128, "TAG")) {
      end -= 128;
      continue;
    }
    if (end - 32 >= from && tagAt(buf, end - 32, "APETAGEX")) {
      const view = new DataView(buf.buffer, buf.byteOffset + end - 32, 32);
      const size = view.getUint32(12, true); // items + footer
      const hasHeader = (view.getUint32(20, true) & 0x80000000) !== 0;
      const start = end - size - (hasHeader ? 32 : 0);
      if (start >= from && size >= 32) {
        end = start;
        continue;
      }
    }
    return end;
  }
}

/**
 * A sync word only counts as the start of the stream when the frame after it is also a frame of the
 * same stream (or it reaches exactly the end): random 0xFFE bits inside tags or junk are common.
 */
function confirmedFrameAt(buf: Uint8Array, offset: number, end: number): Mp3FrameHeader | undefined {
  const h = parseFrameHeader(buf, offset);
  if (!h || offset + h.frameBytes > end) return undefined;
  const next = offset + h.frameBytes;
  if (next === end) return h;
  const n = parseFrameHeader(buf, next);
  return n && sameStream(h, n) ? h : undefined;
}

function resync(buf: Uint8Array, from: number, end: number): number {
  for (let i = buf.indexOf(0xff, from); i !== -1 && i + 4 <= end; i = buf.indexOf(0xff, i + 1)) {
    if (confirmedFrameAt(buf, i, end)) return i;
  }
  return -1;
}

export function mp3Layout(buf: Uint8Array): Mp3Layout {
  const start = id3v2End(buf);
  const tagsStart = trailingTagsStart(buf, start);
  const frames: Mp3Frame[] = [];
  let offset = resync(buf, start, tagsStart);
  let prev: Mp3FrameHeader | undefined;
  while (offset !== -1 && offset < tagsStart) {
    const h = parseFrameHeader(buf, offset);
    if (h && offset + h.frameBytes <= tagsStart && (!prev || sameStream(prev, h))) {
      frames.push({ ...h, offset, infoTag: infoTagOf(buf, offset, h) });
      prev = h;
      offset += h.frameBytes;
    } else {
      offset = resync(buf, offset + 1, tagsStart);
    }
  }
  return { id3v2End: start, tagsStart, frames };
}

export function mp3Frames(buf: Uint8Array): Mp3Frame[] {
  return mp3Layout(buf).frames;
}

function audioFrames(buf: Uint8Array): Mp3Frame[] {
  const frames = mp3Frames(buf).filter((f) => f.infoTag === undefined);
  if (frames.length === 0) throw new Error("no MPEG audio frames found");
  return frames;
}

function framesDurationMs(frames: readonly Mp3FrameHeader[]): number {
  let ms = 0;
  for (const f of frames) ms += (f.samplesPerFrame * 1000) / f.sampleRate;
  return ms;
}

/**
 * Counts frames rather than trusting a Xing frame count or the first frame's bitrate, so joined,
 * truncated and VBR files all measure right. Includes the encoder delay and padding, like a decoder
 * without gapless support does.
 */
export function mp3DurationMs(buf: Uint8Array): number {
  return Math.round(framesDurationMs(audioFrames(buf)));
}

export function mp3Info(buf: Uint8Array): Mp3Info {
  const frames = audioFrames(buf);
  const first = frames[0]!;
  let bits = 0;
  for (const f of frames) bits += f.bitrate;
  return {
    sampleRate: first.sampleRate,
    channels: first.channels,
    bitrate: Math.round(bits / frames.length),
    frames: frames.length,
    durationMs: Math.round(framesDurationMs(frames)),
  };
}

/**
 * Concatenates the audio frames of several files into one. The first file's leading ID3v2 tag is kept;
 * every other tag and every Xing/Info/VBRI frame (the first file's too) is dropped, because such a frame
 * states the frame count of the file it came from and players would show that as the whole duration.
 */
export function joinMp3(files: readonly Uint8Array[]): Buffer {
  if (files.length === 0) throw new Error("nothing to join");
  const parts: Uint8Array[] = [];
  let ref: Mp3FrameHeader | undefined;
  for (const [index, file] of files.entries()) {
    const layout = mp3Layout(file);
    if (index === 0 && layout.id3v2End > 0) parts.push(file.subarray(0, layout.id3v2End));
    const frames = layout.frames.filter((f) => f.infoTag === undefined);
    const first = frames[0];
    if (!first) throw new Error(`file ${index + 1} of ${files.length} has no MPEG audio frames`);
    ref ??= first;
    if (!sameStream(ref, first)) {
      throw new Error(
        `cannot join MP3 files of different shape: ${ref.sampleRate} Hz/${ref.channels} ch and ${first.sampleRate} Hz/${first.channels} ch`,
      );
    }
    parts.push(...frameRuns(file, frames));
  }
  return Buffer.concat(parts);
}

/** Runs of adjacent frames as slices (one slice for a clean file), skipping whatever lies between. */
function frameRuns(file: Uint8Array, frames: readonly Mp3Frame[]): Uint8Array[] {
  const runs: Uint8Array[] = [];
  let runStart = frames[0]?.offset ?? 0;
  let runEnd = runStart;
  for (const f of frames) {
    if (f.offset !== runEnd) {
      runs.push(file.subarray(runStart, runEnd));
      runStart = f.offset;
    }
    runEnd = f.offset + f.frameBytes;
  }
  if (runEnd > runStart) runs.push(file.subarray(runStart, runEnd));
  return runs;
}

/**
 * Frames of digital silence shaped like `like`: a header followed by zeros. Zero side information means
 * no bits for any granule (all-zero spectrum) and no bit-reservoir reference, so every decoder outputs
 * silence and the following frames are unaffected. Used to render pause markers between joined clips.
 */
export function silentMp3Frames(like: Mp3FrameHeader, durationMs: number): Buffer {
  const frameMs = (like.samplesPerFrame * 1000) / like.sampleRate;
  const count = Math.max(0, Math.round(durationMs / frameMs));
  const header = silentFrameHeader(like);
  const frameBytes = Math.floor(((like.samplesPerFrame / 8) * like.bitrate) / like.sampleRate);
  const out = Buffer.alloc(frameBytes * count);
  for (let i = 0; i < count; i++) header.copy(out, i * frameBytes);
  return out;
}

function silentFrameHeader(like: Mp3FrameHeader): Buffer {
  const versionBits = like.version === "1" ? 3 : like.version === "2" ? 2 : 0;
  const table = like.version === "1" ? BITRATES_V1 : BITRATES_V2;
  const bitrateIndex = table.indexOf(like.bitrate / 1000);
  const rateIndex = SAMPLE_RATES[like.version].indexOf(like.sampleRate);
  if (bitrateIndex < 1 || rateIndex < 0)
    throw new Error("reference frame header is not a valid Layer III header");
  // Layer III (01), no CRC (protection bit set), no padding; joint-stereo mode extension left at 0.
  return Buffer.from([
    0xff,
    0xe0 | (versionBits << 3) | (0x01 << 1) | 0x01,
    (bitrateIndex << 4) | (rateIndex << 2),
    like.channelMode << 6,
  ]);
}

/**
 * `main_data_begin` of a frame's side information: how many bytes before this frame's header its audio
 * data starts (the bit reservoir). 0 means the frame decodes from its own bytes and those after it, so a
 * part that starts there plays exactly as that span of the whole file does.
 */
export function mainDataBegin(buf: Uint8Array, frame: Mp3Frame): number {
  const o = frame.offset + 4 + (frame.crc ? 2 : 0);
  // MPEG-1: the first 9 bits of the side information; MPEG-2 and 2.5: the first 8.
  return frame.version === "1" ? (buf[o]! << 1) | (buf[o + 1]! >> 7) : buf[o]!;
}

const CRC16_TABLE = Uint16Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
  return c;
});

/** CRC-16 as LAME computes it for its tag (polynomial 0x8005 reflected, initial value 0). */
function lameCrc(bytes: Uint8Array): number {
  let c = 0;
  for (const byte of bytes) c = (c >>> 8) ^ CRC16_TABLE[(c ^ byte) & 0xff]!;
  return c;
}

const XING_FRAMES = 0x1;
const XING_BYTES = 0x2;
const XING_TOC = 0x4;
const XING_QUALITY = 0x8;
/** Encoder strings of the LAME tag layout that follows a Xing/Info header (LAME, ffmpeg, GOGO). */
const LAME_TAG_ENCODERS = ["LAME", "Lavc", "Lavf", "GOGO"];

/** Where the fields of a Xing/Info frame are, relative to the frame; undefined when it states no frame count. */
function xingFields(
  buf: Uint8Array,
  info: Mp3Frame,
): { frames: number; bytes: number; toc: number; lame: number } | undefined {
  if (info.infoTag !== "Xing" && info.infoTag !== "Info") return undefined;
  const xing = 4 + (info.crc ? 2 : 0) + sideInfoBytes(info);
  if (xing + 12 > info.frameBytes) return undefined;
  const at = info.offset + xing + 4;
  const flags = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
  if ((flags & XING_FRAMES) === 0) return undefined;
  let p = xing + 8;
  const field = (present: number, bytes: number) => {
    if ((flags & present) === 0) return -1;
    p += bytes;
    return p - bytes;
  };
  const frames = field(XING_FRAMES, 4);
  const bytes = field(XING_BYTES, 4);
  const toc = field(XING_TOC, 100);
  field(XING_QUALITY, 4);
  if (p > info.frameBytes) return undefined;
  return { frames, bytes, toc, lame: p };
}

/**
 * A copy of the Xing/Info frame `info` describing `audio` (the audio frames that follow it in the part)
 * instead of the whole file: frame count, byte count, seek table and, when a LAME tag follows, its
 * music length and CRCs. The encoder delay stays (the part starts where the file does); the end padding
 * is kept only when the part ends where the file does. Undefined when the frame cannot be rewritten
 * (a VBRI frame, or a Xing frame that states no frame count): such a frame is dropped instead.
 */
function rewriteInfoFrame(
  buf: Uint8Array,
  info: Mp3Frame,
  audio: readonly Mp3Frame[],
  keepPadding: boolean,
): Buffer | undefined {
  const fields = xingFields(buf, info);
  const last = audio.at(-1);
  if (!fields || !last) return undefined;
  const frame = Buffer.from(buf.subarray(info.offset, info.offset + info.frameBytes));
  const audioEnd = last.offset + last.frameBytes;
  const totalBytes = audioEnd - info.offset;
  frame.writeUInt32BE(audio.length, fields.frames);
  if (fields.bytes >= 0) frame.writeUInt32BE(totalBytes, fields.bytes);
  if (fields.toc >= 0) {
    for (let i = 0; i < 100; i++) {
      const f = audio[Math.floor((i * audio.length) / 100)]!;
      frame[fields.toc + i] = Math.min(255, Math.floor((256 * (f.offset - info.offset)) / totalBytes));
    }
  }

  // The LAME tag: 36 bytes right after the Xing fields, ending in a CRC of the frame up to there.
  const lame = fields.lame;
  if (lame + 36 > frame.length) return frame;
  const original = buf.subarray(info.offset, info.offset + info.frameBytes);
  const crcValid = lameCrc(original.subarray(0, lame + 34)) === frame.readUInt16BE(lame + 34);
  if (!crcValid && !LAME_TAG_ENCODERS.includes(frame.toString("latin1", lame, lame + 4))) return frame;
  if (!keepPadding) {
    // Encoder delay (12 bits) then end padding (12 bits) at +21.
    frame[lame + 22] = frame[lame + 22]! & 0xf0;
    frame[lame + 23] = 0;
  }
  frame.writeUInt32BE(totalBytes, lame + 28);
  frame.writeUInt16BE(lameCrc(buf.subarray(info.offset + info.frameBytes, audioEnd)), lame + 32);
  frame.writeUInt16BE(lameCrc(frame.subarray(0, lame + 34)), lame + 34);
  return frame;
}

/**
 * A part holds at least this share of the size limit before a cut that needs no bit reservoir is
 * preferred over the latest possible cut: at worst about twice the parts, in practice (speech pauses
 * are everywhere) next to none more.
 */
export const MIN_CLEAN_PART_SHARE = 0.5;

/**
 * Splits a file into parts of at most `maxBytes`, cutting only where an audio frame starts, so every
 * part is a playable MP3 and the parts hold every audio frame of the file exactly once.
 *
 * - A cut is made, where the size window allows, before a frame whose `main_data_begin` is 0: that
 *   frame takes nothing from the bit reservoir of the part before, so the next part plays from its
 *   first frame as the whole file does there (a cut elsewhere costs its first tens of milliseconds,
 *   which decode as silence or noise on their own). Otherwise the part is made as large as it can be.
 * - The file's Xing/Info frame describes the whole file, and players would show the whole duration for
 *   the first part: that part gets it rewritten for its own frames (same size), or loses it when it
 *   cannot be rewritten (VBRI). Later parts have none.
 * - The first part keeps the leading tag, the last part the trailing tags; bytes between frames stay.
 *
 * So `Buffer.concat(parts)` is the input byte for byte except the info frame. The parts after the first
 * are views into `buf`. A file that already fits is returned as it is.
 *
 * Throws a RangeError when splitting is impossible: a single frame, or a tag together with its
 * neighbouring frame, larger than `maxBytes`.
 */
export function splitMp3(buf: Buffer, maxBytes: number): Buffer[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 1)
    throw new RangeError("maxBytes must be a positive integer");
  const { frames } = mp3Layout(buf);
  const firstAudio = frames.findIndex((f) => f.infoTag === undefined);
  if (firstAudio === -1) throw new Error("no MPEG audio frames found");
  if (buf.length <= maxBytes) return [buf];

  // Only the info frame in front of the audio describes the file; one further on (a file joined by a
  // tool that kept them) is inside a part, where players do not look for it.
  const info = frames.slice(0, firstAudio).findLast((f) => f.infoTag !== undefined);
  const audio = frames.slice(firstAudio).filter((f) => f.infoTag === undefined);
  // Bytes the first part loses when its info frame has to go.
  const dropped = info && !xingFields(buf, info) ? info.frameBytes : 0;

  // A part may end where any audio frame after the first starts: every part then holds audio.
  const parts: Buffer[] = [];
  let firstPartFrames = audio.length;
  let start = 0;
  let next = 1;
  for (;;) {
    const limit = maxBytes + (parts.length === 0 ? dropped : 0);
    if (buf.length - start <= limit) break;
    let latest = -1;
    let clean = -1;
    for (let i = next; i < audio.length && audio[i]!.offset - start <= limit; i++) {
      latest = i;
      const size = audio[i]!.offset - start;
      if (size >= limit * MIN_CLEAN_PART_SHARE && mainDataBegin(buf, audio[i]!) === 0) clean = i;
    }
    const cut = clean !== -1 ? clean : latest;
    if (cut === -1) {
      throw new RangeError(
        `cannot split this MP3 into parts of ${maxBytes} bytes: a frame or tag at byte ${start} does not fit`,
      );
    }
    if (parts.length === 0) firstPartFrames = cut;
    parts.push(buf.subarray(start, audio[cut]!.offset));
    start = audio[cut]!.offset;
    next = cut + 1;
  }
  parts.push(buf.subarray(start));

  if (info) {
    const first = parts[0]!;
    const own = rewriteInfoFrame(buf, info, audio.slice(0, firstPartFrames), parts.length === 1);
    const before = first.subarray(0, info.offset);
    const after = first.subarray(info.offset + info.frameBytes);
    parts[0] = Buffer.concat(own ? [before, own, after] : [before, after]);
  }
  return parts;
}
