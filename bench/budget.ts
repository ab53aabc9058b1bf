import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBudgetStoreFor } from "./budget-store.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * What an atomic reservation costs per request that spends characters: reserve + settle on the
 * SQLite store (one transaction each) and on a real Redis (one script each), against a baseline of
 * what the ledger did before, four Keyv reads and four writes on the same store (no atomicity).
 */

export interface BudgetBench {
  n: number;
  sqlite: { reserveSettleUs: number; baselineUs: number };
  redis?: { reserveSettleUs: number; baselineUs: number };
}

async function timeEach(n: number, run: (i: number) => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run(i);
    samples.push((performance.now() - t) * 1000);
  }
  return summarize(samples).median;
}

export async function benchBudget(n = 2000): Promise<BudgetBench> {
  const dir = await mkdtemp(join(tmpdir(), "bench-budget-"));
  try {
    const result: BudgetBench = { n, sqlite: await measure(`sqlite://${join(dir, "b.sqlite")}`, n) };
    const redis = await createBudgetStoreFor.redisUrl();
    if (redis) {
      try {
        result.redis = await measure(redis.url, n);
      } finally {
        await redis.stop();
      }
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(url: string, n: number) {
  const { ledger, keyv, close } = await createBudgetStoreFor(url);
  try {
    const limits = { userDailyChars: 1e12, guildDailyChars: 1e12, guildMonthlyChars: 1e12 };
    // Interleaved in rounds so machine noise hits both alike.
    let reserveSettleUs = 0;
    let baselineUs = 0;
    const rounds = 4;
    for (let r = 0; r < rounds; r++) {
      reserveSettleUs += await timeEach(n / rounds, async (i) => {
        const holdId = `bench:${r}:${i}`;
        await ledger.reserve({ holdId, guildId: "g", userId: `u${i % 50}`, chars: 120, limits });
        await ledger.settle(holdId, 110);
      });
      baselineUs += await timeEach(n / rounds, async (i) => {
        for (const key of [`u:${i % 50}:d`, `u:${i % 50}:m`, "g:d", "g:m"]) {
          const v = (await keyv.get(key)) ?? 0;
          await keyv.set(key, v + 110);
        }
      });
    }
    return { reserveSettleUs: reserveSettleUs / rounds, baselineUs: baselineUs / rounds };
  } finally {
    await close();
  }
}

export function printBudget(b: BudgetBench): void {
  console.log(
    `Budget reservations (median per request, ${b.n} requests, baseline = the old 4 reads + 4 writes)`,
  );
  const row = (name: string, r: { reserveSettleUs: number; baselineUs: number }) =>
    console.log(
      `  ${name}: reserve+settle ${fmt(r.reserveSettleUs, 0)} µs · baseline ${fmt(r.baselineUs, 0)} µs · ratio ${fmt(r.reserveSettleUs / r.baselineUs)}×`,
    );
  row("sqlite", b.sqlite);
  if (b.redis) row("redis ", b.redis);
  else console.log("  redis: skipped (redis-server not installed)");
}
