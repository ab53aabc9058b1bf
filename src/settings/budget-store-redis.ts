import { z } from "zod";
import { checkChars, checkRecord, checkReserve, StoredHoldSchema } from "./budget-common.ts";
import type { BudgetName, BudgetStore, Hold, ReserveResult, Usage } from "./budget-store.ts";
import { DAY_TTL_MS, dayKey, MONTH_TTL_MS, monthKey } from "./periods.ts";

/**
 * The budget store in Redis, for a fleet of bot processes. Every operation is one Lua script, which
 * Redis runs without interleaving any other command: a reservation's check and charge are atomic.
 *
 * Keys (`prefix` defaults to `budget:`):
 * - `<prefix>{<guild>}:d:<YYYY-MM-DD>` and `<prefix>{<guild>}:m:<YYYY-MM>`: hashes, one field per
 *   member plus `_t` for the guild's total; they expire 40 and 400 days after their last write.
 * - `<prefix>hold:<id>`: a hold's hash (the fields of `Hold`), and `<prefix>holds`: a sorted set of
 *   hold ids scored by `createdAt`, for reconciliation.
 *
 * A settle finds the hold's period keys from the hold itself, so that script names keys it was not
 * passed: fine for one Redis server (what storage.ts connects to), not for Redis Cluster.
 */

/** The part of a node-redis v5 client the store uses. */
export interface BudgetRedisClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface RedisBudgetStoreOptions {
  /** Put before every key, so several bots (or tests) can share a server. Default `budget:`. */
  prefix?: string;
}

const TOTAL = "_t";
const DAY_TTL_S = String(DAY_TTL_MS / 1000);
const MONTH_TTL_S = String(MONTH_TTL_MS / 1000);

const RESERVE = `
-- KEYS: day hash, month hash, hold hash, holds index
-- ARGV: member, chars, member day limit, guild day limit, guild month limit ('' = none),
--       hold id, guild, day, month, createdAt, day ttl (s), month ttl (s)
local held = redis.call('HGETALL', KEYS[3])
if #held > 0 then return {'held', held} end
local chars = tonumber(ARGV[2])
local used = {
  tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0'),
  tonumber(redis.call('HGET', KEYS[1], '${TOTAL}') or '0'),
  tonumber(redis.call('HGET', KEYS[2], '${TOTAL}') or '0'),
}
local names = {'userDay', 'guildDay', 'guildMonth'}
for i = 1, 3 do
  local limit = ARGV[2 + i]
  if limit ~= '' and used[i] + chars > tonumber(limit) then
    return {'over', names[i], limit, tostring(used[i])}
  end
end
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  redis.call('HINCRBY', key, ARGV[1], ARGV[2])
  redis.call('HINCRBY', key, '${TOTAL}', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[11])
redis.call('EXPIRE', KEYS[2], ARGV[12])
redis.call('HSET', KEYS[3], 'id', ARGV[6], 'guildId', ARGV[7], 'userId', ARGV[1], 'chars', ARGV[2],
  'day', ARGV[8], 'month', ARGV[9], 'createdAt', ARGV[10])
redis.call('ZADD', KEYS[4], ARGV[10], ARGV[6])
return {'ok'}
`;

const SETTLE = `
-- KEYS: hold hash, holds index; ARGV: actual chars, key prefix, hold id, day ttl (s), month ttl (s)
local function adjust(key, member, delta, ttl)
  for _, field in ipairs({member, '${TOTAL}'}) do
    local current = tonumber(redis.call('HGET', key, field) or '0')
    local n = math.max(0, current + delta)
    if n ~= current then redis.call('HSET', key, field, n) end
  end
  if redis.call('EXISTS', key) == 1 then redis.call('EXPIRE', key, ttl) end
end
local h = redis.call('HMGET', KEYS[1], 'guildId', 'userId', 'chars', 'day', 'month')
if not h[1] then return 0 end
local delta = tonumber(ARGV[1]) - tonumber(h[3])
if delta ~= 0 then
  -- The same key names as periodKey() in budget-store-redis.ts.
  local base = ARGV[2] .. '{' .. h[1] .. '}:'
  adjust(base .. 'd:' .. h[4], h[2], delta, ARGV[4])
  adjust(base .. 'm:' .. h[5], h[2], delta, ARGV[5])
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
`;

const RECORD = `
-- KEYS: day hash, month hash; ARGV: member, chars, day ttl (s), month ttl (s)
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, ARGV[1], ARGV[2])
  redis.call('HINCRBY', key, '${TOTAL}', ARGV[2])
  redis.call('EXPIRE', key, ARGV[2 + i])
end
return 1
`;

const USAGE = `
-- KEYS: day hash, month hash; ARGV: member
local out = {}
for _, key in ipairs(KEYS) do
  table.insert(out, redis.call('HGET', key, ARGV[1]) or '0')
  table.insert(out, redis.call('HGET', key, '${TOTAL}') or '0')
end
return out
`;

const HGETALL = `return redis.call('HGETALL', KEYS[1])`;

const HOLDS = `
-- KEYS: holds index; ARGV: before (exclusive), hold key prefix
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])) do
  local h = redis.call('HGETALL', ARGV[2] .. id)
  if #h > 0 then table.insert(out, h) end
end
return out
`;

/** In the order RESERVE checks them, which is the contract's. */
const BUDGETS = ["userDay", "guildDay", "guildMonth"] as const satisfies readonly BudgetName[];
const Flat = z.array(z.string());
const Count = z.coerce.number().int().nonnegative();
const ReserveReply = z.union([
  z.tuple([z.literal("ok")]),
  z.tuple([z.literal("held"), Flat]),
  z.tuple([z.literal("over"), z.enum(BUDGETS), Count, Count]),
]);

/** `[field, value, field, value, …]` (an HGETALL reply over RESP2) → an object. */
function fields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}

const limitArg = (limit: number | undefined) => (limit === undefined ? "" : String(limit));

export function createRedisBudgetStore(
  client: BudgetRedisClient,
  opts: RedisBudgetStoreOptions = {},
): BudgetStore {
  const prefix = opts.prefix ?? "budget:";
  // The hash tag keeps a guild's periods in one slot; SETTLE builds these names too.
  const periodKey = (guild: string, kind: "d" | "m", period: string) =>
    `${prefix}{${guild}}:${kind}:${period}`;
  const holdPrefix = `${prefix}hold:`;
  const holdsIndex = `${prefix}holds`;
  const run = (script: string, keys: string[], args: string[]) =>
    client.eval(script, { keys, arguments: args });

  async function settle(holdId: string, actual: number): Promise<boolean> {
    checkChars("actual", actual);
    const reply = await run(
      SETTLE,
      [holdPrefix + holdId, holdsIndex],
      [String(actual), prefix, holdId, DAY_TTL_S, MONTH_TTL_S],
    );
    return z.coerce.number().parse(reply) === 1;
  }

  return {
    async reserve(input): Promise<ReserveResult> {
      const { holdId, guildId, userId, chars, limits, at } = checkReserve(input);
      const hold: Hold = {
        id: holdId,
        guildId,
        userId,
        chars,
        day: dayKey(at),
        month: monthKey(at),
        createdAt: at,
      };
      const reply = ReserveReply.parse(
        await run(
          RESERVE,
          [
            periodKey(guildId, "d", hold.day),
            periodKey(guildId, "m", hold.month),
            holdPrefix + holdId,
            holdsIndex,
          ],
          [
            userId,
            String(chars),
            limitArg(limits.userDailyChars),
            limitArg(limits.guildDailyChars),
            limitArg(limits.guildMonthlyChars),
            holdId,
            guildId,
            hold.day,
            hold.month,
            String(at),
            DAY_TTL_S,
            MONTH_TTL_S,
          ],
        ),
      );
      switch (reply[0]) {
        case "ok":
          return { ok: true, hold };
        case "held":
          return { ok: true, hold: StoredHoldSchema.parse(fields(reply[1])) };
        case "over": {
          const [, budget, limit, used] = reply;
          return { ok: false, budget, limit, used };
        }
      }
    },

    settle,
    release: (holdId) => settle(holdId, 0),

    async record(input) {
      const { guildId, userId, chars, at } = checkRecord(input);
      if (chars === 0) return;
      await run(
        RECORD,
        [periodKey(guildId, "d", dayKey(at)), periodKey(guildId, "m", monthKey(at))],
        [userId, String(chars), DAY_TTL_S, MONTH_TTL_S],
      );
    },

    async usage(guildId, userId, at): Promise<Usage> {
      const reply = await run(
        USAGE,
        [periodKey(guildId, "d", dayKey(at)), periodKey(guildId, "m", monthKey(at))],
        [userId],
      );
      const [userDay, guildDay, userMonth, guildMonth] = z.tuple([Count, Count, Count, Count]).parse(reply);
      return { user: { day: userDay, month: userMonth }, guild: { day: guildDay, month: guildMonth } };
    },

    async top(guildId, period, at, n) {
      if (n <= 0) return [];
      const key =
        period === "day" ? periodKey(guildId, "d", dayKey(at)) : periodKey(guildId, "m", monthKey(at));
      const counts = fields(Flat.parse(await run(HGETALL, [key], [])));
      return Object.entries(counts)
        .filter(([userId]) => userId !== TOTAL)
        .map(([userId, chars]) => ({ userId, chars: Count.parse(chars) }))
        .filter((row) => row.chars > 0)
        .sort((a, b) => b.chars - a.chars || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
        .slice(0, Math.floor(n));
    },

    async holds(before) {
      const bound = Number.isFinite(before) ? String(Math.ceil(before)) : before > 0 ? "+inf" : "-inf";
      const reply = z.array(Flat).parse(await run(HOLDS, [holdsIndex], [bound, holdPrefix]));
      return reply.map((flat) => StoredHoldSchema.parse(fields(flat)));
    },
  };
}
