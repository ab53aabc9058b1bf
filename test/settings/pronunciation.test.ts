import { describe, expect, it } from "vitest";
import { toSyncBody } from "../../src/providers/minimax/request-body.ts";
import {
  createPronunciationStore,
  entryFrom,
  exportJson,
  exportText,
  formatEntry,
  MAX_ENTRIES,
  type PronunciationEntry,
  PronunciationImportError,
  PronunciationLimitError,
  parseEntry,
  parseImport,
} from "../../src/settings/pronunciation.ts";
import { SpeechSettingsSchema } from "../../src/speech/types.ts";

function memory() {
  const m = new Map<string, unknown>();
  return {
    m,
    kv: {
      get: async (k: string) => m.get(k),
      set: async (k: string, v: unknown) => m.set(k, structuredClone(v)),
      delete: async (k: string) => m.delete(k),
    },
  };
}

const e = (original: string, replacement: string): PronunciationEntry => ({ original, replacement });

describe("parseEntry", () => {
  it.each([
    ["omg/oh my god", e("omg", "oh my god")],
    ["处理/(chu3)(li3)", e("处理", "(chu3)(li3)")],
    ["read/(riːd)", e("read", "(riːd)")],
    ["東京/トウキョウ", e("東京", "トウキョウ")],
    ["  New York / (nuː jɔːrk)  ", e("New York", "(nuː jɔːrk)")],
    ["广州/(gwong2)(zau1)", e("广州", "(gwong2)(zau1)")], // Jyutping reaches tone 6
    ["了/(le5)", e("了", "(le5)")], // neutral tone
    ["女/(nü3)", e("女", "(nü3)")],
    ["C#/C sharp", e("C#", "C sharp")],
    [`${"a".repeat(50)}/${"b".repeat(100)}`, e("a".repeat(50), "b".repeat(100))],
  ])("accepts %j", (line, entry) => {
    expect(parseEntry(line)).toEqual({ ok: true, entry });
  });

  it.each([
    ["omg", /one `\/`/],
    ["a/b/c", /one `\/`/],
    ["/oh my god", /word to replace is empty/],
    ["omg/   ", /empty/],
    ["omg/oh\nmy", /one line/],
    ["omg/oh\u0007", /control/],
    ["#tag/hashtag", /cannot start with `#`/],
    [`${"a".repeat(51)}/x`, /longer than 50/],
    [`x/${"b".repeat(101)}`, /longer than 100/],
    ["处理/(chu7)(li3)", /tones are 1–5 in pinyin and 1–6/],
    ["处理/(chu3li)", /not pinyin or Jyutping/],
    ["read/(r33d)", /not pinyin or Jyutping/],
    ["read/oh (riːd)", /whole pronunciation in parentheses/],
    ["read/(riːd", /whole pronunciation in parentheses/],
    ["read/()", /Empty parentheses/],
    ["read/(r!d)", /not IPA/],
  ])("refuses %j with a reason", (line, reason) => {
    const result = parseEntry(line);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it("counts characters, not UTF-16 units: 50 CJK extension characters fit", () => {
    expect(parseEntry(`${"𠀀".repeat(50)}/x`).ok).toBe(true);
  });

  it("entryFrom names a slash inside a part instead of a confusing split", () => {
    expect(entryFrom("w/o", "without")).toMatchObject({ ok: false, reason: /word cannot contain `\/`/ });
    expect(entryFrom("omg", "oh my god")).toEqual({ ok: true, entry: e("omg", "oh my god") });
  });

  it("every accepted entry fits SpeechSettings.pronunciation (3–200 characters)", () => {
    const longest = formatEntry(e("a".repeat(50), "b".repeat(100)));
    const shortest = formatEntry(e("a", "b"));
    expect(() =>
      SpeechSettingsSchema.parse({ model: "m", voiceId: "v", pronunciation: [longest, shortest] }),
    ).not.toThrow();
  });
});

describe("parseImport", () => {
  it("reads .txt: comments, blank lines, CRLF and a BOM skipped; bad lines reported by number", () => {
    const text =
      "\ufeff# my dictionary\r\nomg/oh my god\r\n\r\n  # indented comment\nbroken line\n处理/(chu3)(li3)\n";
    const { entries, problems } = parseImport(text, "Dict.TXT");
    expect(entries).toEqual([e("omg", "oh my god"), e("处理", "(chu3)(li3)")]);
    expect(problems).toEqual([{ at: 5, reason: expect.stringMatching(/one `\/`/) }]);
  });

  it("reads .json arrays of strings, of objects, and MiniMax's {tone: [...]}", () => {
    expect(parseImport('["omg/oh my god", "read/(riːd)"]', "a.json").entries).toEqual([
      e("omg", "oh my god"),
      e("read", "(riːd)"),
    ]);
    const objects = parseImport(
      JSON.stringify([{ original: "東京", replacement: "トウキョウ" }, { original: "x" }, 42, "w/o/x"]),
      "a.json",
    );
    expect(objects.entries).toEqual([e("東京", "トウキョウ")]);
    expect(objects.problems.map((p) => p.at)).toEqual([2, 3, 4]);
    expect(parseImport('{"tone": ["omg/oh my god"]}', "a.json").entries).toEqual([e("omg", "oh my god")]);
  });

  it("refuses a whole file that is not JSON, not an array, or not .txt/.json", () => {
    expect(() => parseImport("{oops", "a.json")).toThrow(PronunciationImportError);
    expect(() => parseImport('{"a": 1}', "a.json")).toThrow(/must hold an array/);
    expect(() => parseImport("omg/oh my god", "a.csv")).toThrow(/\.txt or \.json/);
  });

  it("a later duplicate replaces the earlier one, in the earlier one's place", () => {
    const { entries, problems } = parseImport("a/1\nb/2\na/3\n", "d.txt");
    expect(entries).toEqual([e("a", "3"), e("b", "2")]);
    expect(problems).toEqual([]);
  });

  it(`keeps at most ${MAX_ENTRIES} entries and says the rest were dropped`, () => {
    const lines = Array.from({ length: MAX_ENTRIES + 5 }, (_, i) => `w${i}/word ${i}`).join("\n");
    const { entries, problems } = parseImport(lines, "big.txt");
    expect(entries).toHaveLength(MAX_ENTRIES);
    expect(entries.at(-1)).toEqual(e(`w${MAX_ENTRIES - 1}`, `word ${MAX_ENTRIES - 1}`));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.reason).toMatch(/205 entries; a dictionary holds at most 200/);
  });

  it("export round-trips through import, in both formats", () => {
    const entries = [
      e("omg", "oh my god"),
      e("处理", "(chu3)(li3)"),
      e("read", "(riːd)"),
      e("東京", "トウキョウ"),
    ];
    expect(parseImport(exportText(entries), "x.txt")).toEqual({ entries, problems: [] });
    expect(parseImport(exportJson(entries), "x.json")).toEqual({ entries, problems: [] });
    expect(JSON.parse(exportJson(entries))).toEqual(entries);
  });
});

describe("pronunciation store", () => {
  it("adds, replaces the same original, removes, and keeps guilds apart", async () => {
    const { kv, m } = memory();
    const store = createPronunciationStore(kv);
    expect(await store.add("g1", e("omg", "oh my god"))).toEqual({ replaced: undefined });
    await store.add("g1", e("read", "(riːd)"));
    expect(await store.add("g1", e("omg", "oh my gosh"))).toEqual({ replaced: e("omg", "oh my god") });
    expect(await store.list("g1")).toEqual([e("omg", "oh my gosh"), e("read", "(riːd)")]);
    expect(await store.tone("g1")).toEqual(["omg/oh my gosh", "read/(riːd)"]);
    expect(await store.tone("g2")).toBeUndefined();
    expect(await store.remove("g1", "OMG")).toBe(false); // originals match exactly
    expect(await store.remove("g1", "omg")).toBe(true);
    expect(await store.remove("g1", "read")).toBe(true);
    expect(await store.tone("g1")).toBeUndefined();
    expect(m.has("g1")).toBe(false); // an emptied dictionary leaves nothing behind
  });

  it("merge counts new and updated entries; replaceAll drops the rest", async () => {
    const store = createPronunciationStore(memory().kv);
    await store.add("g", e("a", "1"));
    await store.add("g", e("b", "2"));
    expect(await store.merge("g", [e("b", "two"), e("c", "3")])).toEqual({ added: 1, replaced: 1, total: 3 });
    expect(await store.list("g")).toEqual([e("a", "1"), e("b", "two"), e("c", "3")]);
    expect(await store.replaceAll("g", [e("z", "26")])).toMatchObject({ total: 1 });
    expect(await store.list("g")).toEqual([e("z", "26")]);
  });

  it(`refuses to grow past ${MAX_ENTRIES} entries, but still lets a full dictionary update an entry`, async () => {
    const store = createPronunciationStore(memory().kv);
    const full = Array.from({ length: MAX_ENTRIES }, (_, i) => e(`w${i}`, `word ${i}`));
    await store.replaceAll("g", full);
    await expect(store.add("g", e("one more", "x"))).rejects.toThrow(PronunciationLimitError);
    await expect(store.merge("g", [e("extra", "x")])).rejects.toThrow(/201 entries/);
    await store.add("g", e("w0", "changed"));
    expect((await store.list("g"))[0]).toEqual(e("w0", "changed"));
    expect(await store.list("g")).toHaveLength(MAX_ENTRIES);
  });

  it("does not lose concurrent additions to the same guild", async () => {
    const store = createPronunciationStore(memory().kv);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.add("g", e(`w${i}`, `word ${i}`))));
    expect(await store.list("g")).toHaveLength(20);
  });

  it("refuses an invalid hand-built entry instead of storing what would vanish on read", async () => {
    const store = createPronunciationStore(memory().kv);
    await expect(store.add("g", e("a/b", "c"))).rejects.toThrow(/one `\/`/);
    expect(await store.list("g")).toEqual([]);
  });

  it("drops stored lines that no longer validate rather than failing every request", async () => {
    const { kv, m } = memory();
    m.set("g", ["omg/oh my god", "bad", 7, "处理/(chu9)"]);
    expect(await createPronunciationStore(kv).tone("g")).toEqual(["omg/oh my god"]);
    m.set("g2", { not: "a list" });
    expect(await createPronunciationStore(kv).list("g2")).toEqual([]);
  });
});

describe("the dictionary on the wire", () => {
  it("a streaming body carries pronunciation_dict.tone like a plain sync one", () => {
    const req = {
      model: "speech-2.6-hd",
      voiceId: "Wise_Woman",
      format: "mp3" as const,
      text: "omg, 处理 this",
      pronunciation: ["omg/oh my god", "处理/(chu3)(li3)"],
    };
    const streamed = toSyncBody(req, { stream: true });
    expect(streamed.stream).toBe(true);
    expect(streamed.pronunciation_dict).toEqual({ tone: ["omg/oh my god", "处理/(chu3)(li3)"] });
    expect(toSyncBody(req, { stream: false, outputFormat: "hex" }).pronunciation_dict).toEqual(
      streamed.pronunciation_dict,
    );
  });
});
