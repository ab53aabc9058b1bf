import { execFileSync } from "node:child_process";
import { budgetStoreFor } from "../src/settings/budget-store-for.ts";
import { createUsageLedger, type UsageLedger } from "../src/settings/usage.ts";
import { createStorage } from "../src/storage/storage.ts";
import { type RedisServer, startRedisServer } from "../test/storage/redis-server.ts";

/** The bot's own ledger and a plain Keyv namespace on one storage URL, for the budget bench. */
export async function createBudgetStoreFor(url: string): Promise<{
  ledger: UsageLedger;
  keyv: { get(k: string): Promise<number | undefined>; set(k: string, v: number): Promise<unknown> };
  close(): Promise<void>;
}> {
  const storage = await createStorage(url);
  return {
    ledger: createUsageLedger(budgetStoreFor(storage)),
    keyv: storage.keyv<number>("bench"),
    close: () => storage.close(),
  };
}

/** A throwaway redis-server when one is installed (CI installs it); undefined otherwise. */
createBudgetStoreFor.redisUrl = async (): Promise<RedisServer | undefined> => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  return startRedisServer();
};
