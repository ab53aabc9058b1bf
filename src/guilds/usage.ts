import { UserFacingError } from "../user-facing-error.ts";
import type { GuildSettings } from "./settings.ts";

/**
 * Character budgets: how many characters each member and each guild used per UTC day and month, kept
 * in Keyv. A request is checked before any provider call and recorded after it with the provider's
 * billed count (or the text's length when it reports none). Cache hits are never recorded.
 *
 * Keys (values are compact):
 * - `u:<guild>:<user>:d:<YYYY-MM-DD>` and `u:<guild>:<user>:m:<YYYY-MM>` → number
 * - `g:<guild>:d:<YYYY-MM-DD>` and `g:<guild>:m:<YYYY-MM>` → `{ t: total, u: { userId: chars } }`,
 *   so the guild's top users cost one read.
 * Day keys expire after ~40 days and month keys after ~400, so old periods clean themselves up.
 */

export type UsagePeriod = "day" | "month";
export type BudgetLimits = Pick<
  GuildSettings["limits"],
  "userDailyChars" | "guildDailyChars" | "guildMonthlyChars"
>;

/** The subset of Keyv the ledger uses; `ttl` is in milliseconds. */
export interface UsageKeyValue {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttl?: number): Promise<unknown>;
}

export interface UsageSummary {
  user: { day: number; month: number };
  guild: { day: number; month: number };
  /** Characters left under each budget; `null` when that budget is not set (unlimited). */
  remaining: { userDay: number | null; guildDay: number | null; guildMonth: number | null };
  /** When the periods roll over (ms epoch): the next UTC midnight and the first of next month. */
  resets: { day: number; month: number };
}

export interface UsageLedger {
  /** Throws a UserFacingError naming the budget, what remains and when it resets, if `chars` don't fit. */
  check(guildId: string, userId: string, chars: number, limits: BudgetLimits): Promise<void>;
  record(guildId: string, userId: string, chars: number): Promise<void>;
  summary(guildId: string, userId: string, limits: BudgetLimits): Promise<UsageSummary>;
  /** Heaviest users of the current period, most characters first. */
  top(guildId: string, period: UsagePeriod, n: number): Promise<{ userId: string; chars: number }[]>;
}

export interface UsageLedgerOptions {
  now?: () => number;
}

const DAY_MS = 86_400_000;
export const DAY_TTL_MS = 40 * DAY_MS;
export const MONTH_TTL_MS = 400 * DAY_MS;

// ---- pure helpers -------------------------------------------------------------------------------

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

/** A Discord relative timestamp (`<t:unix:R>`), shown in each reader's own time zone. */
export function relativeTime(ms: number): string {
  return `<t:${Math.floor(ms / 1000)}:R>`;
}

const fmt = (n: number) => n.toLocaleString("en-US");

// ---- ledger -------------------------------------------------------------------------------------

interface GuildRecord {
  /** Total characters of the period. */
  t: number;
  /** Per-user totals of the period. */
  u: Record<string, number>;
}

const userKey = (guildId: string, userId: string, period: UsagePeriod, ms: number) =>
  `u:${guildId}:${userId}:${period === "day" ? "d" : "m"}:${periodKey(period, ms)}`;
const guildKey = (guildId: string, period: UsagePeriod, ms: number) =>
  `g:${guildId}:${period === "day" ? "d" : "m"}:${periodKey(period, ms)}`;
const ttlOf = (period: UsagePeriod) => (period === "day" ? DAY_TTL_MS : MONTH_TTL_MS);

function asCount(raw: unknown): number {
  return typeof raw === "number" && Number.isFinite(raw) && raw > 0 ? raw : 0;
}

function asGuildRecord(raw: unknown): GuildRecord {
  if (!raw || typeof raw !== "object") return { t: 0, u: {} };
  const r = raw as Partial<GuildRecord>;
  const u: Record<string, number> = {};
  if (r.u && typeof r.u === "object") {
    for (const [id, n] of Object.entries(r.u)) if (asCount(n) > 0) u[id] = asCount(n);
  }
  return { t: asCount(r.t), u };
}

export function createUsageLedger(kv: UsageKeyValue, opts: UsageLedgerOptions = {}): UsageLedger {
  const now = opts.now ?? Date.now;
  /** Records of one guild are applied one at a time, so concurrent read-modify-writes don't lose counts. */
  const queues = new Map<string, Promise<void>>();

  async function usage(guildId: string, userId: string, at: number) {
    const [userDay, userMonth, guildDay, guildMonth] = await Promise.all([
      kv.get(userKey(guildId, userId, "day", at)),
      kv.get(userKey(guildId, userId, "month", at)),
      kv.get(guildKey(guildId, "day", at)),
      kv.get(guildKey(guildId, "month", at)),
    ]);
    return {
      user: { day: asCount(userDay), month: asCount(userMonth) },
      guild: { day: asGuildRecord(guildDay).t, month: asGuildRecord(guildMonth).t },
    };
  }

  async function apply(guildId: string, userId: string, chars: number, at: number): Promise<void> {
    for (const period of ["day", "month"] as const) {
      const uk = userKey(guildId, userId, period, at);
      await kv.set(uk, asCount(await kv.get(uk)) + chars, ttlOf(period));
      const gk = guildKey(guildId, period, at);
      const rec = asGuildRecord(await kv.get(gk));
      rec.t += chars;
      rec.u[userId] = (rec.u[userId] ?? 0) + chars;
      await kv.set(gk, rec, ttlOf(period));
    }
  }

  return {
    async check(guildId, userId, chars, limits) {
      const at = now();
      const used = await usage(guildId, userId, at);
      const budgets = [
        {
          limit: limits.userDailyChars,
          used: used.user.day,
          name: "your daily budget",
          reset: nextDayReset(at),
        },
        {
          limit: limits.guildDailyChars,
          used: used.guild.day,
          name: "the server's daily budget",
          reset: nextDayReset(at),
        },
        {
          limit: limits.guildMonthlyChars,
          used: used.guild.month,
          name: "the server's monthly budget",
          reset: nextMonthReset(at),
        },
      ];
      for (const b of budgets) {
        if (b.limit === undefined || b.used + chars <= b.limit) continue;
        const left = Math.max(0, b.limit - b.used);
        const need = `That needs ${fmt(chars)} character${chars === 1 ? "" : "s"}`;
        const state =
          left === 0
            ? `${b.name} of ${fmt(b.limit)} characters is used up`
            : `${b.name} has ${fmt(left)} of ${fmt(b.limit)} characters left`;
        throw new UserFacingError(`${need}, but ${state}. It resets ${relativeTime(b.reset)}.`);
      }
    },

    async record(guildId, userId, chars) {
      const n = Math.round(chars);
      if (!Number.isFinite(n) || n <= 0) return;
      const at = now();
      const previous = queues.get(guildId) ?? Promise.resolve();
      const next = previous.then(() => apply(guildId, userId, n, at));
      const settled = next.catch(() => undefined);
      queues.set(guildId, settled);
      void settled.then(() => {
        if (queues.get(guildId) === settled) queues.delete(guildId);
      });
      await next;
    },

    async summary(guildId, userId, limits) {
      const at = now();
      const used = await usage(guildId, userId, at);
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

    async top(guildId, period, n) {
      const rec = asGuildRecord(await kv.get(guildKey(guildId, period, now())));
      return Object.entries(rec.u)
        .map(([userId, chars]) => ({ userId, chars }))
        .sort((a, b) => b.chars - a.chars || a.userId.localeCompare(b.userId))
        .slice(0, Math.max(0, n));
    },
  };
}
