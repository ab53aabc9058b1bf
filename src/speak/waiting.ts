import type { QueuePlace } from "../speech/types.ts";

/**
 * Honest waiting: a request that cannot start at once (the account's synthesis rate limit has a line)
 * tells the member where they stand — "⏳ You are #4 in line; about 40 s." — instead of leaving the
 * "thinking…" placeholder up with no word. It knows nothing of Discord: `notify` shows a text (the
 * command edits its deferred reply).
 *
 * - The first notice comes `firstAfterMs` (1 s) after joining the line, so a wait that ends at once
 *   shows nothing, and a real one is told well inside 2 s.
 * - It is refreshed while the request waits, when the text changes, at most once per `refreshMs`
 *   (5 s): Discord limits how often one message may be edited, and an estimate moving by the second
 *   is noise.
 * - Once the request's turn has come, one last notice says the audio is being made (still at the
 *   same pace), unless the answer comes first: `stop()` cancels what is pending and waits for a notice
 *   in flight, so the answer that follows always replaces it.
 *
 * The line itself is the rate limiter's: first come, first served. One member cannot crowd others
 * out, because a member has at most `SPEAK_MAX_CONCURRENT` requests in progress (more are refused at
 * once), so at most that many places in line.
 */

export interface WaitingNoticeOptions {
  /** Shows `text` to the member (in place of the placeholder). A failure is reported to `onError`. */
  notify: (text: string) => Promise<unknown>;
  /** The first notice comes this long after joining the line. Default 1000 ms. */
  firstAfterMs?: number;
  /** At most one notice per this interval. Default 5000 ms. */
  refreshMs?: number;
  onError?: (err: unknown) => void;
  /** Milliseconds; default `Date.now`. Timers are the global ones (fake them in tests). */
  now?: () => number;
}

export interface WaitingNotice {
  /** Pass as `CallOptions.onQueued`. */
  readonly onQueued: (place: QueuePlace) => void;
  /** True once a notice was sent (or attempted). */
  readonly shown: boolean;
  /** Stops notices; resolves once a notice in flight has settled. Idempotent. */
  stop(): Promise<void>;
}

export const FIRST_NOTICE_AFTER_MS = 1000;
export const NOTICE_REFRESH_MS = 5000;

/** The text shown while waiting. */
export function waitingText(place: Pick<QueuePlace, "position" | "waitMs">): string {
  return `⏳ You are #${place.position} in line; about ${aboutDuration(place.waitMs)}.`;
}

/** Shown once, when a member who was told of a wait gets their turn. */
export const TURN_TEXT = "🎙️ Your turn: making the audio now…";

/**
 * A wait as a member reads it: seconds rounded up to a multiple of 5 (never "about 0 s": the start is
 * predicted, and the audio takes a moment more), then the nearest whole minute past 55 s.
 */
export function aboutDuration(ms: number): string {
  const seconds = Math.max(5, Math.ceil(Math.ceil(ms / 1000) / 5) * 5);
  if (seconds <= 55) return `${seconds} s`;
  return `${Math.max(1, Math.round(seconds / 60))} min`;
}

export function createWaitingNotice(opts: WaitingNoticeOptions): WaitingNotice {
  const now = opts.now ?? Date.now;
  const firstAfterMs = opts.firstAfterMs ?? FIRST_NOTICE_AFTER_MS;
  const refreshMs = opts.refreshMs ?? NOTICE_REFRESH_MS;
  let place: QueuePlace | undefined;
  let stopped = false;
  let shown = false;
  let lastText: string | undefined;
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();

  function schedule(at: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, Math.max(0, at - now()));
    timer.unref?.();
  }

  function send(text: string): void {
    shown = true;
    lastText = text;
    lastSentAt = now();
    // Chained, so notices land in order and `stop()` can wait for the last one.
    inFlight = inFlight.then(() =>
      opts.notify(text).then(
        () => undefined,
        (err: unknown) => opts.onError?.(err),
      ),
    );
  }

  function tick(): void {
    timer = undefined;
    if (stopped || place === undefined) return;
    if (place.position > 0) {
      const text = waitingText(place);
      if (text !== lastText) send(text);
      // Look again when the next notice is allowed (and at least a second later, when the text was
      // unchanged and none was sent).
      schedule(Math.max(lastSentAt + refreshMs, now() + 1000));
      return;
    }
    // Out of the line: its turn came (or it was refused, and the answer says so). Only someone who was
    // told of a wait needs to hear that it is over.
    if (shown && lastText !== TURN_TEXT) send(TURN_TEXT);
  }

  return {
    onQueued(p) {
      if (stopped) return;
      place = p;
      // A retry queueing again keeps the pace: never sooner than `refreshMs` after the last notice.
      schedule(Math.max(now() + firstAfterMs, lastSentAt + refreshMs));
    },
    get shown() {
      return shown;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
