import { setTimeout as sleep } from "node:timers/promises";
import { parentPort, workerData } from "node:worker_threads";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { openSqlite } from "../../src/storage/sqlite-store.ts";

/**
 * One "process" of the SQLite race test: its own connection to the shared file, reserving (and
 * settling every other hold) in a loop once the test lets all workers go at the same moment.
 */

interface RaceJob {
  path: string;
  worker: number;
  attempts: number;
  chars: number;
  limit: number;
  guildId: string;
  at: number;
  /** An Int32Array's buffer: the workers start when its first element turns non-zero. */
  start: SharedArrayBuffer;
}

const job = workerData as RaceJob;
const db = openSqlite(job.path, { busyTimeoutMs: 30_000 });
const store = createSqliteBudgetStore(db);
Atomics.wait(new Int32Array(job.start), 0, 0);
let accepted = 0;
for (let i = 0; i < job.attempts; i++) {
  const result = await store.reserve({
    holdId: `w${job.worker}-${i}`,
    guildId: job.guildId,
    userId: `${job.worker}`.padStart(18, "9"),
    chars: job.chars,
    limits: { guildDailyChars: job.limit },
    at: job.at,
  });
  if (result.ok) {
    accepted++;
    // Settling to what was reserved changes nothing, but takes the write lock in between.
    if (accepted % 2 === 0) await store.settle(result.hold.id, job.chars);
  }
  // Without a pause the thread holding the lock takes it again at once while the others back off
  // (SQLite's busy handler sleeps), and one worker would win every round instead of interleaving.
  await sleep(1);
}
db.close();
parentPort?.postMessage(accepted);
