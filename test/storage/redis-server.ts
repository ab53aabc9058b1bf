import { type RedisServer, startRedisServer as start } from "../../scripts/redis-server.ts";

/**
 * A throwaway `redis-server` on a free loopback port, without persistence. Tests that need Redis fail
 * (rather than skip) when it is missing: CI installs the Debian package, and a skipped store test would
 * let a broken Redis path ship.
 */

export type { RedisServer };

const MISSING =
  "redis-server is not installed: these tests start a real Redis. Install it (Debian/Ubuntu: " +
  "`sudo apt-get install redis-server`; macOS: `brew install redis`) and run the tests again.";

/** `port` restarts a server where a stopped one was, to test reconnection. */
export function startRedisServer(opts: { port?: number } = {}): Promise<RedisServer> {
  return start({ ...opts, missing: MISSING });
}
