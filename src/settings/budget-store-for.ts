import type { Storage } from "../storage/storage.ts";
import type { BudgetStore } from "./budget-store.ts";
import { createRedisBudgetStore, type RedisBudgetStoreOptions } from "./budget-store-redis.ts";
import { createSqliteBudgetStore, type SqliteBudgetStoreOptions } from "./budget-store-sqlite.ts";

/** The budget store on the storage the bot runs with: tables in its SQLite file, or scripts on its Redis. */
export function budgetStoreFor(
  storage: Storage,
  opts: SqliteBudgetStoreOptions & RedisBudgetStoreOptions = {},
): BudgetStore {
  if (storage.kind === "sqlite") {
    if (!storage.sqlite) throw new Error("SQLite storage without a database handle");
    return createSqliteBudgetStore(storage.sqlite, opts);
  }
  if (!storage.redis) throw new Error("Redis storage without a client");
  return createRedisBudgetStore(storage.redis, opts);
}
