import type { KeyValue } from "../storage/key-value.ts";
import { createKeyedSerialQueue } from "../storage/record-kit.ts";
import { UserFacingError } from "../user-facing-error.ts";

/**
 * A guild's pronunciation dictionary: `original/replacement` entries sent to MiniMax as
 * `pronunciation_dict.tone` with every request from that guild. Parsing and validation are pure; the
 * store keeps one list per guild in a key-value store.
 */

export interface PronunciationEntry {
  original: string;
  replacement: string;
}

/** Bounded by MiniMax's request size; `SpeechSettings.pronunciation` allows the same. */
export const MAX_ENTRIES = 200;
export const MAX_ORIGINAL = 50;
export const MAX_REPLACEMENT = 100;

export type ParseResult = { ok: true; entry: PronunciationEntry } | { ok: false; reason: string };

// Control characters would reach MiniMax's text and count against its invalid-character ratio.
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Pinyin (tones 1–5, 5 neutral) or Jyutping (tones 1–6): syllables each ending in a tone number. */
const TONED = /^(?:[a-zü:]+[1-6])(?: ?[a-zü:]+[1-6])*$/iu;
/** IPA: letters (ɪ, ʃ, ə…), modifier letters (ˈ ˌ ː), combining marks, syllable dots and spaces. */
const IPA = /^[\p{L}\p{M}.‿ ]+$/u;

/** Code points, so a CJK or IPA character counts as one, as a person would count it. */
function length(s: string): number {
  return [...s].length;
}

export function parseEntry(line: string): ParseResult {
  if (/[\r\n]/.test(line)) return fail("An entry must be on one line.");
  if (CONTROL.test(line)) return fail("The entry contains control characters.");
  const parts = line.split("/");
  if (parts.length !== 2) {
    return fail("Write the word, one `/`, then how to say it, like `omg/oh my god` or `处理/(chu3)(li3)`.");
  }
  const original = parts[0]!.trim();
  const replacement = parts[1]!.trim();
  if (original === "") return fail("The word to replace is empty.");
  if (replacement === "") return fail(`The pronunciation of “${original}” is empty.`);
  // A line starting with # is a comment in .txt files; refusing it keeps every entry exportable.
  if (original.startsWith("#")) return fail("The word cannot start with `#`.");
  if (length(original) > MAX_ORIGINAL) return fail(`The word is longer than ${MAX_ORIGINAL} characters.`);
  if (length(replacement) > MAX_REPLACEMENT) {
    return fail(`The pronunciation is longer than ${MAX_REPLACEMENT} characters.`);
  }
  const markup = checkMarkup(replacement);
  if (markup) return fail(markup);
  return { ok: true, entry: { original, replacement } };
}

/** Why a replacement's parentheses are not pinyin, Jyutping or IPA; undefined when they are (or absent). */
function checkMarkup(replacement: string): string | undefined {
  if (!/[()]/.test(replacement)) return undefined;
  const groups = /^(?:\s*\([^()]*\))+\s*$/.test(replacement)
    ? [...replacement.matchAll(/\(([^()]*)\)/g)].map((m) => m[1]!.trim())
    : undefined;
  if (!groups) {
    return "Put the whole pronunciation in parentheses, like `(chu3)(li3)` or `(riːd)`, or write plain text without parentheses.";
  }
  for (const g of groups) {
    if (g === "") return "Empty parentheses `()` are not a pronunciation.";
    if (/\d/.test(g)) {
      if (TONED.test(g)) continue;
      if (/[0789]/.test(g)) return `\`(${g})\`: tones are 1–5 in pinyin and 1–6 in Jyutping.`;
      return `\`(${g})\` is not pinyin or Jyutping: write each syllable with its tone number, like \`(chu3)\`.`;
    }
    if (!IPA.test(g)) return `\`(${g})\` is not IPA or pinyin with tones, like \`(riːd)\` or \`(chu3)\`.`;
  }
  return undefined;
}

/** The two parts given separately (a command's options, a JSON object), with slashes named as such. */
export function entryFrom(original: string, replacement: string): ParseResult {
  if (original.includes("/"))
    return fail("The word cannot contain `/`: it separates the word from how to say it.");
  if (replacement.includes("/")) return fail("The pronunciation cannot contain `/`.");
  return parseEntry(`${original}/${replacement}`);
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

export function formatEntry(entry: PronunciationEntry): string {
  return `${entry.original}/${entry.replacement}`;
}

/**
 * Later entries for the same original replace earlier ones, keeping the earlier position so a
 * correction does not reorder the list. Originals are matched exactly: `US` and `us` differ.
 */
export function dedupe(entries: readonly PronunciationEntry[]): PronunciationEntry[] {
  const byOriginal = new Map<string, PronunciationEntry>();
  for (const e of entries) byOriginal.set(e.original, e);
  return [...byOriginal.values()];
}

export interface ImportProblem {
  /** 1-based line (.txt) or item (.json) number. */
  at: number;
  reason: string;
}

export interface ImportResult {
  entries: PronunciationEntry[];
  problems: ImportProblem[];
}

export const IMPORT_FORMATS = [".txt", ".json"] as const;

/** A file that cannot be imported at all (as opposed to single bad lines, which are problems). */
export class PronunciationImportError extends UserFacingError {
  constructor(message: string) {
    super(message);
    this.name = "PronunciationImportError";
  }
}

export function importFormat(fileName: string): "txt" | "json" | undefined {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".txt")) return "txt";
  if (lower.endsWith(".json")) return "json";
  return undefined;
}

/** Entries from a `.txt` (one per line, `#` comments) or `.json` file, with what was wrong per line. */
export function parseImport(text: string, fileName: string): ImportResult {
  const format = importFormat(fileName);
  if (!format) {
    throw new PronunciationImportError(`Send a ${IMPORT_FORMATS.join(" or ")} file, not “${fileName}”.`);
  }
  const candidates = format === "txt" ? txtCandidates(text) : jsonCandidates(text);
  const entries: PronunciationEntry[] = [];
  const problems: ImportProblem[] = [];
  for (const c of candidates) {
    if (c.result.ok) entries.push(c.result.entry);
    else problems.push({ at: c.at, reason: c.result.reason });
  }
  const unique = dedupe(entries);
  if (unique.length > MAX_ENTRIES) {
    problems.push({
      at: candidates.length,
      reason: `The file has ${unique.length} entries; a dictionary holds at most ${MAX_ENTRIES}.`,
    });
  }
  return { entries: unique.slice(0, MAX_ENTRIES), problems };
}

interface Candidate {
  at: number;
  result: ParseResult;
}

function txtCandidates(text: string): Candidate[] {
  const out: Candidate[] = [];
  text
    .replace(/^\ufeff/, "")
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line !== "" && !line.startsWith("#")) out.push({ at: i + 1, result: parseEntry(line) });
    });
  return out;
}

function jsonCandidates(text: string): Candidate[] {
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\ufeff/, ""));
  } catch {
    throw new PronunciationImportError("The .json file is not valid JSON.");
  }
  // MiniMax's own `{ "tone": [...] }` shape is accepted too, so a dictionary can be pasted from a request.
  const tone = isRecord(data) && Array.isArray(data.tone) ? data.tone : undefined;
  const items: unknown = tone ?? data;
  if (!Array.isArray(items)) {
    throw new PronunciationImportError(
      'The .json file must hold an array: `["omg/oh my god"]` or `[{"original": "omg", "replacement": "oh my god"}]`.',
    );
  }
  return items.map((item: unknown, i): Candidate => {
    const at = i + 1;
    if (typeof item === "string") return { at, result: parseEntry(item) };
    if (isRecord(item) && typeof item.original === "string" && typeof item.replacement === "string") {
      return { at, result: entryFrom(item.original, item.replacement) };
    }
    return { at, result: fail('Expected a string or an object with "original" and "replacement".') };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function exportText(entries: readonly PronunciationEntry[]): string {
  const header =
    "# Pronunciation dictionary: one original/replacement per line; lines starting with # are ignored.";
  return `${[header, ...entries.map(formatEntry)].join("\n")}\n`;
}

export function exportJson(entries: readonly PronunciationEntry[]): string {
  const plain = entries.map(({ original, replacement }) => ({ original, replacement }));
  return `${JSON.stringify(plain, null, 2)}\n`;
}

/** Adding beyond the limit; the message says what to do instead. */
export class PronunciationLimitError extends UserFacingError {
  constructor(total: number) {
    super(
      `That would make ${total} entries; a server's dictionary holds at most ${MAX_ENTRIES}. ` +
        "Remove some with /pronounce remove, or import with mode:replace.",
    );
    this.name = "PronunciationLimitError";
  }
}

export interface MergeResult {
  added: number;
  replaced: number;
  total: number;
}

export interface PronunciationStore {
  list(guildId: string): Promise<PronunciationEntry[]>;
  /** Replaces an entry with the same original; `replaced` is the entry it overwrote. */
  add(guildId: string, entry: PronunciationEntry): Promise<{ replaced: PronunciationEntry | undefined }>;
  /** False when there was no such original. */
  remove(guildId: string, original: string): Promise<boolean>;
  replaceAll(guildId: string, entries: readonly PronunciationEntry[]): Promise<MergeResult>;
  merge(guildId: string, entries: readonly PronunciationEntry[]): Promise<MergeResult>;
  /** The strings for `pronunciation_dict.tone`; undefined when the guild has none. */
  tone(guildId: string): Promise<string[] | undefined>;
}

export function createPronunciationStore(kv: KeyValue): PronunciationStore {
  // Every change is read-modify-write; two /pronounce add at once would otherwise lose one.
  const exclusive = createKeyedSerialQueue();

  async function list(guildId: string): Promise<PronunciationEntry[]> {
    const raw = await kv.get(guildId);
    if (!Array.isArray(raw)) return [];
    // Stored as the wire strings; anything that no longer validates (older rules) is dropped, not fatal.
    const entries: PronunciationEntry[] = [];
    for (const line of raw) {
      if (typeof line !== "string") continue;
      const parsed = parseEntry(line);
      if (parsed.ok) entries.push(parsed.entry);
    }
    return dedupe(entries);
  }

  async function save(guildId: string, entries: readonly PronunciationEntry[]): Promise<void> {
    if (entries.length > MAX_ENTRIES) throw new PronunciationLimitError(entries.length);
    // Callers pass parsed entries, but one built by hand must fail loudly, not vanish on the next read.
    for (const e of entries) {
      const parsed = parseEntry(formatEntry(e));
      if (!parsed.ok) throw new UserFacingError(`“${formatEntry(e)}”: ${parsed.reason}`);
    }
    if (entries.length === 0) await kv.delete(guildId);
    else await kv.set(guildId, entries.map(formatEntry));
  }

  function combine(current: readonly PronunciationEntry[], incoming: readonly PronunciationEntry[]) {
    const known = new Set(current.map((e) => e.original));
    const unique = dedupe(incoming);
    const replaced = unique.filter((e) => known.has(e.original)).length;
    const merged = dedupe([...current, ...unique]);
    return { merged, result: { added: unique.length - replaced, replaced, total: merged.length } };
  }

  return {
    list,
    add: (guildId, entry) =>
      exclusive(guildId, async () => {
        const current = await list(guildId);
        const replaced = current.find((e) => e.original === entry.original);
        await save(guildId, dedupe([...current, entry]));
        return { replaced };
      }),
    remove: (guildId, original) =>
      exclusive(guildId, async () => {
        const current = await list(guildId);
        const kept = current.filter((e) => e.original !== original);
        if (kept.length === current.length) return false;
        await save(guildId, kept);
        return true;
      }),
    replaceAll: (guildId, entries) =>
      exclusive(guildId, async () => {
        const { merged, result } = combine([], entries);
        await save(guildId, merged);
        return result;
      }),
    merge: (guildId, entries) =>
      exclusive(guildId, async () => {
        const { merged, result } = combine(await list(guildId), entries);
        await save(guildId, merged);
        return result;
      }),
    async tone(guildId) {
      const entries = await list(guildId);
      return entries.length > 0 ? entries.map(formatEntry) : undefined;
    },
  };
}
