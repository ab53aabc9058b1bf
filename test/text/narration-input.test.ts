import { strToU8, unzipSync, type Zippable, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { describePauseProblems, prepareFileInput, prepareTextInput } from "../../src/text/narration-input.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const MiB = 1024 * 1024;
const utf8 = (s: string) => Buffer.from(s, "utf8");
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const zip = (files: Zippable) => Buffer.from(zipSync(files));
const json = (v: unknown) => strToU8(JSON.stringify(v));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserFacingError);
    return (err as Error).message;
  }
  throw new Error("expected a refusal");
}

/** The members of the prepared zip, as text. */
function unpacked(contentBase64: string | undefined): Record<string, string> {
  const files = unzipSync(Buffer.from(contentBase64 ?? "", "base64"));
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v).toString("utf8")]));
}

describe("prepareTextInput", () => {
  it("trims and counts code points", () => {
    const text = "Hello 世界 👋 <#1#> bye";
    expect(text.length).toBe(21);
    expect(prepareTextInput(`  ${text} \n`)).toEqual({ input: { kind: "text", text }, chars: 20 });
  });

  it.each([
    ["empty", "   \n", {}, "The text is empty."],
    ["over the limit", "abcdef", { maxChars: 5 }, "The text has 6 characters; the limit is 5."],
    [
      "over the default limit",
      "a".repeat(50_001),
      {},
      "The text has 50,001 characters; the limit is 50,000.",
    ],
    ["a bad pause marker", "Hello <#0#> world", {}, "`<#0#>` on line 1 is out of range"],
    ["a marker at the end", "Hello <#1#>", {}, "is at the end of the text"],
  ])("refuses %s", (_name, text, opts, message) => {
    expect(refusal(() => prepareTextInput(text, opts))).toContain(message);
  });

  it("accepts exactly the limit", () => {
    expect(prepareTextInput("a".repeat(50_000)).chars).toBe(50_000);
  });
});

describe("prepareFileInput: .txt", () => {
  it.each([
    [
      "plain UTF-8",
      utf8("Once upon a time <#0.5#> there was a bot."),
      "Once upon a time <#0.5#> there was a bot.",
    ],
    ["a BOM, which is dropped", Buffer.concat([BOM, utf8("Hello")]), "Hello"],
    ["CJK text", utf8("从前有座山。<#1.25#>山里有座庙。"), "从前有座山。<#1.25#>山里有座庙。"],
  ])("accepts %s, re-encoded as UTF-8 without BOM", (_name, bytes, text) => {
    const { input, chars, entries, order } = prepareFileInput(bytes, "Story One.TXT");
    expect(input).toEqual({
      kind: "file",
      fileName: "Story_One.txt",
      contentBase64: Buffer.from(text, "utf8").toString("base64"),
    });
    expect(chars).toBe([...text].length);
    expect({ entries, order }).toEqual({ entries: 1, order: ["Story One.TXT"] });
  });

  it.each([
    ["binary", Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]), {}, "looks binary"],
    ["Latin-1", Buffer.from("café crème", "latin1"), {}, "not valid UTF-8"],
    ["empty", Buffer.alloc(0), {}, "is empty"],
    ["only a BOM and spaces", Buffer.concat([BOM, utf8("  \n")]), {}, "is empty"],
    ["too large", utf8("a".repeat(2 * MiB + 1)), {}, "is 2.0 MiB; the limit is 2.0 MiB"],
    ["too many characters", utf8("a".repeat(100_000)), {}, "has 100,000 characters; the limit is 99,999"],
    ["too many characters (option)", utf8("hello"), { maxChars: 4 }, "has 5 characters; the limit is 4"],
    ["bad pause markers", utf8("<#1#> Hi <#1.234#> there"), {}, "is at the start"],
  ])("refuses %s", (_name, bytes, opts, message) => {
    expect(refusal(() => prepareFileInput(bytes, "story.txt", opts))).toContain(message);
  });

  it("lists every bad marker of a txt, up to a few", () => {
    const message = refusal(() => prepareFileInput(utf8("<#1#> Hi <#1.234#> there <#abc#> end"), "s.txt"));
    expect(message).toContain("`s.txt` has pause markers MiniMax would refuse");
    expect(message).toContain("`<#1#>` on line 1 is at the start");
    expect(message).toContain("`<#1.234#>` on line 1 has more than 2 decimals");
    expect(message).toContain("`<#abc#>` on line 1 is not a number");
  });

  it.each([["report.pdf"], ["essay.docx"], ["README"], ["archive.tar.gz"]])(
    "refuses %s, listing the accepted types",
    (name) => {
      expect(refusal(() => prepareFileInput(utf8("hello"), name))).toContain(
        "send a .txt file (UTF-8) or a .zip of .txt or .json files",
      );
    },
  );
});

describe("prepareFileInput: .zip", () => {
  it("renames a json set to 1.json… in natural order and counts narrated fields", () => {
    const result = prepareFileInput(
      zip({
        "chapter_10.json": json({ title: "Ten", content: "The end." }),
        "chapter_2.json": json({ title: "Two", content: "Middle <#1#> part.", extra: "", other: 5 }),
        "Chapter_1.json": Buffer.concat([BOM, json({ content: "Start." })]),
      }),
      "My Book.zip",
    );
    expect(result.input.fileName).toBe("My_Book.zip");
    expect(result.order).toEqual(["Chapter_1.json", "chapter_2.json", "chapter_10.json"]);
    expect(result.entries).toBe(3);
    expect(result.chars).toBe("Start.".length + "TwoMiddle <#1#> part.".length + "TenThe end.".length);
    const files = unpacked(result.input.contentBase64);
    expect(Object.keys(files)).toEqual(["1.json", "2.json", "3.json"]);
    expect(JSON.parse(files["1.json"]!)).toEqual({ title: "", content: "Start.", extra: "" });
    expect(JSON.parse(files["2.json"]!)).toEqual({ title: "Two", content: "Middle <#1#> part.", extra: "" });
    expect(JSON.parse(files["3.json"]!)).toEqual({ title: "Ten", content: "The end.", extra: "" });
  });

  it("renames a txt set to 1.txt… and drops BOMs", () => {
    const result = prepareFileInput(
      zip({ "b.txt": utf8("Second."), "a.txt": Buffer.concat([BOM, utf8("First 一.")]) }),
      "set.zip",
    );
    expect(unpacked(result.input.contentBase64)).toEqual({ "1.txt": "First 一.", "2.txt": "Second." });
    expect(result.chars).toBe(15);
  });

  it("ignores macOS metadata entries", () => {
    const result = prepareFileInput(
      zip({
        "1.txt": utf8("Hello."),
        "__MACOSX/._1.txt": new Uint8Array([0, 5, 22, 7]),
        ".DS_Store": new Uint8Array(8),
      }),
      "mac.zip",
    );
    expect(Object.keys(unpacked(result.input.contentBase64))).toEqual(["1.txt"]);
  });

  it("builds the same bytes for the same input", () => {
    const bytes = zip({ "a.txt": utf8("Hello.") });
    expect(prepareFileInput(bytes, "a.zip").input.contentBase64).toBe(
      prepareFileInput(bytes, "a.zip").input.contentBase64,
    );
  });

  it("accepts stored (uncompressed) members", () => {
    const bytes = Buffer.from(zipSync({ "a.txt": utf8("Stored text.") }, { level: 0 }));
    expect(unpacked(prepareFileInput(bytes, "a.zip").input.contentBase64)).toEqual({
      "1.txt": "Stored text.",
    });
  });

  const many: Zippable = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`${i}.txt`, utf8("x")]));

  it.each([
    [
      "mixed types",
      zip({ "1.txt": utf8("a"), "2.json": json({ content: "b" }) }),
      {},
      "mixes .txt and .json",
    ],
    ["a ../ entry", zip({ "../evil.txt": utf8("a") }), {}, "`../evil.txt` points outside the zip"],
    ["an absolute path", zip({ "/etc/evil.txt": utf8("a") }), {}, "points outside the zip"],
    ["a nested folder", zip({ "book/1.txt": utf8("a") }), {}, "`book/1.txt` is inside a folder"],
    ["a folder entry", zip({ "book/": new Uint8Array(0) }), {}, "contains the folder `book/`"],
    [
      "another type",
      zip({ "1.txt": utf8("a"), "cover.jpg": new Uint8Array(4) }),
      {},
      "`cover.jpg` is not a .txt or .json",
    ],
    ["too many entries", zip(many), {}, "holds 51 files; the limit is 50"],
    [
      "too many entries (option)",
      zip({ "1.txt": utf8("a"), "2.txt": utf8("b") }),
      { maxEntries: 1 },
      "limit is 1",
    ],
    ["no members", zip({}), {}, "holds no .txt or .json files"],
    ["invalid JSON", zip({ "1.json": strToU8("{ title: 'x' }") }), {}, "`1.json` is not valid JSON"],
    ["a JSON array", zip({ "1.json": json(["text"]) }), {}, "must be a JSON object"],
    [
      "JSON without text fields",
      zip({ "1.json": json({ name: "x", body: "y" }) }),
      {},
      "`1.json` has no text",
    ],
    ["JSON with blank fields", zip({ "1.json": json({ title: " ", content: "" }) }), {}, "has no text"],
    [
      "a non-string field",
      zip({ "1.json": json({ content: 42 }) }),
      {},
      '`1.json`: "content" must be a string',
    ],
    ["a bad marker in JSON", zip({ "1.json": json({ content: "a <#100#> b" }) }), {}, '`1.json` ("content")'],
    [
      "a bad marker in a txt",
      zip({ "1.txt": utf8("a <#1#><#2#> b") }),
      {},
      "comes right after another pause",
    ],
    ["a binary txt", zip({ "1.txt": new Uint8Array([1, 0, 2]) }), {}, "`1.txt`: The file looks binary"],
    [
      "a Latin-1 txt",
      zip({ "1.txt": Buffer.from("é", "latin1") }),
      {},
      "`1.txt`: The file is not valid UTF-8",
    ],
    ["duplicate names", zip({ "A.txt": utf8("a"), "a.txt": utf8("b") }), {}, "appears twice"],
    [
      "an entry over the limit",
      zip({ "1.txt": utf8("a".repeat(MiB + 1)) }),
      {},
      "`1.txt` unpacks to 1.0 MiB",
    ],
    [
      "a total over the limit",
      zip({ "1.txt": utf8("a".repeat(600)), "2.txt": utf8("b".repeat(600)) }),
      { maxTotalBytes: 1000 },
      "unpacks to more than 1000 B",
    ],
    [
      "too many characters over all members",
      zip({ "1.txt": utf8("a".repeat(60_000)), "2.txt": utf8("b".repeat(40_000)) }),
      {},
      "has 100,000 characters; the limit is 99,999",
    ],
    ["not a zip at all", utf8("hello, I am text"), {}, "not a valid zip"],
  ])("refuses %s", (_name, bytes, opts, message) => {
    expect(refusal(() => prepareFileInput(bytes, "in.zip", opts))).toContain(message);
  });

  // 50 MiB of zeros deflates to about 50 KiB.
  const bomb = zip({ "1.txt": new Uint8Array(50 * MiB) });

  it("refuses a zip bomb by its declared size, before inflating it", () => {
    expect(bomb.length).toBeLessThan(100 * 1024);
    // The exact size can only come from the directory: inflation would stop at the 1 MiB limit.
    expect(refusal(() => prepareFileInput(bomb, "bomb.zip"))).toContain("`1.txt` unpacks to 50.0 MiB");
  });

  it("refuses a zip bomb that lies about its size, stopping at the limit", () => {
    const liar = lieAboutSize(bomb, 100);
    expect(refusal(() => prepareFileInput(liar, "bomb.zip"))).toContain(
      "`1.txt` unpacks to more than 1.0 MiB",
    );
  });

  it("refuses a member whose content does not match its declared size", () => {
    const liar = lieAboutSize(zip({ "1.txt": utf8("Hello there.") }), 5);
    expect(refusal(() => prepareFileInput(liar, "liar.zip"))).toContain("`1.txt` in the zip is damaged");
  });

  it("refuses a zip with a corrupted member", () => {
    const bytes = zip({ "1.txt": utf8("Hello there, this text gets corrupted. ".repeat(20)) });
    bytes[45] = (bytes[45]! ^ 0xff) & 0xff;
    expect(refusal(() => prepareFileInput(bytes, "bad.zip"))).toMatch(/damaged/);
  });
});

describe("describePauseProblems", () => {
  it("lists the first five problems and counts the rest", () => {
    const message = describePauseProblems(
      "The text",
      Array.from({ length: 8 }, (_, i) => `problem ${i + 1}`),
    );
    expect(message.split("\n")).toEqual([
      "The text has pause markers MiniMax would refuse:",
      "• problem 1",
      "• problem 2",
      "• problem 3",
      "• problem 4",
      "• problem 5",
      "…and 3 more.",
    ]);
  });
});

/** Rewrites the uncompressed size of every entry, in local headers and the central directory. */
function lieAboutSize(bytes: Buffer, size: number): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt32LE(size, i + 22);
    else if (sig === 0x02014b50) out.writeUInt32LE(size, i + 24);
  }
  return out;
}
