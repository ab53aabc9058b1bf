import { describe, expect, it } from "vitest";
import { jobIdOfHold, reconcileHolds } from "../../src/jobs/reconcile.ts";
import type { JobRecord } from "../../src/jobs/types.ts";
import { MemoryLedger, SETTINGS } from "./helpers.ts";

/** Start-up reconciliation: every hold a crash left behind ends billed or released, exactly once. */

const NOW = 10_000_000;

function job(id: string, over: Partial<JobRecord>): JobRecord {
  return {
    id,
    state: "queued",
    requesterId: "u1",
    guildId: "g1",
    channelId: "c1",
    input: { kind: "text", text: "hello" },
    settings: SETTINGS,
    chars: 100,
    provider: "minimax",
    createdAt: 0,
    updatedAt: 0,
    attempts: 0,
    retries: 0,
    polls: 0,
    nextAt: 0,
    holdId: `job:${id}`,
    ...over,
  };
}

describe("jobIdOfHold", () => {
  it.each([
    ["job:abc", "abc"],
    ["job:abc:r2", "abc"],
    ["speak:1234", undefined],
    ["voice:x", undefined],
  ])("%s → %s", (hold, id) => {
    expect(jobIdOfHold(hold)).toBe(id);
  });
});

describe("reconcileHolds", () => {
  it.each<[string, Partial<JobRecord> | undefined, "settled" | "released" | "kept", number?]>([
    ["a job never stored (crash after reserving)", undefined, "released"],
    ["a running job", { state: "processing", taskId: "1" }, "kept"],
    ["a done job whose settle was lost", { state: "done", usageCharacters: 90 }, "settled", 90],
    ["a job cancelled before it was sent", { state: "cancelled" }, "released"],
    ["a job cancelled after its submit mark", { state: "cancelled", submitKey: "k" }, "settled", 100],
    ["a failed task", { state: "failed", taskId: "7" }, "settled", 100],
    ["an earlier attempt's hold", { state: "queued", holdId: "job:j:r1", retries: 1 }, "settled", 100],
  ])("%s → %s", async (_name, record, outcome, amount) => {
    const ledger = new MemoryLedger();
    ledger.reservation("job:j", 100);
    const stored = record ? job("j", record) : undefined;
    await reconcileHolds({
      ledger: { ...bind(ledger), holds: async () => [{ id: "job:j", chars: 100, createdAt: 0 }] },
      getJob: async () => stored,
      now: () => NOW,
    });
    if (outcome === "released") expect(ledger.released.has("job:j")).toBe(true);
    if (outcome === "settled") expect(ledger.settled.get("job:j")).toBe(amount);
    if (outcome === "kept") expect(ledger.holds.has("job:j")).toBe(true);
  });

  it("a /speak hold is settled at what it reserved once stale, and left alone while young", async () => {
    const ledger = new MemoryLedger();
    ledger.reservation("speak:old", 40);
    ledger.reservation("speak:young", 30);
    const report = await reconcileHolds({
      ledger: {
        ...bind(ledger),
        holds: async () => [
          { id: "speak:old", chars: 40, createdAt: NOW - 2 * 3_600_000 },
          { id: "speak:young", chars: 30, createdAt: NOW - 20 * 60_000 },
        ],
      },
      getJob: async () => undefined,
      now: () => NOW,
    });
    expect(ledger.settled.get("speak:old")).toBe(40);
    expect(ledger.holds.has("speak:young")).toBe(true);
    expect(report).toEqual({ billed: 1, released: 0, kept: 1 });
  });
});

function bind(ledger: MemoryLedger) {
  return { settle: ledger.settle.bind(ledger), release: ledger.release.bind(ledger) };
}
