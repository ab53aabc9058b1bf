import { describe, expect, it } from "vitest";
import {
  buildTar,
  MALICIOUS_TAR_VARIANTS,
  maliciousTar,
  maliciousTarChunks,
  type TarEntry,
  tarHeader,
} from "./audio/tar.ts";
import { untar } from "./test-helpers.ts";

const legit: TarEntry[] = [
  { name: "content-42.mp3", content: Buffer.alloc(3000, 7) },
  { name: "content-42.titles", content: Buffer.from('[{"text":"hi","time_begin":0,"time_end":300}]') },
  { name: "content-42.extra", content: Buffer.from('{"audio_length":300}') },
];

describe("buildTar", () => {
  it("writes a ustar archive tar-stream reads back byte for byte", async () => {
    const entries = await untar(buildTar([{ name: "1/", type: "directory" }, ...legit]));
    expect(entries.map((e) => [e.name, e.type])).toEqual([
      ["1/", "directory"],
      ["content-42.mp3", "file"],
      ["content-42.titles", "file"],
      ["content-42.extra", "file"],
    ]);
    expect(entries[1]!.content.equals(legit[0]!.content!)).toBe(true);
    expect(entries[3]!.content.toString()).toBe('{"audio_length":300}');
  });

  it("pads to 512-byte blocks and ends with two zero blocks", () => {
    const tar = buildTar(legit);
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(tar.length - 1024).every((b) => b === 0)).toBe(true);
    expect(tar.toString("ascii", 257, 263)).toBe("ustar\0");
  });

  it("puts long paths in the ustar prefix field", async () => {
    const name = `${"deep/".repeat(30)}content-1.mp3`;
    const [entry] = await untar(buildTar([{ name, content: Buffer.from("x") }]));
    expect(entry!.name).toBe(name);
  });

  it("has a header checksum other tools accept", () => {
    const header = tarHeader({ name: "a.txt", content: Buffer.from("abc") });
    const stored = Number.parseInt(header.toString("ascii", 148, 154), 8);
    const copy = Buffer.from(header);
    copy.fill(0x20, 148, 156);
    expect(copy.reduce((s, b) => s + b, 0)).toBe(stored);
  });
});

describe("maliciousTar", () => {
  it("traversal and absolute variants add an entry escaping the extraction directory", async () => {
    expect((await untar(maliciousTar("traversal", legit))).map((e) => e.name)).toContain("../evil.mp3");
    expect((await untar(maliciousTar("absolute", legit))).map((e) => e.name)).toContain("/etc/x");
  });

  it.each(["symlink", "hardlink"] as const)(
    "%s variant replaces the audio entry with a link to /etc/passwd",
    async (variant) => {
      const entries = await untar(maliciousTar(variant, legit));
      const audio = entries.find((e) => e.name === "content-42.mp3")!;
      expect(audio.type).toBe(variant === "symlink" ? "symlink" : "link");
      expect(audio.linkname).toBe("/etc/passwd");
      expect(entries.filter((e) => e.type === "file").map((e) => e.name)).toEqual([
        "content-42.titles",
        "content-42.extra",
      ]);
    },
  );

  it("oversized variant declares gigabytes for the audio but holds a few kilobytes", () => {
    const tar = maliciousTar("oversized", legit);
    const declared = Number.parseInt(tar.toString("ascii", 124, 135), 8);
    expect(declared).toBe(4 * 1024 ** 3);
    expect(tar.length).toBeLessThan(10_000);
  });

  it("hugeTotal variant streams many real entries lazily", async () => {
    const chunks = maliciousTarChunks("hugeTotal", legit, { hugeEntries: 5, hugeEntryBytes: 2048 });
    const entries = await untar(Buffer.concat([...chunks]));
    expect(entries).toHaveLength(5);
    expect(entries.every((e) => e.size === 2048 && /^content-42-\d\.mp3$/.test(e.name))).toBe(true);
    // The default totals 256 MiB: only check it is produced lazily, chunk by chunk.
    const lazy = maliciousTarChunks("hugeTotal", legit);
    let seen = 0;
    for (const chunk of lazy) {
      seen += chunk.length;
      if (seen > 4 * 1024 * 1024) break;
    }
    expect(seen).toBeGreaterThan(4 * 1024 * 1024);
  });

  it("truncated and garbage variants make a tar reader fail", async () => {
    const truncated = maliciousTar("truncated", legit);
    expect(truncated.length).toBeGreaterThan(512);
    expect(truncated.length).toBeLessThan(buildTar(legit).length);
    await expect(untar(truncated)).rejects.toThrow();
    await expect(untar(maliciousTar("garbage", legit))).rejects.toThrow();
  });

  it("covers every listed variant", () => {
    for (const v of MALICIOUS_TAR_VARIANTS)
      expect(maliciousTar(v, legit, { hugeEntries: 1, hugeEntryBytes: 1 }).length).toBeGreaterThan(0);
  });
});
