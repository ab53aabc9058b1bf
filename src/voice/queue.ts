import { UserFacingError } from "../user-facing-error.ts";

/**
 * A guild's playback queue: FIFO per member, round-robin between members, bounded in length.
 *
 * Round-robin means a member who queues ten clips cannot make everyone else wait for all ten: after
 * each clip the next member in turn (in the order they first queued) plays one. Pure bookkeeping,
 * no timers or I/O, so the order is easy to test and to show in `/queue`.
 */

export interface QueueLimits {
  /** Most items waiting in the guild. */
  maxItems: number;
  /** Most items waiting from one member. */
  maxPerUser: number;
}

export interface Queued {
  id: string;
  userId: string;
}

export class QueueFullError extends UserFacingError {
  constructor(message: string) {
    super(message);
  }
}

export interface PlaybackQueue<T extends Queued> {
  /** Adds an item; returns its 1-based position in play order. Throws QueueFullError when full. */
  push(item: T): number;
  /** Removes and returns the item to play next. */
  shift(): T | undefined;
  /** The item `shift()` would return, left in place. */
  peek(): T | undefined;
  /** Every waiting item in the order they will play. */
  list(): T[];
  remove(id: string): T | undefined;
  /** Removes everything; returns what was removed. */
  clear(): T[];
  readonly size: number;
}

export function createPlaybackQueue<T extends Queued>(limits: QueueLimits): PlaybackQueue<T> {
  const perUser = new Map<string, T[]>();
  // When each member was last served (a logical clock), and in which order members first queued:
  // the member served longest ago (or never) goes next, ties by arrival. Kept for members with
  // nothing waiting too, so queueing again right after being served does not jump the line.
  const servedAt = new Map<string, number>();
  const arrival = new Map<string, number>();
  let clock = 0;
  let arrivals = 0;
  let size = 0;

  function before(a: string, b: string, served: ReadonlyMap<string, number>): boolean {
    const sa = served.get(a) ?? Number.NEGATIVE_INFINITY;
    const sb = served.get(b) ?? Number.NEGATIVE_INFINITY;
    return sa !== sb ? sa < sb : (arrival.get(a) ?? 0) < (arrival.get(b) ?? 0);
  }

  function nextUser(
    served: ReadonlyMap<string, number>,
    taken?: ReadonlyMap<string, number>,
  ): string | undefined {
    let best: string | undefined;
    for (const [user, items] of perUser) {
      if (items.length <= (taken?.get(user) ?? 0)) continue;
      if (best === undefined || before(user, best, served)) best = user;
    }
    return best;
  }

  function order(): T[] {
    const served = new Map(servedAt);
    const taken = new Map<string, number>();
    const out: T[] = [];
    let t = clock;
    for (let user = nextUser(served, taken); user !== undefined; user = nextUser(served, taken)) {
      const k = taken.get(user) ?? 0;
      out.push(perUser.get(user)![k]!);
      taken.set(user, k + 1);
      served.set(user, ++t);
    }
    return out;
  }

  function removeAt(user: string, items: T[], index: number): T {
    const [item] = items.splice(index, 1);
    size--;
    if (items.length === 0) perUser.delete(user);
    return item!;
  }

  return {
    push(item) {
      if (size >= limits.maxItems) {
        throw new QueueFullError(
          `The queue is full (${limits.maxItems} items). Wait for some to play, or ask for /skip.`,
        );
      }
      const mine = perUser.get(item.userId) ?? [];
      if (mine.length >= limits.maxPerUser) {
        throw new QueueFullError(
          `You already have ${mine.length} items waiting (the most per member is ${limits.maxPerUser}). Let others have a turn.`,
        );
      }
      mine.push(item);
      perUser.set(item.userId, mine);
      if (!arrival.has(item.userId)) arrival.set(item.userId, ++arrivals);
      size++;
      return order().indexOf(item) + 1;
    },
    shift() {
      const user = nextUser(servedAt);
      if (user === undefined) return undefined;
      servedAt.set(user, ++clock);
      return removeAt(user, perUser.get(user)!, 0);
    },
    peek() {
      const user = nextUser(servedAt);
      return user === undefined ? undefined : perUser.get(user)![0];
    },
    list: order,
    remove(id) {
      for (const [user, items] of perUser) {
        const index = items.findIndex((i) => i.id === id);
        if (index >= 0) return removeAt(user, items, index);
      }
      return undefined;
    },
    clear() {
      const all = order();
      perUser.clear();
      size = 0;
      return all;
    },
    get size() {
      return size;
    },
  };
}
