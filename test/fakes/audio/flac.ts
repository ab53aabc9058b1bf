/**
 * A minimal FLAC encoder: 16-bit PCM in VERBATIM subframes (no compression). That is enough for a
 * real decoder to accept the file and return the exact samples, which is all the fakes need.
 * Layout per the FLAC format (RFC 9639): "fLaC", one STREAMINFO block, then fixed-blocksize frames.
 */

export interface FlacSpec {
  sampleRate: number;
  channels: number;
  /** Samples per channel per frame; 4096 is the reference encoder's default. */
  blockSize?: number;
}

const CRC8_TABLE = makeCrcTable(8, 0x07);
const CRC16_TABLE = makeCrcTable(16, 0x8005);

function makeCrcTable(width: 8 | 16, poly: number): Uint16Array {
  const table = new Uint16Array(256);
  const top = 1 << (width - 1);
  const mask = (1 << width) - 1;
  for (let i = 0; i < 256; i++) {
    let crc = i << (width - 8);
    for (let bit = 0; bit < 8; bit++) crc = crc & top ? ((crc << 1) ^ poly) & mask : (crc << 1) & mask;
    table[i] = crc;
  }
  return table;
}

export function crc8(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = CRC8_TABLE[crc ^ b]!;
  return crc;
}

export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[(crc >> 8) ^ b]!;
  return crc;
}

/** FLAC's "UTF-8-like" varint for the frame number (up to 36 bits in the format, 31 needed here). */
export function utf8Varint(value: number): Buffer {
  if (value < 0x80) return Buffer.from([value]);
  const bytes: number[] = [];
  let v = value;
  let lead = 0x80;
  let room = 0x3f; // payload bits that still fit in the lead byte
  while (v > room) {
    bytes.unshift(0x80 | (v & 0x3f));
    v = Math.floor(v / 64);
    lead = (lead >> 1) | 0x80;
    room >>= 1;
  }
  bytes.unshift(lead | v);
  return Buffer.from(bytes);
}

const SAMPLE_RATE_CODES: Record<number, number> = {
  88200: 0b0001,
  176400: 0b0010,
  192000: 0b0011,
  8000: 0b0100,
  16000: 0b0101,
  22050: 0b0110,
  24000: 0b0111,
  32000: 0b1000,
  44100: 0b1001,
  48000: 0b1010,
  96000: 0b1011,
};

function streamInfo(
  spec: Required<FlacSpec>,
  totalFrames: number,
  minFrame: number,
  maxFrame: number,
): Buffer {
  const block = Buffer.alloc(4 + 34);
  block[0] = 0x80; // last metadata block, type 0 = STREAMINFO
  block.writeUIntBE(34, 1, 3);
  // The format excludes the last (short) block from the minimum, so a fixed-blocksize stream has min = max.
  const size = Math.min(spec.blockSize, Math.max(16, totalFrames));
  block.writeUInt16BE(size, 4);
  block.writeUInt16BE(size, 6);
  block.writeUIntBE(minFrame, 8, 3);
  block.writeUIntBE(maxFrame, 11, 3);
  // 20 bits sample rate | 3 bits channels-1 | 5 bits bps-1 | 36 bits total samples, packed big-endian.
  const high =
    spec.sampleRate * 2 ** 12 +
    (spec.channels - 1) * 2 ** 9 +
    15 * 2 ** 4 +
    Math.floor(totalFrames / 2 ** 32);
  block.writeUInt32BE(high, 14);
  block.writeUInt32BE(totalFrames % 2 ** 32, 18);
  // bytes 22–37: MD5 of the samples; all zero means "not computed", which decoders accept.
  return block;
}

function frameHeader(spec: Required<FlacSpec>, frameNumber: number, samples: number): Buffer {
  const rateCode = SAMPLE_RATE_CODES[spec.sampleRate] ?? 0; // 0 = "see STREAMINFO"
  const head = Buffer.concat([
    Buffer.from([
      0xff,
      0xf8, // sync code + fixed-blocksize strategy
      (0b0111 << 4) | rateCode, // block size: 16-bit (n-1) at the end of the header
      ((spec.channels - 1) << 4) | (0b100 << 1), // independent channels, 16 bits per sample
    ]),
    utf8Varint(frameNumber),
    Buffer.from([(samples - 1) >> 8, (samples - 1) & 0xff]),
  ]);
  return Buffer.concat([head, Buffer.from([crc8(head)])]);
}

/** `pcm` is interleaved int16 LE, as everywhere else in the fakes. */
export function encodeFlac(pcm: Buffer, flac: FlacSpec): Buffer {
  const spec: Required<FlacSpec> = { blockSize: 4096, ...flac };
  const totalFrames = Math.floor(pcm.length / (2 * spec.channels));
  const frames: Buffer[] = [];
  for (let start = 0, n = 0; start < totalFrames; start += spec.blockSize, n++) {
    const samples = Math.min(spec.blockSize, totalFrames - start);
    const header = frameHeader(spec, n, samples);
    const body = Buffer.alloc(spec.channels * (1 + samples * 2));
    let o = 0;
    for (let c = 0; c < spec.channels; c++) {
      body[o++] = 0b0000_0010; // subframe header: VERBATIM, no wasted bits
      for (let i = 0; i < samples; i++) {
        body.writeInt16BE(pcm.readInt16LE(((start + i) * spec.channels + c) * 2), o);
        o += 2;
      }
    }
    const frame = Buffer.concat([header, body, Buffer.alloc(2)]);
    frame.writeUInt16BE(crc16(frame.subarray(0, frame.length - 2)), frame.length - 2);
    frames.push(frame);
  }
  const sizes = frames.map((f) => f.length);
  const minFrame = sizes.length > 0 ? Math.min(...sizes) : 0;
  const maxFrame = sizes.length > 0 ? Math.max(...sizes) : 0;
  return Buffer.concat([
    Buffer.from("fLaC", "ascii"),
    streamInfo(spec, totalFrames, minFrame, maxFrame),
    ...frames,
  ]);
}
