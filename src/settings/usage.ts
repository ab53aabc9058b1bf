import { relativeTime } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { BudgetLimits, BudgetName, BudgetStore, Hold } from "./budget-store.ts";
import { nextDayReset, nextMonthReset, type UsagePeriod } from "./periods.ts";

/**
 * Character budgets: how many characters each member and each guild used per UTC day and month. A
 * request *reserves* its characters before any provider call (refused with a message naming the
 * budget when they don't fit), then the hold is *settled* to what the provider billed, or *released*
 * when nothing was. Cache hits reserve nothing. The counting itself is atomic in a `BudgetStore`
 * (see budget-store.ts), so concurrent requests, even from several processes, never overrun a budget.
 */

/** Discord's live relative time, for the reset times (see text/markup.ts). */
export type { BudgetLimits, BudgetName, Hold } from "./budget-store.ts";
export {
  DAY_TTL_MS,
  dayKey,
  MONTH_TTL_MS,
  monthKey,
  nextDayReset,
  nextMonthReset,
  periodKey,
  type UsagePeriod,
} from "./periods.ts";

export interface UsageSummary {
  user: { day: number; month: number };
  guild: { day: number; month: number };
  /** Characters left under each budget; `null` when that budget is not set (unlimited). */
  remaining: { userDay: number | null; guildDay: number | null; guildMonth: number | null };
  /** When the periods roll over (ms epoch): the next UTC midnight and the first of next month. */
  resets: { day: number; month: number };
}

export interface ReserveRequest {
  /** Chosen by the caller, so that retrying a reservation (same id) never holds twice. */
  holdId: string;
  guildId: string;
  userId: string;
  chars: number;
  limits: BudgetLimits;
}

export interface UsageLedger {
  /**
   * Holds `chars` against the member's and the guild's budgets. Throws a `BudgetExceededError` naming
   * the budget, what remains and when it resets, if they don't fit.
   */
  reserve(req: ReserveRequest): Promise<Hold>;
  /** Bills `actualChars` for the hold instead of what it reserved. False when the hold is gone (settled). */
  settle(holdId: string, actualChars: number): Promise<boolean>;
  /** Nothing was billed: the hold's characters are given back. False when the hold is gone. */
  release(holdId: string): Promise<boolean>;
  /** Adds characters billed without a hold. Zero, negative and non-finite counts are ignored. */
  record(guildId: string, userId: string, chars: number): Promise<void>;
  summary(guildId: string, userId: string, limits: BudgetLimits): Promise<UsageSummary>;
  /** Heaviest users of the current period, most characters first. */
  top(guildId: string, period: UsagePeriod, n: number): Promise<{ userId: string; chars: number }[]>;
  /** Holds taken before `before` (ms epoch), oldest first: those a crash may have left unsettled. */
  holds(before: number): Promise<Hold[]>;
}

export interface UsageLedgerOptions {
  now?: () => number;
}

const BUDGET_LABELS: Record<BudgetName, string> = {
  userDay: "your daily budget",
  guildDay: "the server's daily budget",
  guildMonth: "the server's monthly budget",
};

const fmt = (n: number) => n.toLocaleString("en-US");

/** A reservation that did not fit; the message is the one shown to the member. */
export class BudgetExceededError extends UserFacingError {
  readonly budget: BudgetName;
  /** Characters the request needed. */
  readonly needed: number;
  readonly limit: number;
  /** Characters already counted in the budget, held ones included. */
  readonly used: number;
  readonly remaining: number;
  /** When the budget's period rolls over (ms epoch). */
  readonly resetsAt: number;

  constructor(details: {
    budget: BudgetName;
    needed: number;
    limit: number;
    used: number;
    resetsAt: number;
  }) {
    const remaining = Math.max(0, details.limit - details.used);
    const name = BUDGET_LABELS[details.budget];
    const need = `That needs ${fmt(details.needed)} character${details.needed === 1 ? "" : "s"}`;
    const state =
      remaining === 0
        ? `${name} of ${fmt(details.limit)} characters is used up`
        : `${name} has ${fmt(remaining)} of ${fmt(details.limit)} characters left`;
    super(`${need}, but ${state}. It resets ${relativeTime(details.resetsAt)}.`);
    this.name = "BudgetExceededError";
    this.budget = details.budget;
    this.needed = details.needed;
    this.limit = details.limit;
    this.used = details.used;
    this.remaining = remaining;
    this.resetsAt = details.resetsAt;
  }
}

/** A provider's count as whole characters; a count that is not a number is a bug, not zero. */
function wholeChars(what: string, n: number): number {
  if (!Number.isFinite(n)) throw new RangeError(`${what} must be a finite number, got ${n}`);
  return Math.max(0, Math.round(n));
}

export function createUsageLedger(store: BudgetStore, opts: UsageLedgerOptions = {}): UsageLedger {
  const now = opts.now ?? Date.now;

  return {
    async reserve({ holdId, guildId, userId, chars, limits }) {
      const at = now();
      const needed = wholeChars("chars", chars);
      const result = await store.reserve({ holdId, guildId, userId, chars: needed, limits, at });
      if (result.ok) return result.hold;
      const resetsAt = result.budget === "guildMonth" ? nextMonthReset(at) : nextDayReset(at);
      throw new BudgetExceededError({ ...result, needed, resetsAt });
    },

    async settle(holdId, actualChars) {
      return store.settle(holdId, wholeChars("actualChars", actualChars));
    },

    release: (holdId) => store.release(holdId),

    async record(guildId, userId, chars) {
      const n = Math.round(chars);
      if (!Number.isFinite(n) || n <= 0) return;
      await store.record({ guildId, userId, chars: n, at: now() });
    },

    async summary(guildId, userId, limits) {
      const at = now();
      const used = await store.usage(guildId, userId, at);
      const left = (limit: number | undefined, n: number) =>
        limit === undefined ? null : Math.max(0, limit - n);
      return {
        ...used,
        remaining: {
          userDay: left(limits.userDailyChars, used.user.day),
          guildDay: left(limits.guildDailyChars, used.guild.day),
          guildMonth: left(limits.guildMonthlyChars, used.guild.month),
        },
        resets: { day: nextDayReset(at), month: nextMonthReset(at) },
      };
    },

    top: (guildId, period, n) => store.top(guildId, period, now(), Math.max(0, n)),

    holds: (before) => store.holds(before),
  };
}
