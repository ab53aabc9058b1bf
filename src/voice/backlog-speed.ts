import { SPEED_RANGE } from "../speech/ranges.ts";

/**
 * Backlog speed-up (opt-in per server, `/settings set backlog_speedup:true`): when a server's voice
 * queue is long, a clip queued behind it is spoken a little faster, as MiniMax's `speed`, so the
 * queue drains sooner. Decided once, when the clip is queued.
 *
 * The queue, counting the new clip, is "past the threshold" when it holds more clips than
 * `backlogThreshold`; every clip beyond it adds `BACKLOG_SPEED_STEP` to the factor multiplied onto
 * the clip's own speed (the member's or the server's default, or 1). The result never exceeds
 * `backlogMaxSpeed` (nor MiniMax's 2), and a clip is never slowed: a member who already chose a speed
 * above the cap keeps it.
 */

export interface BacklogSpeedSettings {
  backlogSpeedup: boolean;
  /** Clips that may wait before the speed-up starts. */
  backlogThreshold: number;
  /** The fastest a clip is raised to. */
  backlogMaxSpeed: number;
}

/** Added to the speed factor for each waiting clip beyond the threshold. */
export const BACKLOG_SPEED_STEP = 0.1;

/**
 * The speed to request a clip at. `waiting` is how many clips are already waiting in the queue (not
 * counting the one playing, nor this one); `speed` is the clip's own (absent means the provider's 1).
 * Returns `speed` itself, absent included, when the backlog changes nothing, so the request (and its
 * audio cache key) stays as it was.
 */
export function backlogSpeed(
  waiting: number,
  settings: BacklogSpeedSettings,
  speed: number | undefined,
): number | undefined {
  if (!settings.backlogSpeedup) return speed;
  const beyond = waiting + 1 - settings.backlogThreshold;
  if (beyond <= 0) return speed;
  const own = speed ?? 1;
  const cap = Math.min(settings.backlogMaxSpeed, SPEED_RANGE.max);
  const faster = Math.min(cap, round2(own * (1 + BACKLOG_SPEED_STEP * beyond)));
  return faster > own ? faster : speed;
}

/** Two decimals: 1.1 × 1.2 is 1.32, not 1.3200000000000003. */
function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
