import { randomBytes } from "node:crypto";
import { type CachedAudio, CachedAudioSchema, RedisAudioCache } from "../src/speak/audio-cache.ts";
import { createStorage } from "../src/storage/storage.ts";
import { createBudgetStoreFor } from "./budget-store.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * The Redis audio cache (one Lua script per call, raw bytes, LRU index, evicting) against a baseline
 * of what it did before: two Keyv writes per set (the entry with its audio base64-encoded, and its
 * size) and one Keyv read per get, with no bound. Same entries, same server, interleaved rounds.
 * Memory is Redis's `used_memory` growth per entry, with no eviction on either side.
 */

export interface AudioCacheRedisBench {
  n: number;
  entryBytes: number;
  cache: { setUs: number; getUs: number; bytesPerEntry: number };
  baseline: { setUs: number; getUs: number; bytesPerEntry: number };
}

const TTL_MS = 30 * 24 * 60 * 60 * 1000;

function clip(bytes: number): CachedAudio {
  return {
    audio: randomBytes(bytes),
    format: "mp3",
    sampleRate: 32000,
    channels: 1,
    durationMs: 3000,
    usageCharacters: 40,
    createdAt: Date.now(),
  };
}

async function timeEach(keys: string[], run: (key: string, i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (const [i, key] of keys.entries()) {
    const t = performance.now();
    await run(key, i);
    samples.push((performance.now() - t) * 1000);
  }
  return summarize(samples).median;
}

/** `entryBytes` defaults to a 3-second mp3 at 128 kb/s. */
export async function benchAudioCacheRedis(
  n = 400,
  entryBytes = 48_000,
): Promise<AudioCacheRedisBench | undefined> {
  const server = await createBudgetStoreFor.redisUrl();
  if (!server) return undefined;
  const storage = await createStorage(server.url);
  try {
    const redis = storage.redis!;
    const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
    const entries = Array.from({ length: 50 }, () => clip(entryBytes));
    // Room for every entry: eviction is measured by the tests, the cost of a call here.
    const cache = new RedisAudioCache(redis, { namespace: "bench-cache", maxBytes: 2 * n * entryBytes });
    const oldEntries = storage.keyv<unknown>("bench-old");
    const oldSizes = storage.keyv<unknown>("bench-old-sizes");
    const result = {
      cache: { setUs: 0, getUs: 0, bytesPerEntry: 0 },
      baseline: { setUs: 0, getUs: 0, bytesPerEntry: 0 },
    };
    const rounds = 4;
    for (let r = 0; r < rounds; r++) {
      const keys = Array.from({ length: n / rounds }, (_, i) => `${r}-${i}`);
      let before = await usedMemory();
      result.cache.setUs += await timeEach(keys, (k, i) => cache.set(k, entries[i % entries.length]!));
      result.cache.bytesPerEntry += ((await usedMemory()) - before) / keys.length;
      result.cache.getUs += await timeEach(keys, (k) => cache.get(k));
      before = await usedMemory();
      result.baseline.setUs += await timeEach(keys, async (k, i) => {
        const value = entries[i % entries.length]!;
        await oldEntries.set(k, value, TTL_MS);
        await oldSizes.set(k, value.audio.length, TTL_MS);
      });
      result.baseline.bytesPerEntry += ((await usedMemory()) - before) / keys.length;
      result.baseline.getUs += await timeEach(keys, async (k) =>
        CachedAudioSchema.parse(await oldEntries.get(k)),
      );
    }
    for (const side of [result.cache, result.baseline]) {
      side.setUs /= rounds;
      side.getUs /= rounds;
      side.bytesPerEntry /= rounds;
    }
    return { n, entryBytes, ...result };
  } finally {
    await storage.close();
    await server.stop();
  }
}

export function printAudioCacheRedis(b: AudioCacheRedisBench | undefined): void {
  if (!b) {
    console.log("Redis audio cache: skipped (redis-server not installed)");
    return;
  }
  console.log(
    `Redis audio cache (median per call, ${b.n} entries of ${b.entryBytes} bytes, baseline = the old two Keyv writes / one read)`,
  );
  const ratio = (a: number, base: number) => `${fmt(a / base)}×`;
  console.log(
    `  set ${fmt(b.cache.setUs, 0)} µs · baseline ${fmt(b.baseline.setUs, 0)} µs · ratio ${ratio(b.cache.setUs, b.baseline.setUs)}`,
  );
  console.log(
    `  get ${fmt(b.cache.getUs, 0)} µs · baseline ${fmt(b.baseline.getUs, 0)} µs · ratio ${ratio(b.cache.getUs, b.baseline.getUs)}`,
  );
  console.log(
    `  Redis memory per entry ${fmt(b.cache.bytesPerEntry, 0)} B · baseline ${fmt(b.baseline.bytesPerEntry, 0)} B · ratio ${ratio(b.cache.bytesPerEntry, b.baseline.bytesPerEntry)}`,
  );
}

if (import.meta.main) printAudioCacheRedis(await benchAudioCacheRedis());
