/**
 * Character budgets as an atomic store: counters per guild, member and UTC period, and *holds*
 * (reservations) that are added to the counters when a request is accepted and later settled to what
 * the provider billed, or released when nothing was billed. Two backends share this contract: one
 * SQLite transaction per operation (embedded default), or one Redis script per operation (a fleet).
 *
 * Because a hold is counted the moment it is taken, a crash after reserving never loses the charge:
 * at worst the counter keeps the reserved amount instead of the billed one until reconciliation.
 */

export type BudgetName = "userDay" | "guildDay" | "guildMonth";

export interface BudgetLimits {
  userDailyChars?: number | undefined;
  guildDailyChars?: number | undefined;
  guildMonthlyChars?: number | undefined;
}

export interface Hold {
  id: string;
  guildId: string;
  userId: string;
  chars: number;
  /** The periods the hold was counted in (`YYYY-MM-DD`, `YYYY-MM`): a settle adjusts those. */
  day: string;
  month: string;
  /** ms epoch */
  createdAt: number;
}

export type ReserveResult =
  | { ok: true; hold: Hold }
  | {
      ok: false;
      /** The first budget (in the order userDay, guildDay, guildMonth) the request did not fit. */
      budget: BudgetName;
      limit: number;
      /** Characters already counted in that budget (held ones included). */
      used: number;
    };

export interface Usage {
  user: { day: number; month: number };
  guild: { day: number; month: number };
}

export interface BudgetStore {
  /**
   * Atomically: when `chars` fits every set limit (counting other holds), adds `chars` to the four
   * counters (member day and month, guild day and month, and the guild's per-member breakdown) and
   * records the hold. A hold id that already exists returns that hold unchanged (idempotent retry).
   */
  reserve(input: {
    holdId: string;
    guildId: string;
    userId: string;
    chars: number;
    limits: BudgetLimits;
    at: number;
  }): Promise<ReserveResult>;
  /**
   * Atomically replaces the hold's characters in its own periods' counters with `actual` and deletes
   * the hold. Returns false (and changes nothing) when there is no such hold: settling twice bills once.
   */
  settle(holdId: string, actual: number): Promise<boolean>;
  /** `settle(holdId, 0)`: nothing was billed. */
  release(holdId: string): Promise<boolean>;
  /** Adds characters with no hold (e.g. a charge found at reconciliation). */
  record(input: { guildId: string; userId: string; chars: number; at: number }): Promise<void>;
  usage(guildId: string, userId: string, at: number): Promise<Usage>;
  /** Heaviest members of the guild in the period holding `at`, most first (ties by id). */
  top(
    guildId: string,
    period: "day" | "month",
    at: number,
    n: number,
  ): Promise<{ userId: string; chars: number }[]>;
  /** Holds taken before `before` (ms epoch), oldest first: what reconciliation looks at. */
  holds(before: number): Promise<Hold[]>;
}
