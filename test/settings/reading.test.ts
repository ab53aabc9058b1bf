import { describe, expect, it } from "vitest";
import { migrateReading, NameTemplateSchema, parseSkipPrefixes } from "../../src/settings/reading.ts";

describe("parseSkipPrefixes", () => {
  it.each<[string, string[]]>([
    ["! //", ["!", "//"]],
    ["  ~   (ooc)  ", ["~", "(ooc)"]],
    ["none", []],
    ["NONE", []],
    ["-", []],
    ["!", ["!"]],
    ["none!", ["none!"]],
  ])("%j → %j", (input, want) => {
    expect(parseSkipPrefixes(input)).toEqual(want);
  });
});

describe("NameTemplateSchema", () => {
  it.each([
    ["{name} said", true],
    ["  {name} said  ", true],
    ["{name}:", true],
    ["message from {name}", true],
    ["{name}さんの発言", true],
    ["said", false],
    ["{name} and {name}", false],
    ["{name} said {text}", false],
    ["{name} said }", false],
    ["{Name} said", false],
    ["", false],
  ])("%j valid: %s", (template, valid) => {
    expect(NameTemplateSchema.safeParse(template).success).toBe(valid);
  });

  it("stores the template trimmed", () => {
    expect(NameTemplateSchema.parse("  {name} said ")).toBe("{name} said");
  });
});

describe("migrateReading", () => {
  it.each<[string, unknown, unknown]>([
    ["nothing stored", undefined, undefined],
    ["no voice section", { limits: { userDailyChars: 5 } }, { limits: { userDailyChars: 5 } }],
    ["voice without auto-read", { voice: { backlogSpeedup: true } }, { voice: { backlogSpeedup: true } }],
    [
      "auto-read under voice",
      { voice: { autoRead: true, backlogSpeedup: true } },
      { voice: { backlogSpeedup: true }, reading: { autoRead: true } },
    ],
    [
      "both flags",
      { voice: { autoRead: false, readBots: true } },
      { voice: {}, reading: { autoRead: false, readBots: true } },
    ],
    [
      "reading already set wins",
      { voice: { readBots: true }, reading: { readBots: false, maxChars: 50 } },
      { voice: {}, reading: { readBots: false, maxChars: 50 } },
    ],
  ])("%s", (_name, raw, want) => {
    expect(migrateReading(raw)).toEqual(want);
  });
});
