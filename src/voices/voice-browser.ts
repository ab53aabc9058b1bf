import { LANGUAGE_BOOSTS } from "../speech/models.ts";
import type { VoiceInfo } from "../speech/types.ts";
import { voiceLanguage } from "./voice-catalog.ts";

/** Pure paging and filtering for `/voices`, and choice lists for language options. */

export interface VoicePage {
  items: VoiceInfo[];
  /** 0-based, clamped into range. */
  page: number;
  pages: number;
  total: number;
}

export function browseVoices(
  list: VoiceInfo[],
  opts: { language?: string; query?: string; page?: number; pageSize?: number },
): VoicePage {
  const pageSize = opts.pageSize ?? 10;
  const lang = opts.language?.trim().toLowerCase();
  const q = opts.query?.trim().toLowerCase();
  const matching = list.filter(
    (v) =>
      (!lang || voiceLanguage(v.voiceId).toLowerCase() === lang) &&
      (!q || v.voiceId.toLowerCase().includes(q) || (v.name ?? "").toLowerCase().includes(q)),
  );
  const pages = Math.max(1, Math.ceil(matching.length / pageSize));
  const page = Math.min(Math.max(0, opts.page ?? 0), pages - 1);
  return {
    items: matching.slice(page * pageSize, (page + 1) * pageSize),
    page,
    pages,
    total: matching.length,
  };
}

/** Distinct voice languages, most voices first. */
export function voiceLanguages(list: VoiceInfo[]): string[] {
  const counts = new Map<string, number>();
  for (const v of list) {
    const l = voiceLanguage(v.voiceId);
    counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([l]) => l);
}

/** Autocomplete over `candidates`: prefix matches first, then substring matches, at most 25. */
export function filterChoices(candidates: readonly string[], query: string, label?: (v: string) => string) {
  const q = query.trim().toLowerCase();
  const hits = candidates.filter((c) => c.toLowerCase().includes(q));
  hits.sort((a, b) => Number(!a.toLowerCase().startsWith(q)) - Number(!b.toLowerCase().startsWith(q)));
  return hits.slice(0, 25).map((value) => ({ name: label ? label(value) : value, value }));
}

export function languageBoostChoices(query: string) {
  return filterChoices(LANGUAGE_BOOSTS, query, (v) => (v === "auto" ? "auto (detect)" : v));
}
