import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { usageEmbed } from "../../commands/usage.ts";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import {
  BudgetExceededError,
  createUsageLedger,
  dayKey,
  monthKey,
  nextDayReset,
  nextMonthReset,
} from "../../src/settings/usage.ts";
import { relativeTime } from "../../src/text/markup.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const G = "111111111111111111";
const G2 = "444444444444444444";
const A = "222222222222222222";
const B = "333333333333333333";
const C = "555555555555555555";

const at = (iso: string) => Date.parse(iso);

// The ledger on a real (in-memory) store: the stores' own behaviour is covered by the contract suite.
function setup(start = "2025-03-14T12:00:00Z") {
  const db = new DatabaseSync(":memory:");
  const clock = { ms: at(start) };
  const ledger = createUsageLedger(createSqliteBudgetStore(db), { now: () => clock.ms });
  return { db, ledger, clock };
}

let holds = 0;
const req = (guildId: string, userId: string, chars: number, limits = {}) => ({
  holdId: `hold-${++holds}`,
  guildId,
  userId,
  chars,
  limits,
});

async function refusal(p: Promise<unknown>): Promise<BudgetExceededError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserFacingError);
  expect(err).toBeInstanceOf(BudgetExceededError);
  return err as BudgetExceededError;
}

describe("period helpers", () => {
  it.each([
    ["2025-03-14T12:00:00Z", "2025-03-14", "2025-03", "2025-03-15T00:00:00Z", "2025-04-01T00:00:00Z"],
    ["2025-01-31T23:59:59.999Z", "2025-01-31", "2025-01", "2025-02-01T00:00:00Z", "2025-02-01T00:00:00Z"],
    ["2025-02-28T10:00:00Z", "2025-02-28", "2025-02", "2025-03-01T00:00:00Z", "2025-03-01T00:00:00Z"],
    ["2024-02-28T10:00:00Z", "2024-02-28", "2024-02", "2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29", "2024-02", "2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z"],
    ["2025-04-30T18:30:00Z", "2025-04-30", "2025-04", "2025-05-01T00:00:00Z", "2025-05-01T00:00:00Z"],
    ["2025-12-31T23:59:59Z", "2025-12-31", "2025-12", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
    ["2026-01-01T00:00:00Z", "2026-01-01", "2026-01", "2026-01-02T00:00:00Z", "2026-02-01T00:00:00Z"],
    ["2025-12-15T05:00:00Z", "2025-12-15", "2025-12", "2025-12-16T00:00:00Z", "2026-01-01T00:00:00Z"],
  ])("%s → day %s, month %s, resets %s / %s", (now, day, month, dayReset, monthReset) => {
    expect(dayKey(at(now))).toBe(day);
    expect(monthKey(at(now))).toBe(month);
    expect(nextDayReset(at(now))).toBe(at(dayReset));
    expect(nextMonthReset(at(now))).toBe(at(monthReset));
  });

  it("formats a Discord relative timestamp in whole seconds", () => {
    expect(relativeTime(at("2026-01-01T00:00:00Z"))).toBe("<t:1767225600:R>");
    expect(relativeTime(1_500)).toBe("<t:1:R>");
  });
});

describe("usage ledger", () => {
  it("counts per user and per guild, for the day and the month", async () => {
    const { ledger } = setup();
    await ledger.record(G, A, 20);
    await ledger.record(G, A, 5);
    await ledger.record(G, B, 7);
    await ledger.record(G2, A, 100);
    const s = await ledger.summary(G, A, {});
    expect(s.user).toEqual({ day: 25, month: 25 });
    expect(s.guild).toEqual({ day: 32, month: 32 });
  });

  it("records whole characters, ignoring zero, negative and non-finite counts", async () => {
    const { ledger } = setup();
    await ledger.record(G, A, 0);
    await ledger.record(G, A, -3);
    await ledger.record(G, A, Number.NaN);
    await ledger.record(G, A, Number.POSITIVE_INFINITY);
    expect((await ledger.summary(G, A, {})).guild).toEqual({ day: 0, month: 0 });
    await ledger.record(G, A, 2.6);
    expect((await ledger.summary(G, A, {})).user.day).toBe(3);
  });

  it("does not lose counts when records of one guild race", async () => {
    const { ledger } = setup();
    await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.record(G, i % 2 ? A : B, 1)));
    const s = await ledger.summary(G, A, {});
    expect(s.user.day).toBe(10);
    expect(s.guild.month).toBe(20);
  });

  it("starts a new day at UTC midnight and a new month on the first, across the year", async () => {
    const { ledger, clock } = setup("2025-12-31T23:00:00Z");
    await ledger.record(G, A, 10);
    clock.ms = at("2025-12-31T23:59:59Z");
    await ledger.record(G, A, 5);
    expect((await ledger.summary(G, A, {})).user).toEqual({ day: 15, month: 15 });
    clock.ms = at("2026-01-01T00:00:00Z");
    let s = await ledger.summary(G, A, {});
    expect(s.user).toEqual({ day: 0, month: 0 });
    expect(s.guild).toEqual({ day: 0, month: 0 });
    await ledger.record(G, A, 3);
    clock.ms = at("2026-01-02T08:00:00Z");
    await ledger.record(G, A, 4);
    s = await ledger.summary(G, A, {});
    expect(s.user).toEqual({ day: 4, month: 7 });
    expect(s.resets).toEqual({ day: at("2026-01-03T00:00:00Z"), month: at("2026-02-01T00:00:00Z") });
  });

  it("is unlimited when no budget is set", async () => {
    const { ledger } = setup();
    await ledger.record(G, A, 1_000_000);
    await expect(ledger.reserve(req(G, A, 1_000_000))).resolves.toMatchObject({ chars: 1_000_000 });
    const s = await ledger.summary(G, A, {});
    expect(s.remaining).toEqual({ userDay: null, guildDay: null, guildMonth: null });
  });

  it("allows a request that fits exactly, refuses one over, naming what remains and the reset", async () => {
    const { ledger } = setup("2025-03-14T12:00:00Z");
    const limits = { userDailyChars: 30 };
    const first = await ledger.reserve(req(G, A, 20, limits));
    expect(await ledger.settle(first.id, 20)).toBe(true);
    const err = await refusal(ledger.reserve(req(G, A, 20, limits)));
    expect(err.message).toBe(
      `That needs 20 characters, but your daily budget has 10 of 30 characters left. It resets ${relativeTime(
        at("2025-03-15T00:00:00Z"),
      )}.`,
    );
    expect(err).toMatchObject({
      budget: "userDay",
      needed: 20,
      limit: 30,
      used: 20,
      remaining: 10,
      resetsAt: at("2025-03-15T00:00:00Z"),
    });
    // Another member is not held to A's usage.
    await ledger.reserve(req(G, B, 30, limits));
    // Nor is A in another guild.
    await ledger.reserve(req(G2, A, 30, limits));
    await ledger.reserve(req(G, A, 10, limits));
    expect((await ledger.summary(G, A, limits)).remaining.userDay).toBe(0);
  });

  it("counts what is held until it is settled or released", async () => {
    const { ledger } = setup();
    const limits = { guildDailyChars: 100 };
    const held = await ledger.reserve(req(G, A, 80, limits));
    const msg = (await refusal(ledger.reserve(req(G, B, 30, limits)))).message;
    expect(msg).toContain("the server's daily budget has 20 of 100 characters left");
    expect(await ledger.release(held.id)).toBe(true);
    expect(await ledger.release(held.id)).toBe(false);
    const next = await ledger.reserve(req(G, B, 30, limits));
    // The provider's count may be fractional or missing a bit: it is rounded, never below zero.
    expect(await ledger.settle(next.id, 41.6)).toBe(true);
    expect(await ledger.settle(next.id, 41.6)).toBe(false);
    expect((await ledger.summary(G, B, limits)).guild.day).toBe(42);
    await expect(ledger.settle("other", Number.NaN)).rejects.toThrow(RangeError);
  });

  it("returns the same hold for a retried id, and lists holds older than a time", async () => {
    const { ledger, clock } = setup();
    const request = req(G, A, 50);
    const hold = await ledger.reserve(request);
    clock.ms += 60_000;
    expect(await ledger.reserve(request)).toEqual(hold);
    expect((await ledger.summary(G, A, {})).user.day).toBe(50);
    expect(await ledger.holds(clock.ms)).toEqual([hold]);
    expect(await ledger.holds(hold.createdAt)).toEqual([]);
  });

  it("says when a budget is used up, and needs one character in the singular", async () => {
    const { ledger } = setup();
    await ledger.record(G, A, 40);
    const msg = (await refusal(ledger.reserve(req(G, A, 1, { userDailyChars: 30 })))).message;
    expect(msg).toBe(
      `That needs 1 character, but your daily budget of 30 characters is used up. It resets ${relativeTime(
        at("2025-03-15T00:00:00Z"),
      )}.`,
    );
    expect((await ledger.summary(G, A, { userDailyChars: 30 })).remaining.userDay).toBe(0);
  });

  it("refuses on the server's daily and monthly budgets, with the month's reset for the monthly one", async () => {
    const { ledger, clock } = setup("2025-12-20T12:00:00Z");
    await ledger.record(G, B, 1_500);
    clock.ms = at("2025-12-31T10:00:00Z");
    await ledger.record(G, B, 400);
    const daily = (
      await refusal(ledger.reserve(req(G, A, 200, { guildDailyChars: 500, guildMonthlyChars: 10_000 })))
    ).message;
    expect(daily).toContain("the server's daily budget has 100 of 500 characters left");
    expect(daily).toContain(relativeTime(at("2026-01-01T00:00:00Z")));
    const monthly = await refusal(ledger.reserve(req(G, A, 200, { guildMonthlyChars: 2_000 })));
    expect(monthly.message).toBe(
      `That needs 200 characters, but the server's monthly budget has 100 of 2,000 characters left. It resets ${relativeTime(
        at("2026-01-01T00:00:00Z"),
      )}.`,
    );
    expect(monthly).toMatchObject({ budget: "guildMonth", used: 1_900, remaining: 100 });
    const s = await ledger.summary(G, A, { guildDailyChars: 500, guildMonthlyChars: 2_000 });
    expect(s.remaining).toEqual({ userDay: null, guildDay: 100, guildMonth: 100 });
    expect(s.guild).toEqual({ day: 400, month: 1_900 });
  });

  it("lists the top users of the period, most first, ties by id", async () => {
    const { ledger, clock } = setup("2025-03-13T12:00:00Z");
    await ledger.record(G, C, 500); // yesterday: counts for the month only
    clock.ms = at("2025-03-14T12:00:00Z");
    await ledger.record(G, A, 50);
    await ledger.record(G, B, 80);
    await ledger.record(G, C, 50);
    await ledger.record(G2, A, 9_999);
    expect(await ledger.top(G, "month", 10)).toEqual([
      { userId: C, chars: 550 },
      { userId: B, chars: 80 },
      { userId: A, chars: 50 },
    ]);
    expect(await ledger.top(G, "day", 2)).toEqual([
      { userId: B, chars: 80 },
      { userId: A, chars: 50 },
    ]);
    expect(await ledger.top(G, "day", -1)).toEqual([]);
    expect(await ledger.top("999999999999999999", "month", 10)).toEqual([]);
  });
});

describe("/usage embed", () => {
  const summary = {
    user: { day: 20, month: 1_234 },
    guild: { day: 20, month: 5_000 },
    remaining: { userDay: 10, guildDay: null, guildMonth: 995_000 },
    resets: { day: at("2025-03-15T00:00:00Z"), month: at("2025-04-01T00:00:00Z") },
  };

  it("shows usage, what remains or no limit, and the resets", () => {
    const json = usageEmbed(summary).toJSON();
    const text = JSON.stringify(json.fields);
    expect(json.fields?.map((f) => f.name)).toEqual(["You", "This server", "Resets"]);
    expect(json.fields?.[0]?.value).toBe("**Today:** 20 used · 10 left\n**This month:** 1,234 used");
    expect(json.fields?.[1]?.value).toBe(
      "**Today:** 20 used · no limit\n**This month:** 5,000 used · 995,000 left",
    );
    expect(text).toContain(relativeTime(summary.resets.day));
    expect(text).toContain(relativeTime(summary.resets.month));
  });

  it("lists the top users for moderators", () => {
    const json = usageEmbed(summary, [
      { userId: B, chars: 80 },
      { userId: A, chars: 50 },
    ]).toJSON();
    expect(json.fields?.[3]).toEqual({
      name: "Top 10 this month",
      value: `1. <@${B}> — 80\n2. <@${A}> — 50`,
    });
    expect(usageEmbed(summary, []).toJSON().fields?.[3]?.value).toBe("*Nobody yet.*");
  });
});
