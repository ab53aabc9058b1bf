import { z } from "zod";
import type { BudgetLimits, BudgetStore, Hold } from "./budget-store.ts";

/**
 * What both budget stores check before touching their counters, and how they read a hold back: a
 * wrong count here would be a billing bug, so bad input throws rather than being rounded away.
 */

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A hold as a backend stores it; numbers may come back as strings (Redis) or bigints (SQLite). */
export const StoredHoldSchema = z.object({
  id: z.string().min(1),
  guildId: z.string().min(1),
  userId: z.string().min(1),
  chars: z.coerce.number().pipe(count),
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  month: z.string().regex(/^\d{4}-\d{2}$/),
  createdAt: z.coerce.number().pipe(z.number().int()),
}) satisfies z.ZodType<Hold, unknown>;

/** Throws a RangeError unless `n` is a whole, non-negative number of characters. */
export function checkChars(what: string, n: number): number {
  if (!count.safeParse(n).success) throw new RangeError(`${what} must be a whole number ≥ 0, got ${n}`);
  return n;
}

export function checkId(what: string, id: string): string {
  // The stores use "" (SQLite) and "_t" (Redis) for the guild total, in the same place as member ids.
  if (id === "" || id === "_t") throw new RangeError(`${what} must be a non-empty id, got "${id}"`);
  return id;
}

export function checkLimits(limits: BudgetLimits): BudgetLimits {
  for (const [name, limit] of Object.entries(limits)) {
    if (limit !== undefined) checkChars(`limits.${name}`, limit);
  }
  return limits;
}

/** A ms epoch, to whole milliseconds (a fake clock may hand fractions). */
export function checkTime(what: string, at: number): number {
  if (!Number.isFinite(at)) throw new RangeError(`${what} must be a ms epoch, got ${at}`);
  return Math.floor(at);
}

/** A reservation's input, checked the same way by both stores. */
export function checkReserve(input: Parameters<BudgetStore["reserve"]>[0]) {
  return {
    holdId: checkId("holdId", input.holdId),
    guildId: checkId("guildId", input.guildId),
    userId: checkId("userId", input.userId),
    chars: checkChars("chars", input.chars),
    limits: checkLimits(input.limits),
    at: checkTime("at", input.at),
  };
}

/** A charge without a hold, checked the same way by both stores. */
export function checkRecord(input: Parameters<BudgetStore["record"]>[0]) {
  return {
    guildId: checkId("guildId", input.guildId),
    userId: checkId("userId", input.userId),
    chars: checkChars("chars", input.chars),
    at: checkTime("at", input.at),
  };
}
