import { describe, expect, it } from "vitest";
import { validatePauseMarkers } from "../../src/text/pause-markers.ts";

describe("validatePauseMarkers", () => {
  it.each([
    ["no markers", "Just words."],
    ["one marker between words", "Hello <#1#> world"],
    ["the smallest pause", "a<#0.01#>b"],
    ["the largest pause", "a <#99.99#> b"],
    ["one decimal", "a <#1.5#> b"],
    ["markers separated by words", "a <#1#> b <#2#> c"],
    ["a marker between lines", "first line\n<#0.5#>\nsecond line"],
    ["surrounding whitespace ignored", "  a <#1#> b  \n"],
    ["lone <# #> text that is not a marker", "a <# b #"],
  ])("accepts %s", (_name, text) => {
    expect(validatePauseMarkers(text)).toEqual({ ok: true });
  });

  it.each([
    ["zero", "a <#0#> b", ["`<#0#>` on line 1 is out of range"]],
    ["below the minimum", "a <#0.00#> b", ["`<#0.00#>` on line 1 is out of range"]],
    ["above the maximum", "a <#100#> b", ["`<#100#>` on line 1 is out of range"]],
    ["negative", "a <#-1#> b", ["`<#-1#>` on line 1 is out of range"]],
    ["three decimals", "a <#1.234#> b", ["`<#1.234#>` on line 1 has more than 2 decimals"]],
    ["not a number", "a <#abc#> b", ["`<#abc#>` on line 1 is not a number"]],
    ["empty", "a <##> b", ["`<##>` on line 1 is not a number"]],
    ["a comma decimal", "a <#1,5#> b", ["`<#1,5#>` on line 1 is not a number"]],
    ["at the start", "<#1#> hello", ["`<#1#>` on line 1 is at the start"]],
    ["at the start after whitespace", "\n  <#1#> hello", ["`<#1#>` on line 2 is at the start"]],
    ["at the end", "hello <#1#>", ["`<#1#>` on line 1 is at the end"]],
    ["at the end before whitespace", "hello <#1#>\n\n", ["`<#1#>` on line 1 is at the end"]],
    ["back to back", "a <#1#><#2#> b", ["`<#2#>` on line 1 comes right after another pause"]],
    ["only whitespace between", "a <#1#> \n <#2#> b", ["`<#2#>` on line 2 comes right after another pause"]],
    ["a marker alone", "<#1#>", ["`<#1#>` on line 1 is at the start", "`<#1#>` on line 1 is at the end"]],
    [
      "several problems, each reported",
      "<#1#> a\nb <#200#> c <#1.5#>",
      [
        "`<#1#>` on line 1 is at the start",
        "`<#200#>` on line 2 is out of range",
        "`<#1.5#>` on line 2 is at the end",
      ],
    ],
  ])("refuses %s", (_name, text, expected) => {
    const result = validatePauseMarkers(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(expected.length);
    result.problems.forEach((p, i) => {
      expect(p.startsWith(expected[i]!)).toBe(true);
    });
  });

  it("explains the allowed range", () => {
    const result = validatePauseMarkers("a <#100#> b");
    expect(result).toEqual({ ok: false, problems: [expect.stringContaining("0.01–99.99 seconds")] });
  });
});
