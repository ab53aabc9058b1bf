/**
 * Short-lived drafts keyed by a random token, for state that must survive between a command and the
 * modal it opens (a modal's custom id holds at most 100 characters, too few for the options).
 * In memory: a restart only loses modals that were open at that moment.
 */
export interface DraftStore<T> {
  put(value: T): string;
  take(token: string): T | undefined;
}

export function createDraftStore<T>(opts: { ttlMs?: number; now?: () => number } = {}): DraftStore<T> {
  const ttlMs = opts.ttlMs ?? 15 * 60_000;
  const now = opts.now ?? Date.now;
  const drafts = new Map<string, { value: T; expires: number }>();
  return {
    put(value) {
      const t = now();
      for (const [k, d] of drafts) if (d.expires <= t) drafts.delete(k);
      const token = Math.random().toString(36).slice(2, 12);
      drafts.set(token, { value, expires: t + ttlMs });
      return token;
    },
    take(token) {
      const d = drafts.get(token);
      drafts.delete(token);
      return d && d.expires > now() ? d.value : undefined;
    },
  };
}
