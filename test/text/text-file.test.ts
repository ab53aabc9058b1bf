import { describe, expect, it } from "vitest";
import { decodeTextFile, formatBytes, TextFileError } from "../../src/text/text-file.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("decodeTextFile", () => {
  it.each([
    ["plain ASCII", enc("Hello there."), "Hello there."],
    ["UTF-8 with BOM (BOM dropped)", Uint8Array.from([0xef, 0xbb, 0xbf, ...enc("héllo")]), "héllo"],
    ["CJK", enc("你好，世界"), "你好，世界"],
  ])("decodes %s", (_name, bytes, expected) => {
    expect(decodeTextFile(bytes, { maxBytes: 1000 })).toBe(expected);
  });

  it.each([
    ["too large", enc("x".repeat(11)), /11 B; the limit is 10 B/],
    ["binary", Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]), /looks binary/],
    ["Latin-1, not UTF-8", Uint8Array.from([0x63, 0x61, 0x66, 0xe9]), /not valid UTF-8/],
    ["only whitespace", enc(" \n\t "), /empty/],
  ])("refuses a file that is %s", (_name, bytes, message) => {
    expect(() => decodeTextFile(bytes, { maxBytes: 10 })).toThrow(TextFileError);
    expect(() => decodeTextFile(bytes, { maxBytes: 10 })).toThrow(message);
  });

  it.each([
    [512, "512 B"],
    [2048, "2.0 KiB"],
    [5 * 1024 * 1024, "5.0 MiB"],
  ])("formats %i bytes as %s", (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
});
