import type { DatabaseSync, StatementSync } from "node:sqlite";
import { inTransaction } from "../storage/sqlite-store.ts";
import { checkChars, checkRecord, checkReserve, checkTime, StoredHoldSchema } from "./budget-common.ts";
import type { BudgetLimits, BudgetStore, Hold, ReserveResult, Usage } from "./budget-store.ts";
import { DAY_TTL_MS, dayKey, MONTH_TTL_MS, monthKey } from "./periods.ts";

/**
 * The budget store in the bot's SQLite file. Every write is one `BEGIN IMMEDIATE` transaction, so the
 * check and the charge of a reservation cannot interleave with another one, whether from this process
 * (node:sqlite is synchronous) or another process sharing the file (it waits for the write lock).
 *
 * `budget_usage` has one row per guild, period (`d:YYYY-MM-DD` or `m:YYYY-MM`) and member, plus the
 * guild's total under the member id "" — so a member's use, the guild's and its top list are index reads.
 */

const USAGE = "budget_usage";
const HOLDS = "budget_holds";
/** The "member" whose row is the guild's total. */
const TOTAL = "";
const DEFAULT_PRUNE_INTERVAL_MS = 3_600_000;

export interface SqliteBudgetStore extends BudgetStore {
  /** Deletes the counters of days older than 40 days and months older than 400 days before `at`. */
  prune(at: number): void;
}

export interface SqliteBudgetStoreOptions {
  /** Reservations and records prune old periods at most this often (by their `at`). Default 1 hour. */
  pruneIntervalMs?: number;
}

type Statements = Record<
  | "hold"
  | "counters"
  | "increase"
  | "decrease"
  | "insertHold"
  | "deleteHold"
  | "top"
  | "holds"
  | "pruneDays"
  | "pruneMonths",
  StatementSync
>;

const dayPeriod = (day: string) => `d:${day}`;
const monthPeriod = (month: string) => `m:${month}`;

export function createSqliteBudgetStore(
  db: DatabaseSync,
  opts: SqliteBudgetStoreOptions = {},
): SqliteBudgetStore {
  const pruneIntervalMs = opts.pruneIntervalMs ?? DEFAULT_PRUNE_INTERVAL_MS;
  let lastPrune = Number.NEGATIVE_INFINITY;

  db.exec(`
    CREATE TABLE IF NOT EXISTS ${USAGE} (
      guild TEXT NOT NULL,
      period TEXT NOT NULL,
      user TEXT NOT NULL,
      chars INTEGER NOT NULL,
      PRIMARY KEY (guild, period, user)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS ${HOLDS} (
      id TEXT PRIMARY KEY,
      guild TEXT NOT NULL,
      user TEXT NOT NULL,
      chars INTEGER NOT NULL,
      day TEXT NOT NULL,
      month TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${HOLDS}_created_at ON ${HOLDS}(created_at);
  `);
  const sql: Statements = {
    hold: db.prepare(
      `SELECT id, guild AS guildId, user AS userId, chars, day, month, created_at AS createdAt
       FROM ${HOLDS} WHERE id = ?`,
    ),
    counters: db.prepare(
      `SELECT period, user, chars FROM ${USAGE}
       WHERE guild = $guild AND period IN ($day, $month) AND user IN ($user, '')`,
    ),
    increase: db.prepare(
      `INSERT INTO ${USAGE} (guild, period, user, chars) VALUES ($guild, $period, $user, $delta)
       ON CONFLICT (guild, period, user) DO UPDATE SET chars = chars + $delta`,
    ),
    // A decrease never creates a row (its period may have been pruned) nor goes below zero.
    decrease: db.prepare(
      `UPDATE ${USAGE} SET chars = MAX(0, chars + $delta) WHERE guild = $guild AND period = $period AND user = $user`,
    ),
    insertHold: db.prepare(
      `INSERT INTO ${HOLDS} (id, guild, user, chars, day, month, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteHold: db.prepare(`DELETE FROM ${HOLDS} WHERE id = ?`),
    top: db.prepare(
      `SELECT user AS userId, chars FROM ${USAGE}
       WHERE guild = ? AND period = ? AND user != '' AND chars > 0
       ORDER BY chars DESC, user ASC LIMIT ?`,
    ),
    holds: db.prepare(
      `SELECT id, guild AS guildId, user AS userId, chars, day, month, created_at AS createdAt
       FROM ${HOLDS} WHERE created_at < ? ORDER BY created_at, id`,
    ),
    // Periods sort as text; the lower bound keeps each delete to its own kind of period.
    pruneDays: db.prepare(`DELETE FROM ${USAGE} WHERE period >= 'd:' AND period < ?`),
    pruneMonths: db.prepare(`DELETE FROM ${USAGE} WHERE period >= 'm:' AND period < ?`),
  };

  function readHold(id: string): Hold | undefined {
    const row = sql.hold.get(id);
    return row === undefined ? undefined : StoredHoldSchema.parse(row);
  }

  /** Adds `delta` (may be negative) to the member's and the guild's counters of one day and one month. */
  function adjust(guild: string, user: string, day: string, month: string, delta: number): void {
    if (delta === 0) return;
    const statement = delta > 0 ? sql.increase : sql.decrease;
    for (const period of [dayPeriod(day), monthPeriod(month)]) {
      for (const who of [user, TOTAL]) statement.run({ guild, period, user: who, delta });
    }
  }

  function counters(guild: string, user: string, day: string, month: string): Usage {
    const usage: Usage = { user: { day: 0, month: 0 }, guild: { day: 0, month: 0 } };
    const rows = sql.counters.all({ guild, user, day: dayPeriod(day), month: monthPeriod(month) });
    for (const row of rows) {
      const side = row.user === TOTAL ? usage.guild : usage.user;
      side[row.period === dayPeriod(day) ? "day" : "month"] = Number(row.chars);
    }
    return usage;
  }

  function prune(at: number): void {
    lastPrune = at;
    sql.pruneDays.run(dayPeriod(dayKey(at - DAY_TTL_MS)));
    sql.pruneMonths.run(monthPeriod(monthKey(at - MONTH_TTL_MS)));
  }

  function maybePrune(at: number): void {
    if (Math.abs(at - lastPrune) >= pruneIntervalMs) prune(at);
  }

  async function settle(holdId: string, actual: number): Promise<boolean> {
    checkChars("actual", actual);
    return inTransaction(db, () => {
      const hold = readHold(holdId);
      if (!hold) return false;
      adjust(hold.guildId, hold.userId, hold.day, hold.month, actual - hold.chars);
      sql.deleteHold.run(holdId);
      return true;
    });
  }

  return {
    prune(at) {
      inTransaction(db, () => prune(checkTime("at", at)));
    },

    async reserve(input) {
      const { holdId, guildId, userId, chars, limits, at } = checkReserve(input);
      return inTransaction(db, (): ReserveResult => {
        maybePrune(at);
        const existing = readHold(holdId);
        if (existing) return { ok: true, hold: existing };
        const hold: Hold = {
          id: holdId,
          guildId,
          userId,
          chars,
          day: dayKey(at),
          month: monthKey(at),
          createdAt: at,
        };
        const refusal = firstOver(limits, counters(guildId, userId, hold.day, hold.month), chars);
        if (refusal) return refusal;
        adjust(guildId, userId, hold.day, hold.month, chars);
        sql.insertHold.run(holdId, guildId, userId, chars, hold.day, hold.month, at);
        return { ok: true, hold };
      });
    },

    settle,
    release: (holdId) => settle(holdId, 0),

    async record(input) {
      const { guildId, userId, chars, at } = checkRecord(input);
      if (chars === 0) return;
      inTransaction(db, () => {
        maybePrune(at);
        adjust(guildId, userId, dayKey(at), monthKey(at), chars);
      });
    },

    async usage(guildId, userId, at) {
      // One statement reads one snapshot, so the four counters agree with each other.
      return counters(guildId, userId, dayKey(at), monthKey(at));
    },

    async top(guildId, period, at, n) {
      if (n <= 0) return [];
      const key = period === "day" ? dayPeriod(dayKey(at)) : monthPeriod(monthKey(at));
      // LIMIT -1 is SQLite's "no limit".
      return sql.top
        .all(guildId, key, Number.isFinite(n) ? Math.floor(n) : -1)
        .map((row) => ({ userId: String(row.userId), chars: Number(row.chars) }));
    },

    async holds(before) {
      return sql.holds.all(before).map((row) => StoredHoldSchema.parse(row));
    },
  };
}

/** The first budget, in the contract's order, that `chars` more would overrun. */
function firstOver(limits: BudgetLimits, used: Usage, chars: number): ReserveResult | undefined {
  const budgets = [
    { budget: "userDay", limit: limits.userDailyChars, used: used.user.day },
    { budget: "guildDay", limit: limits.guildDailyChars, used: used.guild.day },
    { budget: "guildMonth", limit: limits.guildMonthlyChars, used: used.guild.month },
  ] as const;
  for (const b of budgets) {
    if (b.limit !== undefined && b.used + chars > b.limit) {
      return { ok: false, budget: b.budget, limit: b.limit, used: b.used };
    }
  }
  return undefined;
}
