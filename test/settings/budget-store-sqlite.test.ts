import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { openSqlite } from "../../src/storage/sqlite-store.ts";
import { createStorage } from "../../src/storage/storage.ts";
import { describeBudgetStoreContract } from "./budget-store-contract.ts";

const dir = mkdtempSync(join(tmpdir(), "budget-store-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshFile = () => join(dir, `budget-${++files}.sqlite`);

// A file per test, so that each open() is another connection to the same data.
describeBudgetStoreContract("sqlite", async () => {
  const path = freshFile();
  const handles: DatabaseSync[] = [];
  return {
    async open() {
      const db = openSqlite(path);
      handles.push(db);
      return createSqliteBudgetStore(db);
    },
    async close() {
      for (const db of handles) db.close();
    },
  };
});

const G = "111111111111111111";
const A = "222222222222222222";
const at = (iso: string) => Date.parse(iso);

function periods(db: DatabaseSync): string[] {
  return db
    .prepare("SELECT DISTINCT period FROM budget_usage ORDER BY period")
    .all()
    .map((row) => String(row.period));
}

describe("sqlite budget store", () => {
  it("keeps the guild's total beside its members' rows, one row per guild, period and member", () => {
    const db = openSqlite(":memory:");
    const store = createSqliteBudgetStore(db);
    return (async () => {
      await store.record({ guildId: G, userId: A, chars: 7, at: at("2026-12-06T12:00:00Z") });
      expect(
        db.prepare("SELECT guild, period, user, chars FROM budget_usage ORDER BY period, user").all(),
      ).toEqual([
        { guild: G, period: "d:2026-12-06", user: "", chars: 7 },
        { guild: G, period: "d:2026-12-06", user: A, chars: 7 },
        { guild: G, period: "m:2026-12", user: "", chars: 7 },
        { guild: G, period: "m:2026-12", user: A, chars: 7 },
      ]);
      // A second store on the handle finds the tables there.
      expect((await createSqliteBudgetStore(db).usage(G, A, at("2026-12-06T00:00:00Z"))).user.day).toBe(7);
      db.close();
    })();
  });

  it("prunes days older than 40 days and months older than 400, at most once an hour on writes", async () => {
    const db = openSqlite(":memory:");
    const store = createSqliteBudgetStore(db);
    const first = at("2026-01-10T12:00:00Z");
    await store.record({ guildId: G, userId: A, chars: 5, at: first });
    // Forty days after the 10th's end: the 10th is not older than 40 days yet.
    await store.record({ guildId: G, userId: A, chars: 1, at: at("2026-02-19T23:55:00Z") });
    expect(periods(db)).toContain("d:2026-01-10");
    // Now it is, but the last prune was less than an hour ago.
    await store.reserve({
      holdId: "h",
      guildId: G,
      userId: A,
      chars: 1,
      limits: {},
      at: at("2026-02-20T00:10:00Z"),
    });
    await store.record({ guildId: G, userId: A, chars: 1, at: at("2026-02-20T00:50:00Z") });
    expect(periods(db)).toContain("d:2026-01-10");
    await store.record({ guildId: G, userId: A, chars: 1, at: at("2026-02-20T00:56:00Z") });
    expect(periods(db)).toEqual(["d:2026-02-19", "d:2026-02-20", "m:2026-01", "m:2026-02"]);
    // The month stays for 400 days.
    expect((await store.usage(G, A, first)).user).toEqual({ day: 0, month: 5 });
    store.prune(at("2027-02-10T00:00:00Z"));
    expect(periods(db)).toEqual(["m:2026-01", "m:2026-02"]);
    store.prune(at("2027-03-10T00:00:00Z"));
    expect(periods(db)).toEqual(["m:2026-02"]);
    // Holds are left for reconciliation, and settling one in a pruned period creates no row.
    expect((await store.holds(Number.POSITIVE_INFINITY)).map((h) => h.id)).toEqual(["h"]);
    expect(await store.release("h")).toBe(true);
    expect(periods(db)).toEqual(["m:2026-02"]);
    expect((await store.usage(G, A, at("2026-02-20T00:10:00Z"))).user).toEqual({ day: 0, month: 3 });
    db.close();
  });

  it("never over-commits when separate threads with their own connections race on one file", async () => {
    const path = freshFile();
    // Creates the tables before the workers start, so their first statements all race on the budget.
    const db = openSqlite(path);
    const store = createSqliteBudgetStore(db);
    const start = new SharedArrayBuffer(4);
    const T = at("2026-12-06T12:00:00Z");
    const job = { path, attempts: 150, chars: 10, limit: 1_000, guildId: G, at: T, start };
    const workers = [1, 2, 3].map(
      (worker) =>
        new Worker(new URL("./budget-race-worker.ts", import.meta.url), { workerData: { ...job, worker } }),
    );
    const results = workers.map(
      (w) =>
        new Promise<number>((resolve, reject) => {
          w.once("message", resolve);
          w.once("error", reject);
          w.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
        }),
    );
    // Give the workers time to open their connections and block on the flag, then release them at once.
    await new Promise((resolve) => setTimeout(resolve, 300));
    Atomics.store(new Int32Array(start), 0, 1);
    Atomics.notify(new Int32Array(start), 0);
    const accepted = await Promise.all(results);
    expect(accepted.reduce((a, b) => a + b, 0)).toBe(100);
    // The workers did interleave: more than one of them got a share.
    expect(accepted.filter((n) => n > 0).length).toBeGreaterThan(1);
    expect((await store.usage(G, A, T)).guild.day).toBe(1_000);
    // Each worker settled every second hold it got.
    const unsettled = accepted.reduce((sum, n) => sum + Math.ceil(n / 2), 0);
    expect(await store.holds(Number.POSITIVE_INFINITY)).toHaveLength(unsettled);
    db.close();
  });
});

describe("budgetStoreFor (sqlite)", () => {
  it("keeps the budget tables in the storage's SQLite file", async () => {
    const storage = await createStorage("sqlite://:memory:");
    try {
      const store = budgetStoreFor(storage);
      const T = at("2026-12-06T12:00:00Z");
      const r = await store.reserve({ holdId: "h", guildId: G, userId: A, chars: 3, limits: {}, at: T });
      expect(r.ok).toBe(true);
      expect(periods(storage.sqlite!)).toEqual(["d:2026-12-06", "m:2026-12"]);
    } finally {
      await storage.close();
    }
  });
});
