import { describe, expect, it } from "vitest";
import { usageEmbed } from "../../commands/usage.ts";
import {
  createUsageLedger,
  DAY_TTL_MS,
  dayKey,
  MONTH_TTL_MS,
  monthKey,
  nextDayReset,
  nextMonthReset,
  relativeTime,
} from "../../src/guilds/usage.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const G = "111111111111111111";
const G2 = "444444444444444444";
const A = "222222222222222222";
const B = "333333333333333333";
const C = "555555555555555555";

const at = (iso: string) => Date.parse(iso);

function setup(start = "2025-03-14T12:00:00Z") {
  const m = new Map<string, { value: unknown; ttl: number | undefined }>();
  const kv = {
    get: async (k: string) => structuredClone(m.get(k)?.value),
    set: async (k: string, value: unknown, ttl?: number) => m.set(k, { value: structuredClone(value), ttl }),
  };
  const clock = { ms: at(start) };
  const ledger = createUsageLedger(kv, { now: () => clock.ms });
  return { m, ledger, clock };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserFacingError);
  return (err as Error).message;
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
  it("counts per user and per guild, for the day and the month, in compact TTL'd records", async () => {
    const { m, ledger } = setup();
    await ledger.record(G, A, 20);
    await ledger.record(G, A, 5);
    await ledger.record(G, B, 7);
    await ledger.record(G2, A, 100);
    const s = await ledger.summary(G, A, {});
    expect(s.user).toEqual({ day: 25, month: 25 });
    expect(s.guild).toEqual({ day: 32, month: 32 });
    expect(m.get(`u:${G}:${A}:d:2025-03-14`)).toEqual({ value: 25, ttl: DAY_TTL_MS });
    expect(m.get(`u:${G}:${A}:m:2025-03`)).toEqual({ value: 25, ttl: MONTH_TTL_MS });
    expect(m.get(`g:${G}:d:2025-03-14`)).toEqual({
      value: { t: 32, u: { [A]: 25, [B]: 7 } },
      ttl: DAY_TTL_MS,
    });
    expect(m.get(`g:${G}:m:2025-03`)?.ttl).toBe(MONTH_TTL_MS);
  });

  it("ignores zero, negative and non-finite counts", async () => {
    const { m, ledger } = setup();
    await ledger.record(G, A, 0);
    await ledger.record(G, A, -3);
    await ledger.record(G, A, Number.NaN);
    expect(m.size).toBe(0);
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
    await expect(ledger.check(G, A, 1_000_000, {})).resolves.toBeUndefined();
    const s = await ledger.summary(G, A, {});
    expect(s.remaining).toEqual({ userDay: null, guildDay: null, guildMonth: null });
  });

  it("allows a request that fits exactly, refuses one over, naming what remains and the reset", async () => {
    const { ledger } = setup("2025-03-14T12:00:00Z");
    const limits = { userDailyChars: 30 };
    await ledger.check(G, A, 20, limits);
    await ledger.record(G, A, 20);
    await ledger.check(G, A, 10, limits);
    const msg = await refusal(ledger.check(G, A, 20, limits));
    expect(msg).toBe(
      `That needs 20 characters, but your daily budget has 10 of 30 characters left. It resets ${relativeTime(
        at("2025-03-15T00:00:00Z"),
      )}.`,
    );
    // Another member is not held to A's usage.
    await ledger.check(G, B, 30, limits);
    // Nor is A in another guild.
    await ledger.check(G2, A, 30, limits);
    expect((await ledger.summary(G, A, limits)).remaining.userDay).toBe(10);
  });

  it("says when a budget is used up", async () => {
    const { ledger } = setup();
    await ledger.record(G, A, 40);
    const msg = await refusal(ledger.check(G, A, 1, { userDailyChars: 30 }));
    expect(msg).toContain("your daily budget of 30 characters is used up");
    expect((await ledger.summary(G, A, { userDailyChars: 30 })).remaining.userDay).toBe(0);
  });

  it("refuses on the server's daily and monthly budgets, with the month's reset for the monthly one", async () => {
    const { ledger, clock } = setup("2025-12-20T12:00:00Z");
    await ledger.record(G, B, 1_500);
    clock.ms = at("2025-12-31T10:00:00Z");
    await ledger.record(G, B, 400);
    const daily = await refusal(ledger.check(G, A, 200, { guildDailyChars: 500, guildMonthlyChars: 10_000 }));
    expect(daily).toContain("the server's daily budget has 100 of 500 characters left");
    expect(daily).toContain(relativeTime(at("2026-01-01T00:00:00Z")));
    const monthly = await refusal(ledger.check(G, A, 200, { guildMonthlyChars: 2_000 }));
    expect(monthly).toBe(
      `That needs 200 characters, but the server's monthly budget has 100 of 2,000 characters left. It resets ${relativeTime(
        at("2026-01-01T00:00:00Z"),
      )}.`,
    );
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
