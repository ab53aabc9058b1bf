import { describe, expect, it } from "vitest";
import { type CleanContext, cleanForSpeech } from "../../src/text/clean-text.ts";

const USERS: Record<string, string> = { "111": "Alice", "222": "Bob_the_Builder", "333": "  " };
const ROLES: Record<string, string> = { "444": "Mods" };
const CHANNELS: Record<string, string> = { "555": "general-chat", "666": "voice_lounge" };

function ctx(extra: Partial<CleanContext> = {}): CleanContext {
  return {
    userName: (id) => USERS[id],
    roleName: (id) => ROLES[id],
    channelName: (id) => CHANNELS[id],
    ...extra,
  };
}

function clean(content: string, extra: Partial<CleanContext> = {}): string {
  return cleanForSpeech(content, ctx(extra));
}

const codePoints = (s: string) => [...s].length;

describe("cleanForSpeech", () => {
  describe("plain text", () => {
    it.each([
      ["is kept as it is", "Hello there, how are you?", "Hello there, how are you?"],
      ["keeps casing exactly", "LOL that was GREAT", "LOL that was GREAT"],
      ["trims and collapses whitespace", "  hello \t  world  ", "hello world"],
      ["keeps non-Latin text", "こんにちは 世界", "こんにちは 世界"],
      ["keeps emoji", "nice 🎉", "nice 🎉"],
      ["keeps numbers whole", "I owe you 1000000 dollars", "I owe you 1000000 dollars"],
      ["keeps a time of day", "meet at 12:30:45", "meet at 12:30:45"],
      ["keeps an email address", "write to a@b.com", "write to a@b.com"],
      ["drops zero-width characters", "he\u200Bllo\uFEFF", "hello"],
      ["drops control characters", "a\u0007b\u001Bc", "abc"],
      ["drops private-use placeholders a user typed", "a\u{F0000}b\u{F0105}c", "abc"],
      ["drops a hand-typed @ before a name", "hey @bob", "hey bob"],
      ["keeps a lone @", "meet @ 5", "meet @ 5"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("line breaks", () => {
    it.each([
      ["become a comma pause", "first thing\nsecond thing", "first thing, second thing"],
      ["follow punctuation already there", "Done.\nNext?\nYes", "Done. Next? Yes"],
      ["skip blank lines", "a\n\n\n\nb", "a, b"],
      ["accept Windows line ends", "a\r\nb\rc", "a, b, c"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("links", () => {
    it.each([
      ["a bare link", "look https://example.com/page", "look a link"],
      ["http too", "see http://example.com", "see a link"],
      ["a link alone", "https://example.com", "a link"],
      ["trailing sentence punctuation stays", "go to https://example.com/a_b. Now!", "go to a link. Now!"],
      ["in parentheses", "(see https://example.com/x)", "(see a link)"],
      ["the suppressed-embed form", "here <https://example.com/x?y=1>", "here a link"],
      [
        "a masked link is its label",
        "read [the docs](https://example.com/docs) first",
        "read the docs first",
      ],
      ["a masked link with a suppressed embed", "[docs](<https://example.com>)", "docs"],
      [
        "a masked link with parentheses in the URL",
        "[Foo](https://en.wikipedia.org/wiki/Foo_(bar)) ok",
        "Foo ok",
      ],
      ["a masked label keeps its markdown out", "[**bold docs**](https://x.com)", "bold docs"],
      ["an empty label is a link", "[](https://x.com)", "a link"],
      ["a URL as the label is a link", "[https://a.com](https://b.com)", "a link"],
      ["two in a row", "https://a.com https://b.com", "2 links"],
      ["several separated by commas and lines", "https://a.com, https://b.com\nhttps://c.com", "3 links"],
      ["separate links stay separate", "https://a.com and https://b.com", "a link and a link"],
      ["inside emphasis", "**https://example.com**", "a link"],
      ["a link in inline code", "`https://example.com`", "a link"],
      ["not a link without a scheme", "www.example.com", "www.example.com"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("custom emoji", () => {
    it.each([
      ["static", "hi <:wave:123456789012345678>", "hi wave"],
      ["animated", "<a:party_parrot:123456789012345678>", "party parrot"],
      ["camel case", "<:pepeLaugh:1>", "pepe Laugh"],
      ["next to text", "yes<:ok_hand:1>yes", "yes ok hand yes"],
      ["repeated ones are capped", "<:a:1><:a:1><:a:1><:a:1><:a:1>", "a a a"],
      ["repeated with spaces too", "<:cat:1> <:cat:1> <:cat:1> <:cat:1>", "cat cat cat"],
      ["a typed shortcode", "lol :skull_face:", "lol skull face"],
      ["not a shortcode without a letter", "score 1:23:4", "score 1:23:4"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("mentions", () => {
    it.each([
      ["a user", "hi <@111>", "hi Alice"],
      ["a user, nickname form", "hi <@!111>!", "hi Alice!"],
      ["a name with markdown characters is spoken as is", "<@222> is here", "Bob_the_Builder is here"],
      ["an unknown user", "hi <@999>", "hi someone"],
      ["a blank name counts as unknown", "hi <@333>", "hi someone"],
      ["a role", "ping <@&444>", "ping Mods"],
      ["an unknown role", "ping <@&999>", "ping a role"],
      ["a channel, dashes unspoken", "go to <#555>", "go to general chat"],
      ["a channel, underscores unspoken", "in <#666>", "in voice lounge"],
      ["an unknown channel", "go to <#999>", "go to a channel"],
      ["everyone", "@everyone look", "everyone look"],
      ["here", "@here look", "here look"],
      ["punctuation hugs the name", "thanks <@111>, <@&444>.", "thanks Alice, Mods."],
      ["a slash command", "use </speak:123456789> now", "use /speak now"],
      ["a slash subcommand", "try </voice set:1>", "try /voice set"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("timestamps", () => {
    const T = 1_700_000_000; // 2023-11-14 22:13:20 UTC
    it.each([
      ["default is date and time", `at <t:${T}>`, "at November 14, 2023 at 22:13 UTC"],
      ["short time", `<t:${T}:t>`, "22:13 UTC"],
      ["long time", `<t:${T}:T>`, "22:13 UTC"],
      ["short date", `<t:${T}:d>`, "November 14, 2023"],
      ["long date", `<t:${T}:D>`, "November 14, 2023"],
      ["full", `<t:${T}:F>`, "November 14, 2023 at 22:13 UTC"],
      ["relative without a clock is the date", `<t:${T}:R>`, "November 14, 2023"],
      ["the epoch", "<t:0:D>", "January 1, 1970"],
      ["before the epoch", "<t:-86400:D>", "December 31, 1969"],
      ["midnight is 00:00, not 24:00", "<t:1699920000:t>", "00:00 UTC"],
      ["the earliest date, with its era", "<t:-8640000000000:D>", "April 20, 271822 BC"],
      ["out of range", "<t:9999999999999999:D>", "a date"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });

    it.each([
      ["in the future", T - 2 * 3600, `<t:${T}:R>`, "in 2 hours"],
      ["in the past", T + 3 * 86_400, `<t:${T}:R>`, "3 days ago"],
      ["one minute", T - 90, `<t:${T}:R>`, "in 1 minute"],
      ["right now", T, `<t:${T}:R>`, "now"],
      ["years", T + 2 * 365 * 86_400, `<t:${T}:R>`, "2 years ago"],
    ])("relative %s", (_name, nowSeconds, input, expected) => {
      expect(clean(input, { now: nowSeconds * 1000 })).toBe(expected);
    });
  });

  describe("code and spoilers", () => {
    it.each([
      ["a code block", "look:\n```\nconst x = 1;\n```", "look: code block"],
      ["a code block with a language", "```ts\nlet a = <@111>;\n```\nnice", "code block, nice"],
      ["a one-line code block", "run ```ls -la``` please", "run code block please"],
      ["links inside code are code", "```https://example.com```", "code block"],
      ["short inline code is read", "run `npm test` now", "run npm test now"],
      [
        "inline code of exactly 30 characters is read",
        `\`${"abcdefghij".repeat(3)}\``,
        "abcdefghij".repeat(3),
      ],
      ["long inline code is 'code'", `see \`${"abcdefghij".repeat(3)}k\``, "see code"],
      ["inline code is not capped", "`aaaaaa`", "aaaaaa"],
      ["double-backtick inline code", "use ``a`b`` here", "use a`b here"],
      ["markdown inside inline code is literal", "`**not bold**`", "**not bold**"],
      ["a spoiler", "it was ||the butler|| all along", "it was spoiler all along"],
      ["a spoiler over lines", "||line one\nline two||", "spoiler"],
      ["markdown inside a spoiler is not read", "||**secret**||", "spoiler"],
      ["an unclosed code block is left alone", "```js\nconst x = 1", "```js, const x = 1"],
      ["an unclosed spoiler is left alone", "||oops no closing", "||oops no closing"],
      ["an unclosed inline code is left alone", "it costs `5 dollars", "it costs `5 dollars"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("markdown", () => {
    it.each([
      ["bold", "this is **very** good", "this is very good"],
      ["italic with stars", "this is *quite* good", "this is quite good"],
      ["italic with underscores", "this is _quite_ good", "this is quite good"],
      ["underline", "__important__ note", "important note"],
      ["strikethrough", "I ~~hate~~ love it", "I hate love it"],
      ["bold italic", "***wow***", "wow"],
      ["italic inside bold", "**bold *and* bold**", "bold and bold"],
      ["underline bold italic", "__***all***__", "all"],
      ["bold over two lines", "**one\ntwo**", "one, two"],
      ["snake_case is not italic", "call my_function_name now", "call my_function_name now"],
      ["spaced stars are not italic", "2 * 3 * 4 = 24", "2 * 3 * 4 = 24"],
      ["an unclosed bold is left alone", "**hello there", "**hello there"],
      ["heading", "# Big news\ntoday", "Big news, today"],
      ["smaller headings", "## Two\n### Three", "Two, Three"],
      ["a hashtag is not a heading", "#winning", "#winning"],
      ["subtext", "-# said quietly", "said quietly"],
      ["block quote", "> they said this\nI agree", "they said this, I agree"],
      ["multi-line quote", ">>> all of\nthis", "all of, this"],
      ["quoted heading", "> # Title", "Title"],
      ["dash bullets", "- eggs\n- milk", "eggs, milk"],
      ["star bullets", "* eggs\n* milk", "eggs, milk"],
      ["indented bullets", "  - nested", "nested"],
      ["numbered lists keep their numbers", "1. eggs\n2. milk", "1. eggs, 2. milk"],
      ["a minus in text is kept", "5 - 3 = 2", "5 - 3 = 2"],
      ["escaped stars are kept", "\\*not italic\\*", "*not italic*"],
      ["an escaped underscore is kept", "\\_init\\_", "_init_"],
      ["an escaped hash is not a heading", "\\# not a heading", "# not a heading"],
      ["an escaped backtick is not code", "\\`a\\` b", "`a` b"],
      ["a backslash before a letter stays", "C:\\temp", "C:\\temp"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("repeats", () => {
    it.each([
      ["letters", "soooooooo good", "sooo good"],
      ["exactly the limit is kept", "sooo good", "sooo good"],
      ["exclamation marks", "wow!!!!!!!", "wow!!!"],
      ["question marks", "what??????", "what???"],
      ["dots", "hmm..........", "hmm..."],
      ["casing is kept", "NOOOOOOO", "NOOO"],
      ["two-character units", "hahahahahahaha", "hahaha"],
      ["two-character units with a tail", "lolololololol", "lololol"],
      ["digits are never capped", "100000000 and 12121212", "100000000 and 12121212"],
      ["words", "no no no no no no", "no no no"],
      ["words differing in case are different", "no NO no NO no", "no NO no NO no"],
      ["emoji", "😂😂😂😂😂😂", "😂😂😂"],
      ["emoji with a variation selector", "❤️❤️❤️❤️❤️", "❤️❤️❤️"],
      ["escaped characters", "\\*\\*\\*\\*\\*\\* stars", "*** stars"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });

    it.each([
      [1, "soooo!!!! no no", "so! no"],
      [2, "soooo hahaha", "soo haha"],
      [5, "sooooooooo", "sooooo"],
    ])("follows maxRepeat %i", (maxRepeat, input, expected) => {
      expect(clean(input, { maxRepeat })).toBe(expected);
    });
  });

  describe("nothing speakable", () => {
    it.each([
      ["empty", ""],
      ["whitespace", "  \n\t  "],
      ["only markdown", "**"],
      ["an empty bold", "** **"],
      ["only punctuation", "..."],
      ["only a pause marker", "<#2#>"],
      ["a quote marker alone", "> "],
      ["invisible characters", "\u200B\uFEFF"],
    ])("%s gives an empty string", (_name, input) => {
      expect(clean(input)).toBe("");
    });
  });

  describe("pause markers", () => {
    it.each([
      ["a valid one", "wait <#5#> now", "wait now"],
      ["a malformed one", "wait <#abc#> now", "wait now"],
      ["a channel mention is not a marker", "in <#555>", "in general chat"],
    ])("%s is removed", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("combinations", () => {
    it.each([
      [
        "a busy message",
        "> **Hey** <@111>!!!!!! check https://a.com https://b.com <:fire_emoji:1> ||spoilers||",
        "Hey Alice!!! check 2 links fire emoji spoiler",
      ],
      [
        "a release note",
        "# v2.0 is out\n- *faster* `speak`\n- see [notes](https://x.com/notes) at <t:1700000000:D>",
        "v2.0 is out, faster speak, see notes at November 14, 2023",
      ],
      ["mentions in a list", "- <@111>\n- <@&444>\n- <#555>", "Alice, Mods, general chat"],
      ["a code block between words", "before ```x``` after", "before code block after"],
      ["emoji in bold", "**<:cool:1>**", "cool"],
      ["a mention in italics", "*<@111>*", "Alice"],
    ])("%s", (_name, input, expected) => {
      expect(clean(input)).toBe(expected);
    });
  });

  describe("length", () => {
    const words = (n: number) =>
      Array.from({ length: n }, (_, i) => `w${String(i).padStart(3, "0")}`).join(" ");

    it("keeps text of exactly the limit as it is", () => {
      const text = `${words(59)} abcde`;
      expect(codePoints(text)).toBe(300);
      expect(clean(text)).toBe(text);
    });

    it("caps at 300 code points on a word boundary with an ellipsis", () => {
      const out = clean(words(200));
      expect(codePoints(out)).toBeLessThanOrEqual(300);
      expect(out).toMatch(/ w\d{3}…$/);
      expect(words(200).startsWith(out.slice(0, -1))).toBe(true);
    });

    it.each([
      ["on a word boundary", "alpha beta gamma delta", 13, "alpha beta…"],
      ["drops a trailing comma", "alpha, beta, gamma", 13, "alpha, beta…"],
      ["a single long word is cut", "abcdefghij".repeat(5), 10, "abcdefghi…"],
      ["an early space is not worth it", `a ${"abcdefghij".repeat(4)}`, 10, "a abcdefg…"],
    ])("%s", (_name, input, maxChars, expected) => {
      expect(clean(input, { maxChars })).toBe(expected);
    });

    it("counts emoji as one character and never splits one", () => {
      const out = clean("🎉".repeat(2) + "é😂".repeat(20), { maxChars: 6, maxRepeat: 50 });
      expect(out).toBe("🎉🎉é😂é…");
    });

    it.each([
      ["drops it when it does not fit", 8, "abc…"],
      ["keeps it when it fits", 9, "abc👨‍👩‍👧…"],
    ])("does not split a multi-code-point emoji: %s", (_name, maxChars, expected) => {
      const family = "👨‍👩‍👧"; // 5 code points
      expect(clean(`abc${family}${family}`, { maxChars })).toBe(expected);
    });

    it("counts resolved names, not the mention syntax", () => {
      const out = clean("<@111> ".repeat(10), { maxChars: 20, maxRepeat: 10 });
      expect(out).toBe("Alice Alice Alice…");
    });
  });

  describe("adversarial input", () => {
    const size = 100_000;
    it.each([
      ["one character", "a".repeat(size)],
      ["unclosed bold openers", "**a ".repeat(size / 4)],
      ["italic openers without closers", "*a ".repeat(size / 3)],
      ["underscore openers", "_a ".repeat(size / 3)],
      ["backticks", "`".repeat(size)],
      ["an unclosed code block", `\`\`\`${"a".repeat(size)}`],
      ["pipes", "|".repeat(size)],
      ["unclosed masked links", "[a](http://".repeat(size / 11)],
      ["unclosed brackets", "[".repeat(size)],
      ["mention starts", "<@".repeat(size / 2)],
      ["pause-marker starts", "<#a".repeat(size / 3)],
      ["URL schemes", "http://.".repeat(size / 8)],
      ["escapes", "\\*".repeat(size / 2)],
      ["colons and words", ":abc".repeat(size / 4)],
      ["newlines and quotes", "> \n".repeat(size / 3)],
      ["mentions", "<@111>".repeat(size / 6)],
      ["distinct emoji", Array.from({ length: size / 30 }, (_, i) => `<:e${i}:12345678901234>`).join("")],
    ])("%s finishes with a capped result", (_name, input) => {
      const start = performance.now();
      const out = clean(input);
      expect(performance.now() - start).toBeLessThan(5_000);
      expect(codePoints(out)).toBeLessThanOrEqual(300);
      expect(out).not.toMatch(/[\u{F0000}-\u{FFFFF}]/u);
    });
  });
});
