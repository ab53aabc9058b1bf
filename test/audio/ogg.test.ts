import { describe, expect, it } from "vitest";
import {
  createOggOpusWriter,
  type OggPage,
  oggCrc32,
  oggPackets,
  readOggPages,
} from "../../src/audio/ogg.ts";
import { prng } from "./signal.ts";

/** Bit-by-bit Ogg CRC, written independently of the table-driven one under test. */
function referenceCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

function packetOf(size: number, seed: number): Buffer {
  const random = prng(seed);
  return Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
}

function write(sizes: number[], samples = 960, contentSamples?: number): { file: Buffer; packets: Buffer[] } {
  const writer = createOggOpusWriter({ channels: 1, inputSampleRate: 24000, serial: 0x1234abcd });
  const packets = sizes.map((size, i) => packetOf(size, i + 1));
  for (const packet of packets) writer.addPacket(packet, samples);
  return { file: writer.finish(contentSamples), packets };
}

function audioPages(pages: OggPage[]): OggPage[] {
  return pages.slice(2);
}

function expectWellFormed(pages: OggPage[]): void {
  pages.forEach((page, i) => {
    expect(page.crcValid).toBe(true);
    expect(page.version).toBe(0);
    expect(page.sequence).toBe(i);
    expect(page.serial).toBe(0x1234abcd);
    expect(page.bos).toBe(i === 0);
    expect(page.eos).toBe(i === pages.length - 1);
    expect(page.segments.length).toBeLessThanOrEqual(255);
  });
  let last = 0n;
  for (const page of audioPages(pages)) {
    if (page.granule === -1n) continue;
    expect(page.granule).toBeGreaterThanOrEqual(last);
    last = page.granule;
  }
}

describe("oggCrc32", () => {
  it("matches a bitwise implementation of the Ogg CRC (poly 0x04c11db7, no reflection, init 0)", () => {
    for (const size of [0, 1, 27, 1000]) {
      const bytes = packetOf(size, size);
      expect(oggCrc32(bytes)).toBe(referenceCrc(bytes));
    }
    // Known value of this CRC variant (CRC-32/MPEG-2 without its init and final xor).
    expect(oggCrc32(Buffer.from("123456789"))).toBe(0x89a1897f);
  });
});

describe("createOggOpusWriter", () => {
  it("writes OpusHead and OpusTags alone on the first two pages", () => {
    const writer = createOggOpusWriter({ channels: 2, inputSampleRate: 44100, preSkip: 312, serial: 7 });
    writer.addPacket(Buffer.from([0xfc, 1, 2]), 960);
    const pages = readOggPages(writer.finish());
    expect(pages).toHaveLength(3);
    const [head, tags] = pages;
    expect(head!.bos).toBe(true);
    expect(head!.granule).toBe(0n);
    expect(head!.body.toString("ascii", 0, 8)).toBe("OpusHead");
    expect(head!.body[8]).toBe(1); // version
    expect(head!.body[9]).toBe(2); // channels
    expect(head!.body.readUInt16LE(10)).toBe(312);
    expect(head!.body.readUInt32LE(12)).toBe(44100);
    expect(head!.body.readInt16LE(16)).toBe(0);
    expect(head!.body[18]).toBe(0);
    expect(head!.body).toHaveLength(19);
    expect(tags!.granule).toBe(0n);
    expect(tags!.body.toString("ascii", 0, 8)).toBe("OpusTags");
    const vendorLength = tags!.body.readUInt32LE(8);
    expect(tags!.body.readUInt32LE(12 + vendorLength)).toBe(0);
    expect(tags!.body).toHaveLength(16 + vendorLength);
  });

  it("writes valid pages whose packets read back unchanged, with lacing around 255 bytes", () => {
    const sizes = [1, 100, 254, 255, 256, 509, 510, 511, 765, 1275, 0, 3];
    const { file, packets } = write(sizes);
    const pages = readOggPages(file);
    expectWellFormed(pages);
    expect(oggPackets(audioPages(pages))).toEqual(packets);
    const segments = audioPages(pages).flatMap((p) => p.segments);
    // 255 bytes need two lacing values (255, 0); 510 needs three.
    expect(segments.slice(0, 8)).toEqual([1, 100, 254, 255, 0, 255, 1, 255]);
    expect(audioPages(pages).at(-1)!.granule).toBe(BigInt(sizes.length * 960));
  });

  it("closes a page after about a second of audio, with the running granule position", () => {
    const { file } = write(new Array(173).fill(80));
    const pages = audioPages(readOggPages(file));
    expectWellFormed(readOggPages(file));
    expect(pages.map((p) => p.segments.length)).toEqual([50, 50, 50, 23]);
    expect(pages.map((p) => p.granule)).toEqual([48000n, 96000n, 144000n, 173n * 960n]);
  });

  it("continues packets across pages when a page runs out of lacing values", () => {
    // 40000 bytes = 157 lacing values: pages of 255 values split the 2nd and the 4th packet.
    const { file, packets } = write([40000, 40000, 40000, 40000, 10]);
    const all = readOggPages(file);
    expectWellFormed(all);
    const pages = audioPages(all);
    expect(pages.map((p) => p.segments.length)).toEqual([255, 255, 4 * 157 + 1 - 510]);
    expect(pages.map((p) => p.continued)).toEqual([false, true, true]);
    // Granule positions count the packets that end on each page: 1, then 2 and 3, then 4 and 5.
    expect(pages.map((p) => p.granule)).toEqual([960n, 3n * 960n, 5n * 960n]);
    expect(oggPackets(pages)).toEqual(packets);
  });

  it("marks a page on which no packet ends with granule position −1", () => {
    const { file, packets } = write([100_000, 5]); // 393 lacing values: two pages for one packet
    const pages = audioPages(readOggPages(file));
    expect(pages.map((p) => [p.continued, p.granule])).toEqual([
      [false, -1n],
      [true, 1920n],
    ]);
    expect(oggPackets(pages)).toEqual(packets);
  });

  it("starts a fresh page when a packet ends exactly on the 255th lacing value", () => {
    const { file, packets } = write([254 * 255, 7]); // 254 × 255 + a 0: exactly 255 lacing values
    const pages = audioPages(readOggPages(file));
    expect(pages.map((p) => [p.segments.length, p.continued])).toEqual([
      [255, false],
      [1, false],
    ]);
    expect(oggPackets(pages)).toEqual(packets);
  });

  it("trims the end through the last granule position", () => {
    const { file } = write([50, 50, 50], 960, 2000);
    const pages = readOggPages(file);
    expect(pages.at(-1)!.granule).toBe(312n + 2000n);
    expect(() => write([50, 50], 960, 2 * 960)).toThrow(RangeError); // more than was written
    // Trimming may not reach back before the previous page's granule position.
    expect(() => write(new Array(60).fill(10), 960, 100)).toThrow(RangeError);
  });

  it("ends a stream without audio on the OpusTags page", () => {
    const pages = readOggPages(
      createOggOpusWriter({ channels: 1, inputSampleRate: 48000, serial: 1 }).finish(),
    );
    expect(pages).toHaveLength(2);
    expect(pages[1]!.eos).toBe(true);
  });

  it("refuses more than two channels and use after finish", () => {
    expect(() => createOggOpusWriter({ channels: 3, inputSampleRate: 48000 })).toThrow(RangeError);
    const writer = createOggOpusWriter({ channels: 1, inputSampleRate: 48000 });
    writer.finish();
    expect(() => writer.addPacket(Buffer.alloc(1), 960)).toThrow();
    expect(() => writer.finish()).toThrow();
  });

  it("picks a serial number when none is given", () => {
    const serials = new Set(
      Array.from({ length: 5 }, () => {
        const pages = readOggPages(createOggOpusWriter({ channels: 1, inputSampleRate: 48000 }).finish());
        return pages[0]!.serial;
      }),
    );
    expect(serials.size).toBeGreaterThan(1);
  });
});

describe("readOggPages", () => {
  it("flags a corrupted page through its CRC", () => {
    const { file } = write([300, 20]);
    const pages = readOggPages(file);
    const target = pages[2]!;
    file[target.offset + target.segments.length + 27 + 5]! ^= 0x01;
    expect(readOggPages(file).map((p) => p.crcValid)).toEqual([true, true, false]);
  });

  it("rejects bytes that are not Ogg pages and truncated pages", () => {
    expect(() => readOggPages(Buffer.from("RIFF0000WAVEfmt nothing here at all"))).toThrow(/no Ogg page/);
    const { file } = write([300]);
    expect(() => readOggPages(file.subarray(0, file.length - 1))).toThrow(/truncated/);
  });
});
