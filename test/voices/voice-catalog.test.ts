import { describe, expect, it } from "vitest";
import type { VoiceInfo } from "../../src/speech/types.ts";
import {
  browseVoices,
  filterChoices,
  languageBoostChoices,
  voiceLanguages,
} from "../../src/voices/voice-browser.ts";
import { BUILTIN_VOICES, createVoiceCatalog, voiceLanguage } from "../../src/voices/voice-catalog.ts";

const v = (voiceId: string, name?: string): VoiceInfo => ({
  voiceId,
  name,
  description: undefined,
  category: "system",
});
const LIST = [
  v("Wise_Woman"),
  v("English_CalmWoman", "Calm Woman"),
  v("English_Wiselady", "Wise Lady"),
  v("Japanese_KindLady"),
  v("Chinese (Mandarin)_News_Anchor", "新闻"),
];

function provider(list: VoiceInfo[] | (() => Promise<VoiceInfo[]>)) {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    listVoices: async () => {
      calls++;
      return typeof list === "function" ? list() : list;
    },
  };
}

describe("voice catalog", () => {
  it("offers Wise_Woman for 'wise', and at most 25 choices", async () => {
    const many = [...LIST, ...Array.from({ length: 60 }, (_, i) => v(`English_Wise${i}`))];
    const catalog = createVoiceCatalog({ provider: provider(many) });
    const choices = await catalog.search("wise");
    expect(choices.map((c) => c.value)).toContain("Wise_Woman");
    expect(choices.length).toBeLessThanOrEqual(25);
    expect(choices.every((c) => c.name.length <= 100 && c.value.length <= 100)).toBe(true);
  });

  it("puts the member's recent voices first", async () => {
    const catalog = createVoiceCatalog({ provider: provider(LIST) });
    const empty = await catalog.search("", { recent: ["Japanese_KindLady"] });
    expect(empty[0]).toEqual({ name: "Japanese_KindLady", value: "Japanese_KindLady" });
    const lady = await catalog.search("lady", { recent: ["Japanese_KindLady"] });
    expect(lady[0]?.value).toBe("Japanese_KindLady");
    expect(lady.map((c) => c.value)).toContain("English_Wiselady");
  });

  it("caches the list for the TTL, then refreshes", async () => {
    let t = 0;
    const p = provider(LIST);
    const catalog = createVoiceCatalog({ provider: p, ttlMs: 1000, now: () => t });
    await catalog.search("a");
    await catalog.search("b");
    expect(p.calls).toBe(1);
    t = 1500;
    await catalog.list();
    expect(p.calls).toBe(2);
  });

  it("answers within its budget from the built-in list when the provider is slow or failing", async () => {
    const slow = createVoiceCatalog({ provider: provider(() => new Promise(() => {})), budgetMs: 50 });
    const t0 = Date.now();
    const choices = await slow.search("wise");
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(choices.map((c) => c.value)).toContain("Wise_Woman");
    const errors: unknown[] = [];
    const failing = createVoiceCatalog({
      provider: provider(() => Promise.reject(new Error("down"))),
      onError: (e) => errors.push(e),
    });
    expect((await failing.list()).map((x) => x.voiceId)).toEqual([...BUILTIN_VOICES]);
    expect(errors).toHaveLength(1);
  });

  it("uses the built-in voices for a provider without a voice list", async () => {
    const catalog = createVoiceCatalog({ provider: {} });
    expect((await catalog.list()).length).toBe(BUILTIN_VOICES.length);
  });

  it.each([
    ["English_CalmWoman", "English"],
    ["Chinese (Mandarin)_News_Anchor", "Chinese (Mandarin)"],
    ["Wise_Woman", "Multilingual"],
    ["greek_male_1a_v1", "Greek"],
    ["male-qn-qingse", "Multilingual"],
  ])("voiceLanguage(%s) = %s", (id, lang) => {
    expect(voiceLanguage(id)).toBe(lang);
  });
});

describe("voice browser", () => {
  it.each([
    [{}, 5, 1],
    [{ language: "english" }, 2, 1],
    [{ query: "lady" }, 2, 1],
    [{ pageSize: 2 }, 2, 3],
    [{ language: "Klingon" }, 0, 1],
  ])("browseVoices(%j) shows %i items on %i pages", (opts, items, pages) => {
    const view = browseVoices(LIST, opts);
    expect(view.items).toHaveLength(items);
    expect(view.pages).toBe(pages);
  });

  it("clamps the page", () => {
    expect(browseVoices(LIST, { page: 99, pageSize: 2 }).page).toBe(2);
    expect(browseVoices(LIST, { page: -3 }).page).toBe(0);
  });

  it("lists languages by voice count", () => {
    expect(voiceLanguages([...LIST, v("English_X")])[0]).toBe("English");
  });

  it("filters choices with prefix matches first", () => {
    expect(
      languageBoostChoices("ch")
        .map((c) => c.value)
        .slice(0, 2),
    ).toEqual(["Chinese", "Chinese,Yue"]);
    expect(languageBoostChoices("").length).toBe(25);
    expect(languageBoostChoices("auto")).toEqual([{ name: "auto (detect)", value: "auto" }]);
    expect(filterChoices(["Czech", "Chinese"], "c").map((c) => c.value)).toEqual(["Czech", "Chinese"]);
  });
});

describe("voice catalog with a partial provider list", () => {
  it("still offers the built-in multilingual voices", async () => {
    const catalog = createVoiceCatalog({ provider: provider([v("English_CalmWoman")]) });
    expect((await catalog.search("wise")).map((c) => c.value)).toContain("Wise_Woman");
    expect((await catalog.list()).map((x) => x.voiceId)).toContain("English_CalmWoman");
  });
});
