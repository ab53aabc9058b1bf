/**
 * UTC periods of the character budgets: a day runs from midnight to midnight UTC, a month from the
 * first at 00:00 UTC. The ledger and both budget stores name periods with these keys, so they agree.
 */

export type UsagePeriod = "day" | "month";

export const DAY_MS = 86_400_000;
/** How long a day's counters are kept: past the longest month, so `/usage` history is never cut short. */
export const DAY_TTL_MS = 40 * DAY_MS;
/** How long a month's counters are kept: a year and a bit. */
export const MONTH_TTL_MS = 400 * DAY_MS;

const pad = (n: number) => String(n).padStart(2, "0");

/** `YYYY-MM-DD` of the UTC day holding `ms`. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** `YYYY-MM` of the UTC month holding `ms`. */
export function monthKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}`;
}

export function periodKey(period: UsagePeriod, ms: number): string {
  return period === "day" ? dayKey(ms) : monthKey(ms);
}

/** The next UTC midnight after `ms` (ms epoch). */
export function nextDayReset(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** 00:00 UTC on the first of the month after `ms` (ms epoch); December rolls into January. */
export function nextMonthReset(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
