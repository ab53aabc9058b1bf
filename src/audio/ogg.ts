import { randomInt } from "node:crypto";

/**
 * Ogg encapsulation of Opus (RFC 3533 pages, RFC 7845 mapping): the writer that turns encoded Opus
 * packets into the `.ogg` file Discord voice messages carry, and a page reader to check such files.
 */

const FLAG_CONTINUED = 0x01;
const FLAG_BOS = 0x02;
const FLAG_EOS = 0x04;
const HEADER_BYTES = 27;
const MAX_SEGMENTS = 255;
/** Pages are closed after about a second of audio: a seek granularity players handle well. */
const PAGE_SAMPLES = 48_000;
/** Granule position of a page on which no packet ends (RFC 3533). */
const NO_GRANULE = -1n;

/** CRC-32 of Ogg: polynomial 0x04c11db7, MSB first (no reflection), initial value 0, no final xor. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    table[i] = r >>> 0;
  }
  return table;
})();

export function oggCrc32(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

interface PageSpec {
  flags: number;
  granule: bigint;
  segments: number[];
  body: Uint8Array[];
}

function serializePage(page: PageSpec, serial: number, sequence: number): Buffer {
  const bodyBytes = page.body.reduce((sum, part) => sum + part.length, 0);
  const out = Buffer.alloc(HEADER_BYTES + page.segments.length + bodyBytes);
  out.write("OggS", 0, "ascii");
  out[4] = 0; // stream structure version
  out[5] = page.flags;
  out.writeBigInt64LE(page.granule, 6);
  out.writeUInt32LE(serial >>> 0, 14);
  out.writeUInt32LE(sequence, 18);
  // Bytes 22–25 (the CRC) stay zero while the CRC is computed over the whole page.
  out[26] = page.segments.length;
  out.set(page.segments, HEADER_BYTES);
  let offset = HEADER_BYTES + page.segments.length;
  for (const part of page.body) {
    out.set(part, offset);
    offset += part.length;
  }
  out.writeUInt32LE(oggCrc32(out), 22);
  return out;
}

/** Lacing values of one packet: 255 per full 255-byte run, then the remainder (0 included). */
function lacing(length: number): number[] {
  const values = new Array<number>(Math.floor(length / 255)).fill(255);
  values.push(length % 255);
  return values;
}

function opusHead(channels: number, preSkip: number, inputSampleRate: number): Buffer {
  const head = Buffer.alloc(19);
  head.write("OpusHead", 0, "ascii");
  head[8] = 1; // version
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(inputSampleRate, 12);
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // channel mapping family 0: mono or stereo, no mapping table
  return head;
}

function opusTags(vendor: string): Buffer {
  const vendorBytes = Buffer.from(vendor, "utf8");
  const tags = Buffer.alloc(8 + 4 + vendorBytes.length + 4);
  tags.write("OpusTags", 0, "ascii");
  tags.writeUInt32LE(vendorBytes.length, 8);
  vendorBytes.copy(tags, 12);
  tags.writeUInt32LE(0, 12 + vendorBytes.length); // no user comments
  return tags;
}

export interface OggOpusWriterOptions {
  /** 1 or 2: channel mapping family 0. */
  channels: number;
  /** Rate of the audio before encoding; informational, players decode at 48 kHz regardless. */
  inputSampleRate: number;
  /**
   * 48 kHz samples the decoder drops at the start: the encoder's look-ahead. 312 is libopus's
   * (2.5 ms + 4 ms at 48 kHz) for the VOIP and AUDIO applications.
   */
  preSkip?: number;
  /** Stream serial number; random when not given (tests pass one to get stable bytes). */
  serial?: number;
  /** Vendor string of the OpusTags header. */
  vendor?: string;
}

export interface OggOpusWriter {
  /** One Opus packet and the number of 48 kHz samples (per channel) it decodes to. */
  addPacket(packet: Uint8Array, samples48k: number): void;
  /**
   * The whole file. With `contentSamples48k` (the real audio length at 48 kHz, pre-skip excluded)
   * the last granule position is pre-skip + that, so players trim the padding of the last frame.
   */
  finish(contentSamples48k?: number): Buffer;
}

export function createOggOpusWriter(options: OggOpusWriterOptions): OggOpusWriter {
  const { channels, inputSampleRate, preSkip = 312, vendor = "libopus" } = options;
  const serial = options.serial ?? randomInt(0, 2 ** 32);
  if (channels !== 1 && channels !== 2)
    throw new RangeError("Ogg/Opus mapping family 0 holds 1 or 2 channels");
  if (!Number.isInteger(preSkip) || preSkip < 0 || preSkip > 0xffff) throw new RangeError("invalid pre-skip");

  // The identification and comment headers must each sit alone on their pages (RFC 7845 §3).
  const pages: PageSpec[] = [
    {
      flags: FLAG_BOS,
      granule: 0n,
      segments: lacing(19),
      body: [opusHead(channels, preSkip, inputSampleRate)],
    },
  ];
  const tags = opusTags(vendor);
  const tagSegments = lacing(tags.length);
  if (tagSegments.length > MAX_SEGMENTS) throw new RangeError("vendor string too long for one page");
  pages.push({ flags: 0, granule: 0n, segments: tagSegments, body: [tags] });

  let granule = 0n; // 48 kHz samples of every packet so far, pre-skip included
  let current: PageSpec = { flags: 0, granule: NO_GRANULE, segments: [], body: [] };
  let currentSamples = 0;
  let audioPages = 0;
  let finished = false;

  const closePage = (continuesPacket: boolean): void => {
    pages.push(current);
    audioPages++;
    current = { flags: continuesPacket ? FLAG_CONTINUED : 0, granule: NO_GRANULE, segments: [], body: [] };
    currentSamples = 0;
  };

  return {
    addPacket(packet, samples48k) {
      if (finished) throw new Error("addPacket after finish");
      if (!Number.isInteger(samples48k) || samples48k < 0) throw new RangeError("invalid sample count");
      const values = lacing(packet.length);
      let offset = 0;
      for (const [i, value] of values.entries()) {
        if (current.segments.length === MAX_SEGMENTS) closePage(true);
        current.segments.push(value);
        current.body.push(packet.subarray(offset, offset + value));
        offset += value;
        if (i === values.length - 1) {
          // A page's granule position counts the samples of the packets that end on it.
          granule += BigInt(samples48k);
          current.granule = granule;
          currentSamples += samples48k;
        }
      }
      if (currentSamples >= PAGE_SAMPLES || current.segments.length === MAX_SEGMENTS) closePage(false);
    },

    finish(contentSamples48k) {
      if (finished) throw new Error("finish called twice");
      finished = true;
      if (current.segments.length > 0) closePage(false);
      const last = pages[pages.length - 1]!;
      last.flags |= FLAG_EOS;
      if (contentSamples48k !== undefined && audioPages > 0) {
        const end = BigInt(preSkip) + BigInt(contentSamples48k);
        const previous = pages
          .slice(2, -1)
          .reduce((max, p) => (p.granule > max ? p.granule : max), BigInt(preSkip));
        // End trimming may only drop samples of the last page (RFC 7845 §4.5).
        if (end > granule || end < previous) {
          throw new RangeError(`content length ${contentSamples48k} does not fit the packets written`);
        }
        last.granule = end;
      }
      return Buffer.concat(pages.map((page, sequence) => serializePage(page, serial, sequence)));
    },
  };
}

export interface OggPage {
  /** Byte offset of the page in the file. */
  offset: number;
  version: number;
  continued: boolean;
  bos: boolean;
  eos: boolean;
  /** −1 when no packet ends on the page. */
  granule: bigint;
  serial: number;
  sequence: number;
  checksum: number;
  /** The stored CRC matches the page bytes. */
  crcValid: boolean;
  segments: number[];
  body: Buffer;
}

/** Parses consecutive pages from the start of `buf`; throws on anything that is not a whole page. */
export function readOggPages(buf: Buffer): OggPage[] {
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (offset + HEADER_BYTES > buf.length || buf.toString("ascii", offset, offset + 4) !== "OggS") {
      throw new Error(`no Ogg page at byte ${offset}`);
    }
    const count = buf[offset + 26]!;
    const segments = [...buf.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + count)];
    const bodyStart = offset + HEADER_BYTES + count;
    const end = bodyStart + segments.reduce((sum, s) => sum + s, 0);
    if (end > buf.length) throw new Error(`truncated Ogg page at byte ${offset}`);
    const checksum = buf.readUInt32LE(offset + 22);
    const copy = Buffer.from(buf.subarray(offset, end));
    copy.writeUInt32LE(0, 22);
    const flags = buf[offset + 5]!;
    pages.push({
      offset,
      version: buf[offset + 4]!,
      continued: (flags & FLAG_CONTINUED) !== 0,
      bos: (flags & FLAG_BOS) !== 0,
      eos: (flags & FLAG_EOS) !== 0,
      granule: buf.readBigInt64LE(offset + 6),
      serial: buf.readUInt32LE(offset + 14),
      sequence: buf.readUInt32LE(offset + 18),
      checksum,
      crcValid: oggCrc32(copy) === checksum,
      segments,
      body: buf.subarray(bodyStart, end),
    });
    offset = end;
  }
  return pages;
}

/** Joins the lacing of the pages back into packets (one logical stream). */
export function oggPackets(pages: readonly OggPage[]): Buffer[] {
  const packets: Buffer[] = [];
  let parts: Buffer[] = [];
  for (const page of pages) {
    if (page.continued !== parts.length > 0)
      throw new Error(`page ${page.sequence}: continuation flag mismatch`);
    let offset = 0;
    for (const size of page.segments) {
      parts.push(page.body.subarray(offset, offset + size));
      offset += size;
      if (size < 255) {
        packets.push(Buffer.concat(parts));
        parts = [];
      }
    }
  }
  if (parts.length > 0) throw new Error("the last packet is unterminated");
  return packets;
}
