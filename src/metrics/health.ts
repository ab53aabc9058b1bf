/**
 * What `/healthz` answers: `{ ok, discord, storage }`, healthy only when the gateway is ready and the
 * storage answers.
 */

/** The Discord gateway as the bot sees it. */
export type GatewayState = "ready" | "reconnecting" | "gone";

export type StorageState = "ok" | "down";

/** A type (not an interface) so that it fits the metrics server's open `HealthReport`. */
export type BotHealth = {
  ok: boolean;
  discord: GatewayState;
  storage: StorageState;
  /** Each gateway shard this process runs, by id (a fleet's processes each report their own). */
  shards?: Record<string, GatewayState>;
};

export interface StorageProbeOptions {
  /** A read slower than this counts as down. Default 1 s. */
  timeoutMs?: number;
  /** How long an answer is reused, so scrapes and probes do not each hit the store. Default 3 s. */
  cacheMs?: number;
  /** The key read. Default `health:ping` (it need not exist: a miss is an answer too). */
  key?: string;
  now?: () => number;
}

/**
 * A cheap storage check: one read of a meta key, with a timeout. Concurrent callers share the read
 * in flight, and its answer is cached for `cacheMs`.
 */
export function createStorageProbe(
  kv: { get(key: string): Promise<unknown> },
  opts: StorageProbeOptions = {},
): () => Promise<StorageState> {
  const timeoutMs = opts.timeoutMs ?? 1000;
  const cacheMs = opts.cacheMs ?? 3000;
  const key = opts.key ?? "health:ping";
  const now = opts.now ?? Date.now;
  let last: { state: StorageState; at: number } | undefined;
  let inFlight: Promise<StorageState> | undefined;

  async function probe(): Promise<StorageState> {
    let timer: NodeJS.Timeout | undefined;
    const read = kv.get(key).then(
      () => "ok" as const,
      () => "down" as const,
    );
    const late = new Promise<StorageState>((resolve) => {
      timer = setTimeout(() => resolve("down"), timeoutMs);
    });
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  return () => {
    if (last && now() - last.at < cacheMs) return Promise.resolve(last.state);
    inFlight ??= probe()
      .then((state) => {
        last = { state, at: now() };
        return state;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
}

export function createHealthCheck(opts: {
  discord: () => GatewayState;
  storage: () => Promise<StorageState>;
  shards?: () => Record<string, GatewayState>;
}): () => Promise<BotHealth> {
  return async () => {
    const storage = await opts.storage();
    const discord = opts.discord();
    const shards = opts.shards?.();
    return { ok: discord === "ready" && storage === "ok", discord, storage, ...(shards ? { shards } : {}) };
  };
}
