import { describe, expect, it } from "vitest";
import type { NameStyle } from "../../src/settings/reading.ts";
import {
  renderAnnouncement,
  type SpeakerNames,
  speakerName,
  subjectOf,
} from "../../src/voice/speaker-names.ts";

const FULL: SpeakerNames = { nickname: "Ally", displayName: "Alice W.", username: "alice_w" };
const NO_NICK: SpeakerNames = { nickname: null, displayName: "Alice W.", username: "alice_w" };
const ONLY_USER: SpeakerNames = { nickname: null, displayName: null, username: "alice_w" };

describe("speakerName", () => {
  it.each<[string, SpeakerNames, NameStyle, string]>([
    ["nickname", FULL, "nickname", "Ally"],
    ["nickname falls back to the display name", NO_NICK, "nickname", "Alice W."],
    ["nickname falls back to the username", ONLY_USER, "nickname", "alice_w"],
    ["display name ignores the nickname", FULL, "display_name", "Alice W."],
    ["display name falls back to the username", ONLY_USER, "display_name", "alice_w"],
    ["username", FULL, "username", "alice_w"],
    ["none", FULL, "none", ""],
    ["a blank nickname is no nickname", { ...FULL, nickname: "   " }, "nickname", "Alice W."],
    ["spaces inside are collapsed", { ...FULL, nickname: " Big \n Al " }, "nickname", "Big Al"],
    ["a long name is cut to 32", { ...FULL, nickname: "x".repeat(40) }, "nickname", "x".repeat(32)],
    [
      "an emoji name keeps whole characters",
      { ...FULL, nickname: "🎉".repeat(40) },
      "nickname",
      "🎉".repeat(32),
    ],
    ["all blank gives nothing", { nickname: " ", displayName: "", username: " " }, "nickname", ""],
  ])("%s", (_name, names, style, want) => {
    expect(speakerName(names, style)).toBe(want);
  });
});

describe("renderAnnouncement", () => {
  it.each<[string, string, string | undefined]>([
    ["{name} said", "Ally", "Ally said"],
    ["message from {name}", "Ally", "message from Ally"],
    ["{name}:", "Ally", "Ally:"],
    ["{name}さん", "アリ", "アリさん"],
    ["{name} said", "$& $1 $$", "$& $1 $$ said"],
    ["{name} said", "", undefined],
  ])("%j with %j → %j", (template, name, want) => {
    expect(renderAnnouncement(template, name)).toBe(want);
  });
});

describe("subjectOf", () => {
  it.each([
    ["Bob", "Bob"],
    ["", "Someone"],
  ])("%j → %j", (name, want) => {
    expect(subjectOf(name)).toBe(want);
  });
});
