import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { readResultArchive } from "../../../src/providers/minimax/result-archive.ts";
import { UpstreamError } from "../../../src/speech/errors.ts";
import {
  buildTar,
  MALICIOUS_TAR_VARIANTS,
  maliciousTar,
  type TarEntry,
  tarHeader,
} from "../../fakes/audio/tar.ts";

const AUDIO = Buffer.from("ID3 pretend mp3 bytes ".repeat(40));
const TITLES = [
  {
    text: "One code.",
    pronounce_text: "One code.",
    time_begin: 0,
    time_end: 1037.7,
    text_begin: 0,
    text_end: 9,
  },
];
const EXTRA = { audio_length: 1037, audio_sample_rate: 32000, audio_size: AUDIO.length, word_count: 2 };

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const trio = (dir: string, stem: string, audio = AUDIO): TarEntry[] => [
  { name: `${dir}${stem}.mp3`, content: audio },
  { name: `${dir}${stem}.titles`, content: json(TITLES) },
  { name: `${dir}${stem}.extra`, content: json(EXTRA) },
];

async function rejection(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error("expected the archive to be rejected");
}

async function* inPieces(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function packed(entries: { header: tar.Header | (Partial<tar.Header> & { name: string }); body?: Buffer }[]) {
  const pack = tar.pack();
  for (const e of entries) pack.entry(e.header, e.body ?? Buffer.alloc(0));
  pack.finalize();
  return (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  })();
}

describe("readResultArchive", () => {
  it("unpacks a text-input result: audio, subtitles and extra", async () => {
    const { parts } = await readResultArchive(buildTar(trio("", "content-123")));
    expect(parts).toEqual([
      {
        name: "content-123.mp3",
        audio: AUDIO,
        format: "mp3",
        subtitles: [{ text: "One code.", time_begin: 0, time_end: 1037.7, text_begin: 0, text_end: 9 }],
        extra: EXTRA,
      },
    ]);
  });

  it("strips unknown subtitle fields down to the shared segment shape", async () => {
    const { parts } = await readResultArchive(buildTar(trio("", "content-1")));
    expect(parts[0]!.subtitles![0]).not.toHaveProperty("pronounce_text");
  });

  it("keeps folder order and groups zip-input trios per folder", async () => {
    const entries: TarEntry[] = [
      { name: "1", type: "directory" },
      ...trio("1/", "title-7", Buffer.from("ID3t1")),
      ...trio("1/", "content-7", Buffer.from("ID3c1")),
      { name: "2", type: "directory" },
      // Same basenames in another folder must not merge with folder 1.
      ...trio("2/", "content-7", Buffer.from("ID3c2")),
      ...trio("2/", "extra-8", Buffer.from("ID3e2")),
    ];
    const { parts } = await readResultArchive(buildTar(entries));
    expect(parts.map((p) => [p.name, p.audio.toString()])).toEqual([
      ["title-7.mp3", "ID3t1"],
      ["content-7.mp3", "ID3c1"],
      ["content-7.mp3", "ID3c2"],
      ["extra-8.mp3", "ID3e2"],
    ]);
    expect(parts.every((p) => p.subtitles && p.extra)).toBe(true);
  });

  it("takes the format from the extension and tolerates missing sidecars", async () => {
    const flac = Buffer.concat([Buffer.from("fLaC"), AUDIO]);
    const { parts } = await readResultArchive(buildTar([{ name: "out/content-9.flac", content: flac }]));
    expect(parts).toEqual([
      { name: "content-9.flac", audio: flac, format: "flac", subtitles: undefined, extra: undefined },
    ]);
  });

  it("reads from a stream in small pieces", async () => {
    const bytes = buildTar(trio("", "content-5"));
    const { parts } = await readResultArchive(inPieces(bytes, 100));
    expect(parts[0]!.audio).toEqual(AUDIO);
  });

  it("accepts what tar-stream's packer writes, including PAX long names", async () => {
    const long = `${"d".repeat(120)}/content-77.mp3`;
    const bytes = await packed([{ header: { name: long }, body: AUDIO }]);
    const { parts } = await readResultArchive(bytes);
    expect(parts[0]!.name).toBe("content-77.mp3");
  });

  describe("hostile archives (the fake's variants)", () => {
    it.each(MALICIOUS_TAR_VARIANTS.filter((v) => v !== "hugeTotal"))("rejects %s", async (variant) => {
      const err = await rejection(readResultArchive(maliciousTar(variant, trio("", "content-1"))));
      expect(err.message).toMatch(/archive rejected/);
    });

    it("rejects a huge total without reading it all", async () => {
      const bytes = maliciousTar("hugeTotal", trio("", "content-1"), {
        hugeEntries: 12,
        hugeEntryBytes: 1000,
      });
      const err = await rejection(readResultArchive(bytes, { maxTotalBytes: 5000 }));
      expect(err.message).toMatch(/exceed 5000 bytes/);
    });
  });

  it.each([
    ["../evil.mp3", /path traversal/],
    ["a/../../evil.mp3", /path traversal/],
    ["a\\..\\..\\evil.mp3", /path traversal/],
    ["/etc/passwd", /absolute path/],
    ["C:/Windows/evil.mp3", /absolute path/],
  ])("rejects the path %s", async (name, message) => {
    const err = await rejection(
      readResultArchive(buildTar([...trio("", "content-1"), { name, content: AUDIO }])),
    );
    expect(err.message).toMatch(message);
  });

  it.each(["fifo", "character-device", "block-device"] as const)("rejects a %s entry", async (type) => {
    const bytes = await packed([{ header: { name: "content-1.mp3", type } }]);
    expect((await rejection(readResultArchive(bytes))).message).toMatch(new RegExp(`is a ${type}`));
  });

  it("checks the entry size from the header, before any body byte arrives", async () => {
    let bodyRequested = false;
    async function* headerThenStall(): AsyncGenerator<Uint8Array> {
      yield tarHeader({ name: "content-1.mp3", declaredSize: 5 * 1024 ** 3 });
      bodyRequested = true;
      await new Promise(() => {});
    }
    const err = await rejection(readResultArchive(headerThenStall()));
    expect(err.message).toMatch(/over the 209715200-byte limit/);
    expect(bodyRequested).toBe(true);
  });

  it("applies a smaller entry limit", async () => {
    const err = await rejection(readResultArchive(buildTar(trio("", "content-1")), { maxEntryBytes: 100 }));
    expect(err.message).toMatch(/over the 100-byte limit/);
  });

  it("counts entries, directories included", async () => {
    const dirs: TarEntry[] = [...Array(5)].map((_, i) => ({ name: `d${i}`, type: "directory" }));
    const bytes = buildTar([...dirs, ...trio("", "content-1")]);
    expect((await rejection(readResultArchive(bytes, { maxEntries: 7 }))).message).toMatch(
      /more than 7 entries/,
    );
    await expect(readResultArchive(bytes, { maxEntries: 8 })).resolves.toBeDefined();
  });

  it("rejects an archive cut at any point", async () => {
    const whole = buildTar(trio("", "content-1"));
    // Everything short of the last entry's data plus one end block is incomplete.
    const complete = whole.length - 512;
    for (let end = 0; end < complete; end += 97) {
      await rejection(readResultArchive(whole.subarray(0, end)));
    }
    // Exactly at an entry boundary, with no end marker: tar-stream alone would accept it.
    const titlesEnd = 512 + Math.ceil(AUDIO.length / 512) * 512 + 512 + 512;
    expect((await rejection(readResultArchive(whole.subarray(0, titlesEnd)))).message).toMatch(/truncated/);
  });

  it("rejects garbage and an empty input", async () => {
    await rejection(readResultArchive(Buffer.from("<Error><Code>AccessDenied</Code></Error>".repeat(20))));
    await rejection(readResultArchive(Buffer.alloc(0)));
  });

  it("rejects an archive without audio", async () => {
    const err = await rejection(
      readResultArchive(buildTar([{ name: "content-1.titles", content: json(TITLES) }])),
    );
    expect(err.message).toMatch(/no audio/);
  });

  it.each([
    ["content-1.titles", Buffer.from("not json"), /not valid JSON/],
    ["content-1.titles", json({ text: "an object, not a list" }), /not a subtitle list/],
    ["content-1.extra", json([1, 2]), /not a JSON object/],
  ])("rejects a malformed %s", async (name, content, message) => {
    const bytes = buildTar([
      { name: "content-1.mp3", content: AUDIO },
      { name, content },
    ]);
    expect((await rejection(readResultArchive(bytes))).message).toMatch(message);
  });

  it("rejects a duplicated entry", async () => {
    const bytes = buildTar([...trio("", "content-1"), { name: "content-1.mp3", content: AUDIO }]);
    expect((await rejection(readResultArchive(bytes))).message).toMatch(/duplicate/);
  });
});
