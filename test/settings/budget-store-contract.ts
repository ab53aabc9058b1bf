import { afterEach, describe, expect, it } from "vitest";
import type { BudgetStore, ReserveResult } from "../../src/settings/budget-store.ts";

/**
 * What both budget stores must do, run against SQLite and a real Redis alike. Each test gets fresh,
 * empty data; `open()` gives a store over that same data, a new connection each call where the backend
 * has connections, so two "processes" can race.
 */
export interface BudgetStoreFixture {
  open(): Promise<BudgetStore>;
  close(): Promise<void>;
}

const G = "111111111111111111";
const G2 = "444444444444444444";
const A = "222222222222222222";
const B = "333333333333333333";
const C = "555555555555555555";

const at = (iso: string) => Date.parse(iso);
const T = at("2026-12-06T12:00:00Z");

function held(r: ReserveResult) {
  if (!r.ok) throw new Error(`refused on ${r.budget}`);
  return r.hold;
}

export function describeBudgetStoreContract(name: string, fresh: () => Promise<BudgetStoreFixture>): void {
  describe(`${name}: budget store contract`, () => {
    const fixtures: BudgetStoreFixture[] = [];
    async function setup() {
      const fixture = await fresh();
      fixtures.push(fixture);
      return { fixture, store: await fixture.open() };
    }
    afterEach(async () => {
      for (const f of fixtures.splice(0)) await f.close();
    });

    const reserve = (
      store: BudgetStore,
      holdId: string,
      chars: number,
      limits: Parameters<BudgetStore["reserve"]>[0]["limits"] = {},
      who: { guildId?: string; userId?: string; at?: number } = {},
    ) =>
      store.reserve({
        holdId,
        guildId: who.guildId ?? G,
        userId: who.userId ?? A,
        chars,
        limits,
        at: who.at ?? T,
      });

    it("counts a hold in the member's and the guild's day and month, and records it", async () => {
      const { store } = await setup();
      const hold = held(await reserve(store, "h1", 120));
      expect(hold).toEqual({
        id: "h1",
        guildId: G,
        userId: A,
        chars: 120,
        day: "2026-12-06",
        month: "2026-12",
        createdAt: T,
      });
      await reserve(store, "h2", 30, {}, { userId: B });
      await reserve(store, "h3", 1_000, {}, { guildId: G2 });
      expect(await store.usage(G, A, T)).toEqual({
        user: { day: 120, month: 120 },
        guild: { day: 150, month: 150 },
      });
      expect(await store.usage(G, B, T)).toEqual({
        user: { day: 30, month: 30 },
        guild: { day: 150, month: 150 },
      });
      expect(await store.usage(G, C, T)).toEqual({
        user: { day: 0, month: 0 },
        guild: { day: 150, month: 150 },
      });
      expect(await store.usage("999999999999999999", A, T)).toEqual({
        user: { day: 0, month: 0 },
        guild: { day: 0, month: 0 },
      });
    });

    it("accepts a reservation that fits exactly and refuses one over each budget, naming what it used", async () => {
      const { store } = await setup();
      held(await reserve(store, "a", 300, { userDailyChars: 300 }));
      expect(await reserve(store, "b", 1, { userDailyChars: 300 })).toEqual({
        ok: false,
        budget: "userDay",
        limit: 300,
        used: 300,
      });
      // Another member has their own daily budget, but shares the server's.
      held(await reserve(store, "c", 200, { userDailyChars: 300, guildDailyChars: 500 }, { userId: B }));
      expect(await reserve(store, "d", 1, { guildDailyChars: 500 }, { userId: C })).toEqual({
        ok: false,
        budget: "guildDay",
        limit: 500,
        used: 500,
      });
      // The month: yesterday's characters count too.
      const yesterday = at("2026-12-05T12:00:00Z");
      held(await reserve(store, "e", 400, {}, { userId: C, at: yesterday }));
      expect(await reserve(store, "f", 101, { guildMonthlyChars: 1_000 }, { userId: C })).toEqual({
        ok: false,
        budget: "guildMonth",
        limit: 1_000,
        used: 900,
      });
      held(await reserve(store, "g", 100, { guildMonthlyChars: 1_000 }, { userId: C }));
      // A refused reservation counted nothing and left no hold.
      expect((await store.usage(G, C, T)).user).toEqual({ day: 100, month: 500 });
      expect((await store.holds(Number.POSITIVE_INFINITY)).map((h) => h.id).sort()).toEqual([
        "a",
        "c",
        "e",
        "g",
      ]);
    });

    it("names the first budget exceeded in the order userDay, guildDay, guildMonth", async () => {
      const { store } = await setup();
      await store.record({ guildId: G, userId: A, chars: 100, at: T });
      const all = { userDailyChars: 100, guildDailyChars: 100, guildMonthlyChars: 100 };
      expect(await reserve(store, "x", 1, all)).toMatchObject({ ok: false, budget: "userDay" });
      expect(await reserve(store, "x", 1, { ...all, userDailyChars: 101 })).toMatchObject({
        ok: false,
        budget: "guildDay",
      });
      expect(
        await reserve(store, "x", 1, { ...all, userDailyChars: 101, guildDailyChars: 101 }),
      ).toMatchObject({
        ok: false,
        budget: "guildMonth",
      });
      expect(await reserve(store, "x", 1, { guildMonthlyChars: 101 })).toMatchObject({ ok: true });
    });

    it("counts held characters against later reservations", async () => {
      const { store } = await setup();
      held(await reserve(store, "h1", 600, { guildDailyChars: 1_000 }));
      expect(await reserve(store, "h2", 500, { guildDailyChars: 1_000 }, { userId: B })).toEqual({
        ok: false,
        budget: "guildDay",
        limit: 1_000,
        used: 600,
      });
      held(await reserve(store, "h3", 400, { guildDailyChars: 1_000 }, { userId: B }));
    });

    it("settles to the billed count, down or up, and bills once when settled twice", async () => {
      const { store } = await setup();
      held(await reserve(store, "down", 500));
      held(await reserve(store, "up", 100, {}, { userId: B }));
      expect(await store.settle("down", 320)).toBe(true);
      expect(await store.settle("up", 180)).toBe(true);
      expect(await store.settle("down", 320)).toBe(false);
      expect(await store.settle("up", 999)).toBe(false);
      expect(await store.release("up")).toBe(false);
      expect(await store.usage(G, A, T)).toEqual({
        user: { day: 320, month: 320 },
        guild: { day: 500, month: 500 },
      });
      expect((await store.usage(G, B, T)).user).toEqual({ day: 180, month: 180 });
      expect(await store.holds(Number.POSITIVE_INFINITY)).toEqual([]);
      expect(await store.settle("never-held", 10)).toBe(false);
      expect((await store.usage(G, A, T)).guild.day).toBe(500);
    });

    it("gives the characters back on release", async () => {
      const { store } = await setup();
      await store.record({ guildId: G, userId: A, chars: 50, at: T });
      held(await reserve(store, "r", 950, { userDailyChars: 1_000 }));
      expect(await reserve(store, "s", 1, { userDailyChars: 1_000 })).toMatchObject({ ok: false });
      expect(await store.release("r")).toBe(true);
      expect(await store.release("r")).toBe(false);
      expect(await store.usage(G, A, T)).toEqual({
        user: { day: 50, month: 50 },
        guild: { day: 50, month: 50 },
      });
      held(await reserve(store, "s", 950, { userDailyChars: 1_000 }));
    });

    it("returns the existing hold for a repeated id, counting it once, even when it would no longer fit", async () => {
      const { store } = await setup();
      const first = held(await reserve(store, "same", 700, { userDailyChars: 1_000 }));
      const again = await reserve(store, "same", 700, { userDailyChars: 1_000 }, { at: T + 60_000 });
      expect(again).toEqual({ ok: true, hold: first });
      // Even with other arguments, the hold is unchanged.
      expect(await reserve(store, "same", 5, {}, { userId: B })).toEqual({ ok: true, hold: first });
      expect((await store.usage(G, A, T)).user.day).toBe(700);
      expect((await store.usage(G, B, T)).user.day).toBe(0);
      expect(await store.holds(Number.POSITIVE_INFINITY)).toEqual([first]);
    });

    it("settles a hold in the periods it was counted in, across a day and a month rollover", async () => {
      const { store } = await setup();
      const before = at("2026-11-30T23:59:00Z");
      const after = at("2026-12-01T00:01:00Z");
      const hold = held(await reserve(store, "late", 400, {}, { at: before }));
      expect(hold).toMatchObject({ day: "2026-11-30", month: "2026-11" });
      await store.record({ guildId: G, userId: A, chars: 10, at: after });
      expect(await store.settle("late", 250)).toBe(true);
      expect(await store.usage(G, A, before)).toEqual({
        user: { day: 250, month: 250 },
        guild: { day: 250, month: 250 },
      });
      expect(await store.usage(G, A, after)).toEqual({
        user: { day: 10, month: 10 },
        guild: { day: 10, month: 10 },
      });

      const day1 = at("2026-12-06T22:00:00Z");
      const day2 = at("2026-12-07T09:00:00Z");
      held(await reserve(store, "overnight", 100, {}, { at: day1 }));
      expect(await store.settle("overnight", 300)).toBe(true);
      expect((await store.usage(G, A, day1)).user).toEqual({ day: 300, month: 310 });
      expect((await store.usage(G, A, day2)).user).toEqual({ day: 0, month: 310 });
    });

    it("adds recorded characters without a hold, and ignores zero", async () => {
      const { store } = await setup();
      await store.record({ guildId: G, userId: A, chars: 40, at: T });
      await store.record({ guildId: G, userId: A, chars: 0, at: T });
      await store.record({ guildId: G, userId: B, chars: 2, at: T });
      expect(await store.usage(G, A, T)).toEqual({
        user: { day: 40, month: 40 },
        guild: { day: 42, month: 42 },
      });
      expect(await store.holds(Number.POSITIVE_INFINITY)).toEqual([]);
      expect(await store.top(G, "day", T, 10)).toEqual([
        { userId: A, chars: 40 },
        { userId: B, chars: 2 },
      ]);
    });

    it("refuses counts that are not whole non-negative numbers", async () => {
      const { store } = await setup();
      for (const chars of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(reserve(store, "bad", chars)).rejects.toThrow(RangeError);
        await expect(store.record({ guildId: G, userId: A, chars, at: T })).rejects.toThrow(RangeError);
      }
      held(await reserve(store, "ok", 10));
      await expect(store.settle("ok", -5)).rejects.toThrow(RangeError);
      await expect(reserve(store, "", 10)).rejects.toThrow(RangeError);
      expect(await store.usage(G, A, T)).toEqual({
        user: { day: 10, month: 10 },
        guild: { day: 10, month: 10 },
      });
    });

    it("lists the heaviest members of the day or month, most first, ties by id, without released ones", async () => {
      const { store } = await setup();
      await store.record({ guildId: G, userId: C, chars: 500, at: at("2026-12-05T12:00:00Z") });
      await store.record({ guildId: G, userId: A, chars: 50, at: T });
      await store.record({ guildId: G, userId: B, chars: 80, at: T });
      await store.record({ guildId: G, userId: C, chars: 50, at: T });
      await store.record({ guildId: G2, userId: A, chars: 9_999, at: T });
      held(await reserve(store, "gone", 70, {}, { userId: "666666666666666666" }));
      await store.release("gone");
      expect(await store.top(G, "month", T, 10)).toEqual([
        { userId: C, chars: 550 },
        { userId: B, chars: 80 },
        { userId: A, chars: 50 },
      ]);
      expect(await store.top(G, "day", T, 2)).toEqual([
        { userId: B, chars: 80 },
        { userId: A, chars: 50 },
      ]);
      expect(await store.top(G, "day", T, 0)).toEqual([]);
      expect(await store.top("999999999999999999", "month", T, 10)).toEqual([]);
    });

    it("lists holds taken before a time, oldest first", async () => {
      const { store } = await setup();
      held(await reserve(store, "b-second", 1, {}, { at: T + 1_000 }));
      held(await reserve(store, "c-third", 2, {}, { at: T + 2_000, userId: B }));
      held(await reserve(store, "a-first", 3, {}, { at: T, guildId: G2 }));
      held(await reserve(store, "a-tie", 4, {}, { at: T + 1_000 }));
      expect((await store.holds(T + 2_000)).map((h) => h.id)).toEqual(["a-first", "a-tie", "b-second"]);
      expect(await store.holds(T)).toEqual([]);
      const all = await store.holds(Number.POSITIVE_INFINITY);
      expect(all.map((h) => h.id)).toEqual(["a-first", "a-tie", "b-second", "c-third"]);
      expect(all[3]).toEqual({
        id: "c-third",
        guildId: G,
        userId: B,
        chars: 2,
        day: "2026-12-06",
        month: "2026-12",
        createdAt: T + 2_000,
      });
      await store.settle("a-tie", 4);
      expect((await store.holds(T + 2_000)).map((h) => h.id)).toEqual(["a-first", "b-second"]);
    });

    it("never over-commits when 20 reservations race for a budget of 10", async () => {
      const { store } = await setup();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          reserve(
            store,
            `race-${i}`,
            100,
            { guildDailyChars: 1_000 },
            { userId: `7${String(i).padStart(17, "0")}` },
          ),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect((await store.usage(G, A, T)).guild.day).toBe(1_000);
      expect(await store.holds(Number.POSITIVE_INFINITY)).toHaveLength(10);
    });

    it("never over-commits when two connections race, and each sees the other's holds", async () => {
      const { fixture, store } = await setup();
      const other = await fixture.open();
      const limits = { userDailyChars: 1_000 };
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => reserve(i % 2 ? store : other, `two-${i}`, 50, limits)),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      expect((await other.usage(G, A, T)).user.day).toBe(1_000);
      // Settling and releasing on one connection is seen by the other.
      const ids = results.flatMap((r) => (r.ok ? [r.hold.id] : []));
      await Promise.all(ids.map((id, i) => (i % 2 ? store.release(id) : other.settle(id, 50))));
      expect((await store.usage(G, A, T)).user.day).toBe(500);
      expect(await other.holds(Number.POSITIVE_INFINITY)).toEqual([]);
      // Settling one hold from both at once bills it once.
      held(await reserve(store, "both", 100, limits));
      const settled = await Promise.all([store.settle("both", 10), other.settle("both", 10)]);
      expect(settled.filter(Boolean)).toHaveLength(1);
      expect((await store.usage(G, A, T)).user.day).toBe(510);
    });
  });
}
