/**
 * Which approved requests start next. Pure: the service gathers the numbers, this only orders.
 *
 * Round-robin by requester: the requester with the fewest requests running goes first; between
 * requesters equally loaded, the one served longest ago (or never) goes first, so with one slot the
 * requesters take turns. Within a requester, and between requesters tied on both, the request with
 * more upvotes goes first, then the older one, then the smaller id (a stable order).
 */

export interface QueueCandidate {
  id: string;
  requesterId: string;
  upvotes: number;
  /** Submission time (ms epoch): older goes first. */
  createdAt: number;
}

export interface FairQueueInput {
  /** Approved requests not started yet. */
  waiting: readonly QueueCandidate[];
  /** Requests running now, per requester. */
  running: ReadonlyMap<string, number>;
  /** When each requester last had a request started (absent: never, or long ago). */
  lastStartedAt?: ReadonlyMap<string, number>;
  /** Jobs that may start now (the guild's limit minus what runs). */
  slots: number;
}

/** The candidates to start now, in order; at most `slots` of them. */
export function pickNext(input: FairQueueInput): QueueCandidate[] {
  const slots = Math.max(0, Math.floor(input.slots));
  if (slots === 0 || input.waiting.length === 0) return [];
  const byRequester = new Map<string, QueueCandidate[]>();
  for (const c of input.waiting) {
    const list = byRequester.get(c.requesterId) ?? [];
    list.push(c);
    byRequester.set(c.requesterId, list);
  }
  for (const list of byRequester.values()) list.sort(compareCandidates);
  const load = new Map<string, number>();
  const served = new Map<string, number>();
  for (const requester of byRequester.keys()) {
    load.set(requester, input.running.get(requester) ?? 0);
    served.set(requester, input.lastStartedAt?.get(requester) ?? Number.NEGATIVE_INFINITY);
  }
  const picked: QueueCandidate[] = [];
  // Each pick counts as a start "now", after every earlier one.
  let latest = Math.max(0, ...[...served.values()].filter(Number.isFinite));
  while (picked.length < slots) {
    let best: string | undefined;
    for (const [requester, list] of byRequester) {
      if (list.length === 0) continue;
      if (best === undefined || compareRequesters(requester, best) < 0) best = requester;
    }
    if (best === undefined) break;
    const next = byRequester.get(best)!.shift()!;
    picked.push(next);
    load.set(best, (load.get(best) ?? 0) + 1);
    served.set(best, ++latest);
  }
  return picked;

  function compareRequesters(a: string, b: string): number {
    return (
      load.get(a)! - load.get(b)! ||
      served.get(a)! - served.get(b)! ||
      compareCandidates(byRequester.get(a)![0]!, byRequester.get(b)![0]!)
    );
  }
}

function compareCandidates(a: QueueCandidate, b: QueueCandidate): number {
  return b.upvotes - a.upvotes || a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
