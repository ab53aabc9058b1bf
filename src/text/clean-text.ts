/**
 * Turning a Discord chat message into text worth reading aloud in a voice channel (auto-read).
 * Discord syntax that would be read out as noise (links, mentions, emoji ids, markdown) becomes what a
 * person would say instead, and the result is capped so one message cannot hold the channel.
 *
 * How it works, and why:
 * - One left-to-right pass with a single alternation finds Discord's "atomic" syntax (escapes, code,
 *   spoilers, links, mentions, emoji, timestamps). Leftmost-first matching gives Discord's own
 *   precedence: a link inside a code block is part of the code block, `\*` is not a marker.
 * - Each match becomes one private-use code point standing for its spoken text, so later steps
 *   (markdown, repeat caps) cannot damage a member's name or a code snippet, and identical tokens
 *   share a code point so repeated emoji are capped like repeated letters.
 * - Every pattern is either bounded or stops at the next occurrence of its own delimiter, so the work
 *   stays linear in the input; chat is adversarial and a slow regex would stall the bot's event loop.
 *
 * Decisions:
 * - Links become "a link"; two or more in a row (separated by spaces or commas) become "N links",
 *   because "a link a link a link" is tiring to hear. A masked link `[label](url)` is its label.
 * - Runs of one character, of a two-character unit ("hahahaha") and of one word are each capped at
 *   `maxRepeat`. Digits are exempt so numbers are never changed. Casing is never changed.
 * - Line breaks become a comma pause, unless the line already ends in punctuation.
 * - Pause markers `<#x#>` are removed: chat must not control the speech engine, and a malformed marker
 *   makes MiniMax refuse the whole request.
 * - Unclosed code, spoiler and emphasis markers are left as typed rather than swallowing the rest.
 */

export interface CleanContext {
  /** The display name for a user id, undefined when unknown. */
  userName(id: string): string | undefined;
  roleName(id: string): string | undefined;
  channelName(id: string): string | undefined;
  /** Longest result in code points, the closing "…" included. Default 300. */
  maxChars?: number;
  /** Most times a character, a two-character unit or a word may repeat in a row. Default 3. */
  maxRepeat?: number;
  /** Current time in ms since the epoch; relative timestamps `<t:…:R>` are read as a date without it. */
  now?: number;
}

export const DEFAULT_MAX_CHARS = 300;
export const DEFAULT_MAX_REPEAT = 3;
/** Spoken for an inline code span longer than this (in code points) instead of its content. */
export const MAX_INLINE_CODE_CHARS = 30;
/**
 * Discord messages are at most 4,000 characters; anything longer is not a real message, and cutting it
 * first bounds the work (and the number of placeholders) whatever the content.
 */
const MAX_INPUT_UNITS = 20_000;

// Placeholders live in Supplementary Private Use Area-A, which nothing speakable uses.
const LINK_CP = 0xf0000;
/** `\x` escapes: ESCAPE_BASE + the ASCII code of x. */
const ESCAPE_BASE = 0xf0001;
const TOKEN_BASE = 0xf0100;
const TOKEN_CAPACITY = 0xffffd - TOKEN_BASE;
const LINK = String.fromCodePoint(LINK_CP);
const PLACEHOLDER = /[\u{F0000}-\u{FFFFF}]/gu;

const TOKEN = new RegExp(
  [
    String.raw`\\(?<esc>[!-\/:-@\[-\x60{-~])`,
    String.raw`(?<block>\x60\x60\x60[\s\S]*?\x60\x60\x60)`,
    String.raw`\x60\x60(?<code2>(?:[^\x60]|\x60(?!\x60))+?)\x60\x60`,
    String.raw`\x60(?<code1>[^\x60]+)\x60`,
    String.raw`(?<spoiler>\|\|[\s\S]+?\|\|)`,
    String.raw`\[(?<label>[^\[\]\n]*)\]\(\s*<?(?<masked>https?:\/\/(?:[^\s()<>]|\([^\s()<>]*\))+)>?\s*\)`,
    String.raw`<(?<suppressed>https?:\/\/[^\s<>]+)>`,
    String.raw`(?<url>https?:\/\/[^\s<>]*[^\s<>.,:;!?'"()\[\]*_~|])`,
    String.raw`<@!?(?<user>\d{1,20})>`,
    String.raw`<@&(?<role>\d{1,20})>`,
    String.raw`<#(?<channel>\d{1,20})>`,
    String.raw`(?<pause><#[^#<>\n]*#>)`,
    String.raw`<\/(?<command>[^\s<>:\/][^<>:\n]{0,99}):\d{1,20}>`,
    String.raw`<a?:(?<emoji>\w{1,32}):\d{1,20}>`,
    String.raw`<t:(?<time>-?\d{1,16})(?::(?<style>[tTdDfFR]))?>`,
    String.raw`@(?<everyone>everyone|here)(?![\p{L}\p{N}_])`,
    String.raw`(?<![\p{L}\p{N}_:]):(?<short>\w{2,32}):(?![\p{L}\p{N}_:])`,
  ].join("|"),
  "gu",
);

interface TokenGroups {
  esc?: string;
  block?: string;
  code2?: string;
  code1?: string;
  spoiler?: string;
  label?: string;
  masked?: string;
  suppressed?: string;
  url?: string;
  user?: string;
  role?: string;
  channel?: string;
  pause?: string;
  command?: string;
  emoji?: string;
  time?: string;
  style?: string;
  everyone?: string;
  short?: string;
}

// Line-level markdown: block quotes first so "> # title" and "> - item" are handled too.
const QUOTE = /^[ \t]*>(?:>>)?(?:[ \t]+|$)/gm;
const HEADING_OR_BULLET = /^[ \t]*(?:#{1,3}|-#|[-*+•])[ \t]+/gm;

// Emphasis: the content may not contain the marker character, so each opener looks no further than
// the next marker. Nesting ("**bold *and* bold**", "***both***") unwinds over a few passes.
const BOLD = /\*\*([^*]+)\*\*/g;
const UNDERLINE = /__([^_]+)__/g;
const STRIKE = /~~([^~]+)~~/g;
const ITALIC_STAR = /(?<!\*)\*(?=[^\s*])([^*\n]*[^\s*])\*(?!\*)/g;
/** Like Discord, only at word edges: snake_case_names stay as they are. */
const ITALIC_UNDERSCORE = /(?<![\p{L}\p{N}_])_(?=[^\s_])([^_\n]*[^\s_])_(?![\p{L}\p{N}_])/gu;
const EMPHASIS_PASSES = 4;

/** "@name" typed by hand; not an email address. */
const AT_NAME = /(?<![\p{L}\p{N}_@.])@(?=[\p{L}\p{N}_])/gu;
const LINK_RUN = new RegExp(`${LINK}(?:[\\s,]*${LINK})+`, "gu");
const ENDS_IN_PUNCTUATION = /[.,!?;:…。！？]$/u;
const SPEAKABLE = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;
const INVISIBLE = /[\u200B\u200C\u2060\uFEFF\u{F0000}-\u{FFFFF}]|[\u0000-\u0008\u000B-\u001F\u007F]/gu;

/** Read in UTC like a caption: "November 14, 2023" and "22:13 UTC". */
const DATE = new Intl.DateTimeFormat("en-US", {
  timeZone: "UTC",
  year: "numeric",
  month: "long",
  day: "numeric",
});
/** Years before 1 AD, which the plain format would print without their era. */
const DATE_BC = new Intl.DateTimeFormat("en-US", {
  timeZone: "UTC",
  year: "numeric",
  month: "long",
  day: "numeric",
  era: "short",
});
const TIME = new Intl.DateTimeFormat("en-US", {
  timeZone: "UTC",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
});
/** "in 2 hours", "3 days ago" (never "tomorrow": the count is what a listener can picture). */
const RELATIVE = new Intl.RelativeTimeFormat("en", { numeric: "always" });
/** "now" for less than a second. */
const RELATIVE_AUTO = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
/** Date's own limit, in ms either side of the epoch. */
const MAX_DATE_MS = 8.64e15;

export function cleanForSpeech(content: string, ctx: CleanContext): string {
  const maxChars = Math.max(1, Math.floor(ctx.maxChars ?? DEFAULT_MAX_CHARS));
  const maxRepeat = Math.max(1, Math.floor(ctx.maxRepeat ?? DEFAULT_MAX_REPEAT));
  const tokens = createTokens();

  let text = limitInput(content).replace(/\r\n?/g, "\n").replace(INVISIBLE, "");
  text = tokenize(text, tokens, ctx);
  text = stripMarkdown(text);
  text = text.replace(AT_NAME, "");
  text = text.replace(LINK_RUN, (run) => tokens.word(`${countLinks(run)} links`));
  text = joinLines(text);
  text = capRepeats(text, maxRepeat);
  text = capWords(text, maxRepeat);
  text = tidy(restore(text, tokens.texts));

  if (!SPEAKABLE.test(text)) return "";
  return truncate(text, maxChars);
}

function limitInput(text: string): string {
  if (text.length <= MAX_INPUT_UNITS) return text;
  const cut = text.slice(0, MAX_INPUT_UNITS);
  // Never leave half of a surrogate pair.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut;
}

interface Tokens {
  texts: string[];
  /** The placeholder standing for a spoken text; identical texts share one. */
  word(text: string): string;
}

function createTokens(): Tokens {
  const texts: string[] = [];
  const byText = new Map<string, string>();
  return {
    texts,
    word(text) {
      const spoken = text.replace(/\s+/g, " ").trim();
      if (spoken === "") return " ";
      const known = byText.get(spoken);
      if (known !== undefined) return known;
      // Unreachable with the input limit, but plain text is a safe fallback.
      if (texts.length >= TOKEN_CAPACITY) return ` ${spoken} `;
      const placeholder = String.fromCodePoint(TOKEN_BASE + texts.length);
      texts.push(spoken);
      byText.set(spoken, placeholder);
      return placeholder;
    },
  };
}

function tokenize(text: string, tokens: Tokens, ctx: CleanContext): string {
  return text.replace(TOKEN, (match: string, ...rest: unknown[]) => {
    const g = rest.at(-1) as TokenGroups;
    if (g.esc !== undefined) return String.fromCodePoint(ESCAPE_BASE + g.esc.charCodeAt(0));
    if (g.block !== undefined) return tokens.word("code block");
    const code = g.code2 ?? g.code1;
    if (code !== undefined) {
      const inner = code.trim();
      // A URL in code is still a URL: spelling it out is the noise links are replaced to avoid.
      if (/^<?https?:\/\//.test(inner)) return LINK;
      return tokens.word([...inner].length <= MAX_INLINE_CODE_CHARS ? inner : "code");
    }
    if (g.spoiler !== undefined) return tokens.word("spoiler");
    if (g.masked !== undefined) {
      // The label is ordinary message text (it may hold emphasis or even a URL), so it goes
      // through the same steps; labels cannot contain brackets, so this recursion is one level deep.
      const label = tokenize(g.label ?? "", tokens, ctx);
      return label.trim() === "" ? LINK : ` ${label} `;
    }
    if (g.suppressed !== undefined || g.url !== undefined) return LINK;
    if (g.user !== undefined) return tokens.word(known(ctx.userName(g.user)) ?? "someone");
    if (g.role !== undefined) return tokens.word(known(ctx.roleName(g.role)) ?? "a role");
    if (g.channel !== undefined) {
      // Channel names are slugs ("general-chat"); the dashes are not meant to be heard.
      const name = known(ctx.channelName(g.channel))?.replace(/[-_]+/g, " ");
      return tokens.word(name ?? "a channel");
    }
    if (g.pause !== undefined) return " ";
    if (g.command !== undefined) return tokens.word(`/${g.command}`);
    if (g.emoji !== undefined) return tokens.word(emojiName(g.emoji));
    if (g.time !== undefined) return tokens.word(formatTimestamp(Number(g.time), g.style, ctx.now));
    if (g.everyone !== undefined) return tokens.word(g.everyone);
    if (g.short !== undefined) {
      // ":30:" in "12:30:45" is not an emoji shortcode.
      return /[A-Za-z]/.test(g.short) ? tokens.word(emojiName(g.short)) : match;
    }
    return match;
  });
}

function known(name: string | undefined): string | undefined {
  const trimmed = name?.trim();
  return trimmed ? trimmed : undefined;
}

/** "party_parrot" → "party parrot", "pepeLaugh" → "pepe Laugh". */
function emojiName(name: string): string {
  return name.replace(/_+/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2");
}

/**
 * Timestamps are read in UTC, like a caption: listeners are in many time zones and the text must be
 * deterministic. Relative ones need `now`, otherwise they fall back to the date.
 */
function formatTimestamp(seconds: number, style: string | undefined, now?: number): string {
  const ms = seconds * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) return "a date";
  const date = (new Date(ms).getUTCFullYear() < 1 ? DATE_BC : DATE).format(ms);
  const time = TIME.format(ms);
  switch (style) {
    case "t":
    case "T":
      return time;
    case "d":
    case "D":
      return date;
    case "R":
      return now === undefined ? date : relative(ms - now);
    default:
      return `${date} at ${time}`;
  }
}

const RELATIVE_UNITS: [unit: Intl.RelativeTimeFormatUnit, ms: number][] = [
  ["year", 365 * 86_400_000],
  ["month", 30 * 86_400_000],
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

/** The largest whole unit, rounded down: 90 s is "in 1 minute". */
function relative(diffMs: number): string {
  const abs = Math.abs(diffMs);
  for (const [unit, size] of RELATIVE_UNITS) {
    const n = Math.floor(abs / size);
    if (n >= 1) return RELATIVE.format(diffMs > 0 ? n : -n, unit);
  }
  return RELATIVE_AUTO.format(0, "second");
}

function stripMarkdown(text: string): string {
  let out = text.replace(QUOTE, "").replace(HEADING_OR_BULLET, "");
  for (let pass = 0; pass < EMPHASIS_PASSES; pass++) {
    const before = out;
    out = out
      .replace(BOLD, "$1")
      .replace(UNDERLINE, "$1")
      .replace(STRIKE, "$1")
      .replace(ITALIC_STAR, "$1")
      .replace(ITALIC_UNDERSCORE, "$1");
    if (out === before) break;
  }
  return out;
}

function countLinks(run: string): number {
  let n = 0;
  for (const ch of run) if (ch === LINK) n++;
  return n;
}

/** One line of speech: a line break is a short pause, spoken as a comma unless punctuation is there. */
function joinLines(text: string): string {
  let out = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+/g, " ").trim();
    if (line === "") continue;
    if (out === "") out = line;
    else out += ENDS_IN_PUNCTUATION.test(out) ? ` ${line}` : `, ${line}`;
  }
  return out;
}

function capRepeats(text: string, max: number): string {
  const single = new RegExp(String.raw`(\D)\1{${max},}`, "gu");
  const pair = new RegExp(String.raw`(\D\D)\1{${max},}`, "gu");
  return text
    .replace(single, (_m, unit: string) => unit.repeat(max))
    .replace(pair, (_m, unit: string) => unit.repeat(max));
}

function capWords(text: string, max: number): string {
  const out: string[] = [];
  let previous: string | undefined;
  let run = 0;
  for (const word of text.split(" ")) {
    if (word === "") continue;
    if (word === previous) {
      run++;
      if (run > max) continue;
    } else {
      previous = word;
      run = 1;
    }
    out.push(word);
  }
  return out.join(" ");
}

function restore(text: string, texts: string[]): string {
  return text.replace(PLACEHOLDER, (ph) => {
    const cp = ph.codePointAt(0)!;
    if (cp === LINK_CP) return " a link ";
    if (cp < TOKEN_BASE) return String.fromCharCode(cp - ESCAPE_BASE);
    return ` ${texts[cp - TOKEN_BASE] ?? ""} `;
  });
}

/** Tokens were padded with spaces; put punctuation back against its word. */
function tidy(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .replace(/ (?=[,.!?;:…)\]])/g, "")
    .replace(/([([]) /g, "$1")
    .trim();
}

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });

function truncate(text: string, maxChars: number): string {
  const points = [...text];
  if (points.length <= maxChars) return text;
  const room = maxChars - 1;
  let cut = points.slice(0, room).join("");
  const space = cut.lastIndexOf(" ");
  if (points[room] === " ") {
    // The cut already falls between words.
  } else if (space >= cut.length / 2) {
    cut = cut.slice(0, space);
  } else {
    // One very long word: cut it, but never inside a grapheme (a flag, a family emoji).
    let kept = "";
    let keptPoints = 0;
    for (const { segment } of graphemes.segment(points.slice(0, room + 1).join(""))) {
      const size = [...segment].length;
      if (keptPoints + size > room) break;
      kept += segment;
      keptPoints += size;
    }
    cut = kept;
  }
  cut = cut.replace(/[\s,;:.\-–—]+$/u, "");
  return `${cut}…`;
}
