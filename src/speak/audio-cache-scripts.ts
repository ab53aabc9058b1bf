/**
 * The Redis audio cache's Lua scripts. Each runs atomically on the server, so every process of a fleet
 * keeps the one index and byte total exact, in one round trip per call.
 *
 * Layout, for a namespace `ns`:
 * - `ns::<key>`: a hash per entry, `audio` (the raw bytes) and `info` (the rest, as JSON), with the
 *   cache's TTL on it;
 * - `ns-index::lru`: a sorted set of keys scored by last use (a counter, not a clock: one order for
 *   every process whatever their clocks say);
 * - `ns-index::expiry`: a sorted set of keys scored by when their TTL ends (ms, Redis's clock);
 * - `ns-index::sizes`: a hash of key → audio bytes;
 * - `ns-index::totals`: a hash with `bytes` (the sum of `sizes`) and `clock` (the use counter).
 *
 * Every script gets KEYS = [lru, expiry, sizes, totals, entry] and ARGV[1] = `ns::`. Evicting builds
 * other entries' names from that prefix, which a single Redis allows (not a Redis Cluster, which the
 * bot does not support either).
 */

const PRELUDE = `
local lru, expiry, sizes, totals, entry = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local prefix = ARGV[1]

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Takes a key out of the index (its entry may already be gone).
local function forget(member)
  local size = redis.call('HGET', sizes, member)
  if size then
    redis.call('HDEL', sizes, member)
    redis.call('HINCRBY', totals, 'bytes', -tonumber(size))
  end
  redis.call('ZREM', lru, member)
  redis.call('ZREM', expiry, member)
end

local function drop(member)
  forget(member)
  redis.call('DEL', prefix .. member)
end

-- Redis expires the entries themselves; this takes those whose TTL ended out of the index, at most
-- 'limit' per call so that a call never holds the server for long.
local function purge(limit)
  local ended = redis.call('ZRANGEBYSCORE', expiry, '-inf', now_ms(), 'LIMIT', 0, limit)
  for _, member in ipairs(ended) do drop(member) end
end
`;

/**
 * ARGV: prefix, key, audio, info, audio bytes, ttl ms (0: none), max bytes, max entries. Replaces the
 * entry, marks it most recently used, then evicts least recently used entries until both bounds hold
 * (the new entry always stays: the caller never writes one larger than max bytes). Returns how many
 * were evicted.
 */
export const SET_SCRIPT = `${PRELUDE}
local member, audio, info = ARGV[2], ARGV[3], ARGV[4]
local size, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local max_bytes, max_entries = tonumber(ARGV[7]), tonumber(ARGV[8])
purge(256)
forget(member)
redis.call('DEL', entry)
redis.call('HSET', entry, 'audio', audio, 'info', info)
if ttl > 0 then
  redis.call('PEXPIRE', entry, ttl)
  redis.call('ZADD', expiry, now_ms() + ttl, member)
end
redis.call('ZADD', lru, redis.call('HINCRBY', totals, 'clock', 1), member)
redis.call('HSET', sizes, member, size)
local bytes = redis.call('HINCRBY', totals, 'bytes', size)
local evicted = 0
while bytes > max_bytes or redis.call('ZCARD', lru) > max_entries do
  local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
  if oldest == nil or oldest == member then break end
  drop(oldest)
  evicted = evicted + 1
  bytes = tonumber(redis.call('HGET', totals, 'bytes'))
end
return evicted
`;

/**
 * ARGV: prefix, key. Returns [audio, info] and marks the entry most recently used, or nil: the entry
 * is gone (TTL, eviction, a flush) or is not a hash (a value from an older layout), and its stale
 * index entry is cleaned. An entry the index lost is counted again.
 */
export const GET_SCRIPT = `${PRELUDE}
local member = ARGV[2]
local kind = redis.call('TYPE', entry)['ok']
if kind ~= 'hash' then
  if kind ~= 'none' then redis.call('DEL', entry) end
  forget(member)
  return false
end
if not redis.call('ZSCORE', lru, member) then
  local size = redis.call('HSTRLEN', entry, 'audio')
  redis.call('HSET', sizes, member, size)
  redis.call('HINCRBY', totals, 'bytes', size)
  local ttl = redis.call('PTTL', entry)
  if ttl > 0 then redis.call('ZADD', expiry, now_ms() + ttl, member) end
end
redis.call('ZADD', lru, redis.call('HINCRBY', totals, 'clock', 1), member)
return redis.call('HMGET', entry, 'audio', 'info')
`;

/** ARGV: prefix, key. Removes the entry and its index entry. */
export const DROP_SCRIPT = `${PRELUDE}
drop(ARGV[2])
return 1
`;

/** ARGV: prefix. Cleans the index of ended TTLs, then returns [entries, bytes]. */
export const STATS_SCRIPT = `${PRELUDE}
purge(10000)
return {redis.call('ZCARD', lru), tonumber(redis.call('HGET', totals, 'bytes') or '0')}
`;
