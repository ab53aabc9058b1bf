/**
 * Watches @discordjs/voice's debug lines for DAVE trouble. The library recovers from a bad commit or
 * welcome (and from a run of failed decryptions) by re-initializing its MLS session and asking the
 * voice server (op 31) to add it again; when that recovery itself keeps happening, or cannot happen,
 * the group state is broken for us and only a fresh voice handshake helps. When fresh handshakes do
 * not help either, the caller gives up and says so. The library reports all this only as debug text,
 * so this matches the text of 0.19.
 */

/** "[NW] [DAVE] Failed to decrypt a packet (reinitializing session)" and invalidated transitions. */
const RECOVERY = /\[DAVE\].*(reinitializing session|Invalidating transition)/i;
/** "MLS welcome errored from transition 3: …": a commit or welcome the library could not process. */
const ERRORED = /\[DAVE\].*MLS (commit|welcome) errored/i;
/**
 * A welcome is addressed to this member alone: one failing while a recovery is under way means the
 * recovery failed (a commit may simply be one the gateway broadcast before welcoming us back).
 */
const WELCOME_ERRORED = /\[DAVE\].*MLS welcome errored/i;
/** A commit or welcome processed, or a transition executed: the group works again. */
const SETTLED = /\[DAVE\].*(MLS (commit|welcome) processed|Transition executed)/i;
/** One failed commit logs "errored", then "Invalidating transition": one incident, not two. */
const SAME_INCIDENT_MS = 100;

export interface DaveWatch {
  /**
   * Feed one debug line; true when the bot should rejoin now (the window then starts over): enough
   * recoveries within the window, or a welcome failing while a recovery is still under way (0.19.2
   * then neither reports it with op 31 nor sends a new key package, so it would stay stuck).
   */
  observe(message: string, now: number): boolean;
  /** A recovery started and has not completed (no commit or welcome processed since). */
  readonly recovering: boolean;
  /** True when a recovery has been under way for `stuckMs` without completing (then starts over). */
  stuck(now: number): boolean;
  /** A DAVE step threw and was contained: counted like a recovery; true when the bot should rejoin. */
  failure(now: number): boolean;
  /** The bot is about to rejoin for DAVE's sake: true when it already did so too often and should give up. */
  rejoined(now: number): boolean;
}

export interface DaveWatchOptions {
  threshold: number;
  windowMs: number;
  /** Fresh handshakes for DAVE within `rejoinWindowMs` after which the bot gives up (default 2). */
  rejoinLimit?: number;
  rejoinWindowMs?: number;
  /** How long a recovery may take before a fresh handshake is tried instead (default 15 s). */
  stuckMs?: number;
}

export function createDaveWatch(opts: DaveWatchOptions): DaveWatch {
  const rejoinLimit = opts.rejoinLimit ?? 2;
  const rejoinWindowMs = opts.rejoinWindowMs ?? 10 * 60_000;
  const stuckMs = opts.stuckMs ?? 15_000;
  let recoveries: number[] = [];
  let rejoins: number[] = [];
  let recovering = false;
  let recoveringSince = 0;
  let lastErrored = Number.NEGATIVE_INFINITY;

  function count(now: number): boolean {
    recoveries = recoveries.filter((t) => now - t < opts.windowMs);
    recoveries.push(now);
    if (recoveries.length < opts.threshold) return false;
    return startOver();
  }

  function startOver(): true {
    recoveries = [];
    recovering = false;
    lastErrored = Number.NEGATIVE_INFINITY;
    return true;
  }

  return {
    observe(message, now) {
      if (SETTLED.test(message)) {
        recovering = false;
        return false;
      }
      if (ERRORED.test(message)) {
        if (recovering) return WELCOME_ERRORED.test(message) ? startOver() : false;
        recovering = true;
        recoveringSince = now;
        lastErrored = now;
        return count(now);
      }
      if (!RECOVERY.test(message)) return false;
      if (/Invalidating transition/i.test(message) && now - lastErrored < SAME_INCIDENT_MS) return false;
      return count(now);
    },
    get recovering() {
      return recovering;
    },
    stuck(now) {
      if (!recovering || now - recoveringSince < stuckMs) return false;
      return startOver();
    },
    failure(now) {
      return count(now);
    },
    rejoined(now) {
      rejoins = rejoins.filter((t) => now - t < rejoinWindowMs);
      if (rejoins.length >= rejoinLimit) return true;
      rejoins.push(now);
      return false;
    },
  };
}
