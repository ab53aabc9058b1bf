/**
 * Watches @discordjs/voice's debug lines for DAVE trouble. The library recovers from a run of failed
 * decryptions by re-initializing its MLS session; when that recovery itself keeps happening, the group
 * state is broken for us and only a fresh voice handshake helps. The library reports both only as
 * debug text, so this matches the text of 0.19.
 */

/** "[NW] [DAVE] Failed to decrypt a packet (reinitializing session)" and invalidated transitions. */
const RECOVERY = /\[DAVE\].*(reinitializing session|Invalidating transition)/i;

export interface DaveWatch {
  /** Feed one debug line; true when the bot should rejoin now (the window then starts over). */
  observe(message: string, now: number): boolean;
}

export function createDaveWatch(opts: { threshold: number; windowMs: number }): DaveWatch {
  let recoveries: number[] = [];
  return {
    observe(message, now) {
      if (!RECOVERY.test(message)) return false;
      recoveries = recoveries.filter((t) => now - t < opts.windowMs);
      recoveries.push(now);
      if (recoveries.length < opts.threshold) return false;
      recoveries = [];
      return true;
    },
  };
}
