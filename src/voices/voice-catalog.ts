import Fuse from "fuse.js";
import type { TtsProvider, VoiceInfo } from "../speech/types.ts";

/**
 * The provider's voice list, cached with a TTL, searchable with fuzzy matching. Autocomplete must
 * answer within 3 s, so a search never waits longer than `budgetMs` for a fetch: it falls back to the
 * stale list or the built-in one.
 */

/** The multilingual voices every MiniMax-backed provider (and the AI/ML API gateway) accepts. */
export const BUILTIN_VOICES = [
  "Wise_Woman",
  "Friendly_Person",
  "Inspirational_girl",
  "Deep_Voice_Man",
  "Calm_Woman",
  "Casual_Guy",
  "Lively_Girl",
  "Patient_Man",
  "Young_Knight",
  "Determined_Man",
  "Lovely_Girl",
  "Decent_Boy",
  "Imposing_Manner",
  "Elegant_Man",
  "Abbess",
  "Sweet_Girl_2",
  "Exuberant_Girl",
] as const;

export interface VoiceChoice {
  name: string;
  value: string;
}

export interface VoiceCatalogOptions {
  provider: Pick<TtsProvider, "listVoices">;
  ttlMs?: number;
  /** Longest a search waits for a fetch in progress. */
  budgetMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export interface VoiceCatalog {
  /** The full list (fetching when stale). */
  list(): Promise<VoiceInfo[]>;
  /** Fuzzy search; recent voices first when the query is empty or matches them. At most `limit`. */
  search(query: string, opts?: { recent?: string[]; limit?: number }): Promise<VoiceChoice[]>;
  /** Starts a fetch in the background (at start-up). */
  warm(): void;
}

/** `English_CalmWoman` → English; `Chinese (Mandarin)_News_Anchor` → Chinese (Mandarin); legacy ids → Multilingual. */
export function voiceLanguage(voiceId: string): string {
  const m = /^([A-Za-z]+(?: \([^)]+\))?)_/.exec(voiceId);
  if (!m) return "Multilingual";
  const lang = m[1]!;
  const known =
    /^(English|Chinese|Cantonese|Japanese|Korean|Spanish|Portuguese|French|German|Indonesian|Russian|Italian|Arabic|Turkish|Ukrainian|Dutch|Vietnamese|Thai|Polish|Romanian|Greek|Czech|Finnish|Hindi)/i;
  if (!known.test(lang)) return "Multilingual";
  return lang.charAt(0).toUpperCase() + lang.slice(1);
}

function builtinList(): VoiceInfo[] {
  return BUILTIN_VOICES.map((voiceId) => ({
    voiceId,
    name: undefined,
    description: undefined,
    category: "system",
  }));
}

/**
 * The provider's list plus the built-in multilingual voices it always accepts, so they can be found
 * even when a listing omits them.
 */
function withBuiltins(list: VoiceInfo[]): VoiceInfo[] {
  const known = new Set(list.map((v) => v.voiceId));
  return [...list, ...builtinList().filter((v) => !known.has(v.voiceId))];
}

export function choiceLabel(v: VoiceInfo): string {
  const label = v.name && v.name !== v.voiceId ? `${v.voiceId} — ${v.name}` : v.voiceId;
  return label.length > 100 ? `${label.slice(0, 99)}…` : label;
}

export function createVoiceCatalog(opts: VoiceCatalogOptions): VoiceCatalog {
  const ttlMs = opts.ttlMs ?? 60 * 60_000;
  const budgetMs = opts.budgetMs ?? 1500;
  const now = opts.now ?? Date.now;
  let voices: VoiceInfo[] | undefined;
  let fuse: Fuse<VoiceInfo> | undefined;
  let fetchedAt = 0;
  let inflight: Promise<VoiceInfo[]> | undefined;

  function index(list: VoiceInfo[]): void {
    voices = list;
    fuse = new Fuse(list, {
      keys: [
        { name: "voiceId", weight: 2 },
        { name: "name", weight: 1 },
      ],
      threshold: 0.4,
      ignoreLocation: true,
    });
  }

  function refresh(): Promise<VoiceInfo[]> {
    if (!opts.provider.listVoices) {
      if (!voices) index(builtinList());
      fetchedAt = now();
      return Promise.resolve(voices!);
    }
    inflight ??= opts.provider
      .listVoices()
      .then((list) => {
        index(withBuiltins(list));
        fetchedAt = now();
        return voices!;
      })
      .catch((err: unknown) => {
        opts.onError?.(err);
        // Keep serving what we have; try again on a later call, not in a loop.
        if (!voices) index(builtinList());
        fetchedAt = now() - ttlMs + 60_000;
        return voices!;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  const stale = () => !voices || now() - fetchedAt >= ttlMs;

  async function current(): Promise<VoiceInfo[]> {
    if (!stale()) return voices!;
    const fetching = refresh();
    if (voices) return voices; // stale-while-revalidate
    const timeout = new Promise<undefined>((r) => setTimeout(() => r(undefined), budgetMs).unref());
    return (await Promise.race([fetching, timeout])) ?? builtinList();
  }

  return {
    async list() {
      return stale() ? refresh() : voices!;
    },
    async search(query, { recent = [], limit = 25 } = {}) {
      const list = await current();
      const q = query.trim();
      const byId = new Map(list.map((v) => [v.voiceId, v]));
      const recentInfos = recent.map(
        (id) =>
          byId.get(id) ?? {
            voiceId: id,
            name: undefined,
            description: undefined,
            category: "system" as const,
          },
      );
      let ranked: VoiceInfo[];
      if (q === "") {
        ranked = [...recentInfos, ...list];
      } else {
        const matches = (
          fuse ?? new Fuse(list, { keys: ["voiceId", "name"], threshold: 0.4, ignoreLocation: true })
        )
          .search(q)
          .map((r) => r.item);
        const lower = q.toLowerCase();
        const recentHits = recentInfos.filter((v) => v.voiceId.toLowerCase().includes(lower));
        ranked = [...recentHits, ...matches];
      }
      const seen = new Set<string>();
      const out: VoiceChoice[] = [];
      for (const v of ranked) {
        // Discord refuses choice values over 100 characters; such an id cannot be offered.
        if (seen.has(v.voiceId) || v.voiceId.length > 100) continue;
        seen.add(v.voiceId);
        out.push({ name: choiceLabel(v), value: v.voiceId });
        if (out.length >= limit) break;
      }
      return out;
    },
    warm() {
      void refresh();
    },
  };
}
