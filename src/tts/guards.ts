import { UserFacingError } from "../user-facing-error.ts";

/**
 * Per-user abuse and cost guards for synthesis: a cooldown between requests and a cap on requests
 * running at once. In memory on purpose: both are about the next few seconds, and a restart resets
 * them harmlessly.
 */

export interface GuardOptions {
  /** Minimum time between two requests of one user. 0 disables. */
  cooldownMs: number;
  /** Requests one user may have running at once. */
  maxConcurrent: number;
  now?: () => number;
}

export interface UserGuards {
  /** Claims a slot for the user or throws a UserFacingError saying when to try again. */
  acquire(userId: string): () => void;
}

export function createUserGuards(opts: GuardOptions): UserGuards {
  const now = opts.now ?? Date.now;
  const lastStart = new Map<string, number>();
  const running = new Map<string, number>();

  return {
    acquire(userId) {
      const t = now();
      const active = running.get(userId) ?? 0;
      if (active >= opts.maxConcurrent) {
        throw new UserFacingError(
          `You already have ${active} request${active === 1 ? "" : "s"} in progress. ` +
            "Please wait for it to finish, then try again.",
        );
      }
      const last = lastStart.get(userId);
      if (last !== undefined && t - last < opts.cooldownMs) {
        const readyAt = last + opts.cooldownMs;
        const seconds = Math.max(1, Math.ceil((readyAt - t) / 1000));
        // <t:…:R> renders as a live relative time in the member's own client.
        throw new UserFacingError(
          `Slow down a little: you can speak again in ${seconds} s (<t:${Math.ceil(readyAt / 1000)}:R>).`,
        );
      }
      lastStart.set(userId, t);
      running.set(userId, active + 1);
      // Old cooldown entries are useless after the cooldown; drop them so the map stays small.
      if (lastStart.size > 10_000) {
        for (const [id, at] of lastStart) if (t - at >= opts.cooldownMs) lastStart.delete(id);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (running.get(userId) ?? 1) - 1;
        if (left <= 0) running.delete(userId);
        else running.set(userId, left);
      };
    },
  };
}
