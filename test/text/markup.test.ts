import { describe, expect, it } from "vitest";
import { channelMention, relativeTime, roleMention } from "../../src/text/markup.ts";

describe("markup", () => {
  it("builds Discord's relative timestamp, rounded down unless asked to round up", () => {
    expect(relativeTime(1_700_000_000_000)).toBe("<t:1700000000:R>");
    expect(relativeTime(1_500)).toBe("<t:1:R>");
    expect(relativeTime(1_500, "ceil")).toBe("<t:2:R>");
    expect(relativeTime(2_000, "ceil")).toBe("<t:2:R>");
  });

  it("builds channel and role mentions", () => {
    expect(channelMention("555")).toBe("<#555>");
    expect(roleMention("444")).toBe("<@&444>");
  });
});
