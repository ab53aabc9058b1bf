import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import {
  createGuildSettingsStore,
  type GuildSettingsPatch,
  GuildSettingsSchema,
} from "../../src/settings/settings.ts";
import { BudgetExceededError, createUsageLedger } from "../../src/settings/usage.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import type { VoiceDefaults } from "../../src/settings/voice-defaults.ts";
import { createUserGuards } from "../../src/speak/guards.ts";
import {
  type Actor,
  createRequestPlanner,
  GUILD_ONLY_MESSAGE,
  jobHoldId,
  NARRATION_GUILD_ONLY_MESSAGE,
  PERSONAL_OFF_MESSAGE,
  PERSONAL_SCOPE,
  type RequestPlanner,
} from "../../src/speak/planner.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const G = "100000000000000001";
const G2 = "100000000000000009";
const U = "200000000000000001";
const U2 = "200000000000000002";
const MOD = "200000000000000099";
const ROLE = "300000000000000001";
const START = Date.parse("2025-03-14T12:00:00Z");

const SPEECH_KINDS = ["speak", "voice", "read-aloud", "auto-read"] as const;
const NARRATION_KINDS = ["narrate", "long-speak", "request"] as const;
type Kind = (typeof SPEECH_KINDS)[number] | (typeof NARRATION_KINDS)[number];

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

const member = (over: Partial<Actor> = {}): Actor => ({
  userId: U,
  guildId: G,
  roleIds: [],
  isManager: false,
  ...over,
});

interface Setup {
  guild?: GuildSettingsPatch;
  user?: VoiceDefaults;
  tone?: string[];
  /** The bot's own per-member concurrency (the guards). */
  maxConcurrent?: number;
  /** Speech outside servers (DM_DAILY_CHARS, DM_COOLDOWN_SECONDS); off (refused) when absent. */
  personal?: { dailyChars: number; cooldownMs: number };
}

async function setup(opts: Setup = {}) {
  const clock = { ms: START };
  const now = () => clock.ms;
  const ledger = createUsageLedger(createSqliteBudgetStore(new DatabaseSync(":memory:")), { now });
  const guildSettings = createGuildSettingsStore(memoryKv(), { cacheTtlMs: 0 });
  if (opts.guild) await guildSettings.update(G, opts.guild);
  const users = createUserSettingsStore(memoryKv());
  if (opts.user) await users.setDefaults(U, opts.user);
  /** What the job store would answer, per `guild:user`; absent means none. */
  const jobs = new Map<string, { open: number; lastCreatedAt: number | undefined }>();
  const lookups: string[] = [];
  const warnings: object[] = [];
  const planner = createRequestPlanner({
    users,
    guildSettings,
    guildPronunciation: async (guildId) => (guildId === G ? opts.tone : undefined),
    ledger,
    guards: createUserGuards({ cooldownMs: 0, burst: 1, maxConcurrent: opts.maxConcurrent ?? 10, now }),
    openJobs: async (guildId, userId) => {
      lookups.push(`${guildId}:${userId}`);
      return jobs.get(`${guildId}:${userId}`) ?? { open: 0, lastCreatedAt: undefined };
    },
    ...(opts.personal
      ? {
          personal: {
            dailyChars: opts.personal.dailyChars,
            guards: createUserGuards({
              cooldownMs: opts.personal.cooldownMs,
              burst: 1,
              maxConcurrent: 1,
              now,
            }),
          },
        }
      : {}),
    config: { model: "speech-2.6-hd", voice: "Wise_Woman", syncMaxChars: 100 },
    logger: { warn: (obj) => void warnings.push(obj) },
    now,
  });
  /** Characters counted today for a member (held and billed alike), and for the guild. */
  const used = async (userId = U, guildId = G) => {
    const s = await ledger.summary(guildId, userId, {});
    return { user: s.user.day, guild: s.guild.day };
  };
  const holds = () => ledger.holds(Number.MAX_SAFE_INTEGER);
  return { planner, ledger, clock, jobs, lookups, warnings, used, holds, guildSettings };
}

let jobCounter = 0;
const nextJob = () => `job-${++jobCounter}`;

/** One request of any kind; a speech plan is reserved at once, as its callers do before the provider. */
async function ask(planner: RequestPlanner, kind: Kind, actor: Actor, text: string) {
  if ((SPEECH_KINDS as readonly string[]).includes(kind)) {
    const planned = await planner.speech({
      kind: kind as (typeof SPEECH_KINDS)[number],
      actor,
      options: { text },
    });
    try {
      return await planned.reserve();
    } finally {
      planned.done();
    }
  }
  const planned = await planner.narration(
    {
      kind: kind as (typeof NARRATION_KINDS)[number],
      actor,
      options: {},
      source: { text },
      jobId: nextJob(),
    },
    async (planned) => planned,
  );
  return planned.reservation;
}

describe("request planner: servers only", () => {
  it.each([...SPEECH_KINDS, ...NARRATION_KINDS])("refuses %s in a DM and reserves nothing", async (kind) => {
    const { planner, holds, lookups } = await setup();
    const message = (NARRATION_KINDS as readonly string[]).includes(kind)
      ? NARRATION_GUILD_ONLY_MESSAGE
      : GUILD_ONLY_MESSAGE;
    await expect(ask(planner, kind, member({ guildId: null }), "Hello there")).rejects.toThrow(
      new UserFacingError(message),
    );
    expect(await holds()).toEqual([]);
    expect(lookups).toEqual([]);
  });

  it("refuses a retry from a DM", async () => {
    const { planner, holds } = await setup();
    await expect(
      planner.retry({
        actor: member({ guildId: null }),
        job: { id: "j", guildId: G, requesterId: U, chars: 10 },
        attempt: 1,
      }),
    ).rejects.toThrow(GUILD_ONLY_MESSAGE);
    expect(await holds()).toEqual([]);
  });
});

describe("request planner: speech outside servers (a member's own install)", () => {
  const dm = () => member({ guildId: null });

  it.each(["speak", "read-aloud"] as const)(
    "%s spends the member's own daily budget, keyed by user",
    async (kind) => {
      const { planner, used, holds } = await setup({ personal: { dailyChars: 50, cooldownMs: 0 } });
      const held = await ask(planner, kind, dm(), "Hello there");
      expect(held.guildId).toBe(PERSONAL_SCOPE);
      expect(await used(U, PERSONAL_SCOPE)).toEqual({ user: 11, guild: 11 });
      // The server's own counters are untouched.
      expect(await used(U, G)).toEqual({ user: 0, guild: 0 });
      await held.settle(9);
      expect(await used(U, PERSONAL_SCOPE)).toEqual({ user: 9, guild: 9 });
      expect(await holds()).toEqual([]);
    },
  );

  it("refuses past the member's daily budget, naming it, and another member still has theirs", async () => {
    const { planner, used } = await setup({ personal: { dailyChars: 20, cooldownMs: 0 } });
    await ask(planner, "speak", dm(), "x".repeat(15));
    const err = await ask(planner, "speak", dm(), "y".repeat(6)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as Error).message).toMatch(/^That needs 6 characters, but your daily budget has 5 of 20/);
    await ask(planner, "speak", member({ userId: U2, guildId: null }), "z".repeat(20));
    expect(await used(U, PERSONAL_SCOPE)).toEqual({ user: 15, guild: 35 });
  });

  it("has a cooldown of its own: one request, then a wait", async () => {
    const { planner, clock } = await setup({ personal: { dailyChars: 1000, cooldownMs: 30_000 } });
    await ask(planner, "speak", dm(), "one");
    await expect(ask(planner, "speak", dm(), "two")).rejects.toThrow(/you can speak again in 30 s/);
    // The server cooldown is separate: a request in a server is not held back.
    await ask(planner, "speak", member(), "in the server");
    clock.ms += 30_000;
    await ask(planner, "speak", dm(), "three");
  });

  it.each(["voice", "auto-read"] as const)("refuses %s (no voice outside servers)", async (kind) => {
    const { planner, holds } = await setup({ personal: { dailyChars: 1000, cooldownMs: 0 } });
    await expect(ask(planner, kind, dm(), "Hello")).rejects.toThrow(new UserFacingError(GUILD_ONLY_MESSAGE));
    expect(await holds()).toEqual([]);
  });

  it("refuses narrations: their result could not be posted outside a server", async () => {
    const { planner, holds } = await setup({ personal: { dailyChars: 1000, cooldownMs: 0 } });
    await expect(ask(planner, "narrate", dm(), "Hello")).rejects.toThrow(NARRATION_GUILD_ONLY_MESSAGE);
    expect(await holds()).toEqual([]);
  });

  it("refuses a text over the synchronous limit, pointing to a server", async () => {
    const { planner, holds } = await setup({ personal: { dailyChars: 10_000, cooldownMs: 0 } });
    await expect(ask(planner, "speak", dm(), "a".repeat(101))).rejects.toThrow(
      /101 characters; outside servers I speak at most 100 at once.*\/narrate in a server/,
    );
    expect(await holds()).toEqual([]);
  });

  it("with DM_DAILY_CHARS=0, speech outside servers is off", async () => {
    const { planner, holds } = await setup({ personal: { dailyChars: 0, cooldownMs: 0 } });
    await expect(ask(planner, "speak", dm(), "Hello")).rejects.toThrow(
      new UserFacingError(PERSONAL_OFF_MESSAGE),
    );
    expect(await holds()).toEqual([]);
  });

  it("uses the member's saved defaults, not any server's", async () => {
    const { planner } = await setup({
      personal: { dailyChars: 1000, cooldownMs: 0 },
      user: { voice: "Calm_Woman" },
      guild: { defaults: { voice: "Deep_Voice_Man", model: "speech-2.5-hd-preview" } },
      tone: ["a/b"],
    });
    const planned = await planner.speech({ kind: "speak", actor: dm(), options: { text: "Hi" } });
    planned.done();
    expect(planned.plan.request).toMatchObject({ voiceId: "Calm_Woman", model: "speech-2.6-hd" });
    expect(planned.plan.request.pronunciation).toBeUndefined();
  });
});

describe("request planner: access", () => {
  const SWITCHED = ["speak", "voice", "read-aloud", "long-speak"] as const;
  const FREE = ["auto-read", "narrate", "request"] as const;
  const cases = [
    { name: "/speak off", guild: { speak: { enabled: false } }, refusal: /turned \/speak off/ },
    {
      name: "role required",
      guild: { speak: { requiredRoleId: ROLE } },
      refusal: new RegExp(`/speak needs the <@&${ROLE}> role`),
    },
  ];

  describe.each(cases)("$name", ({ guild, refusal }) => {
    it.each(SWITCHED)("refuses %s to a member, with nothing reserved", async (kind) => {
      const { planner, holds } = await setup({ guild });
      await expect(ask(planner, kind, member(), "Hello there")).rejects.toThrow(refusal);
      expect(await holds()).toEqual([]);
    });

    it.each(SWITCHED)("lets a manager use %s", async (kind) => {
      const { planner, used } = await setup({ guild });
      const r = await ask(planner, kind, member({ isManager: true }), "Hello there");
      expect(r.chars).toBe(11);
      expect((await used()).user).toBe(11);
    });

    it.each(FREE)("does not apply to %s", async (kind) => {
      const { planner } = await setup({ guild });
      await expect(ask(planner, kind, member(), "Hello there")).resolves.toMatchObject({ chars: 11 });
    });
  });

  it.each(SWITCHED)("lets a member with the required role use %s", async (kind) => {
    const { planner } = await setup({ guild: { speak: { requiredRoleId: ROLE } } });
    await expect(ask(planner, kind, member({ roleIds: [ROLE] }), "Hello there")).resolves.toMatchObject({
      chars: 11,
    });
  });

  // `auto-read` is left out: see the next test.
  it.each(["speak", "voice", "read-aloud", "narrate", "long-speak", "request"] as const)(
    "refuses %s over the server's max characters per request, even to a manager",
    async (kind) => {
      const { planner, holds } = await setup({ guild: { limits: { maxCharsPerRequest: 10 } } });
      await expect(ask(planner, kind, member({ isManager: true }), "Hello there")).rejects.toThrow(
        "That text has 11 characters; this server allows at most 10 per request.",
      );
      expect(await holds()).toEqual([]);
      await expect(ask(planner, kind, member(), "Hello ther")).resolves.toMatchObject({ chars: 10 });
    },
  );

  // Auto-read is exempt from the /speak switch and role (the server opted in), not from the limit.
  it("refuses auto-read over the server's max characters per request", async () => {
    const { planner } = await setup({ guild: { limits: { maxCharsPerRequest: 10 } } });
    await expect(ask(planner, "auto-read", member(), "Hello there")).rejects.toThrow(
      "this server allows at most 10 per request",
    );
  });

  it.each(["voice", "read-aloud", "auto-read"] as const)(
    "refuses %s over the bot's voice playback limit (long texts are narrations)",
    async (kind) => {
      const { planner } = await setup();
      await expect(
        planner.speech({ kind, actor: member({ isManager: true }), options: { text: "x".repeat(101) } }),
      ).rejects.toThrow(/voice playback takes at most 100/);
    },
  );

  it("hands a long /speak back as planned (the service turns it into a narration)", async () => {
    const { planner } = await setup();
    const planned = await planner.speech({
      kind: "speak",
      actor: member(),
      options: { text: "x".repeat(101) },
    });
    expect(planned.chars).toBe(101);
    planned.done();
  });
});

describe("request planner: defaults and the pronunciation dictionary", () => {
  const guild: GuildSettingsPatch = {
    defaults: { voice: "Guild_Voice", model: "speech-2.8-turbo", language: "English", speed: 1.2 },
  };
  const user: VoiceDefaults = { voice: "Member_Voice", pitch: 3 };
  const tone = ["omg/oh my god"];

  it("resolves a speech plan: options, then the member's defaults, then the server's, then config", async () => {
    const { planner } = await setup({ guild, user, tone });
    const planned = await planner.speech({
      kind: "speak",
      actor: member(),
      options: { text: "omg", speed: 0.8 },
    });
    planned.done();
    expect(planned.plan.request).toMatchObject({
      text: "omg",
      voiceId: "Member_Voice",
      model: "speech-2.8-turbo",
      languageBoost: "English",
      speed: 0.8,
      pitch: 3,
      pronunciation: tone,
    });
    expect(planned.guildId).toBe(G);
  });

  it("resolves a narration's settings the same way", async () => {
    const { planner } = await setup({ guild, user, tone });
    const planned = await planner.narration(
      {
        kind: "narrate",
        actor: member(),
        options: { format: "flac" },
        source: { text: "omg, a long story" },
        jobId: nextJob(),
      },
      async (planned) => planned,
    );
    expect(planned.settings).toMatchObject({
      voiceId: "Member_Voice",
      model: "speech-2.8-turbo",
      languageBoost: "English",
      speed: 1.2,
      pitch: 3,
      format: "flac",
      pronunciation: tone,
    });
    expect(planned.input).toMatchObject({ kind: "text" });
    expect(planned.chars).toBe(17);
  });

  it("falls back to the server's defaults, then to the bot's, and sends no dictionary when there is none", async () => {
    const withGuild = await setup({ guild });
    const a = await withGuild.planner.speech({ kind: "voice", actor: member(), options: { text: "hi" } });
    a.done();
    expect(a.plan.request).toMatchObject({ voiceId: "Guild_Voice", model: "speech-2.8-turbo", speed: 1.2 });
    expect(a.plan.request).not.toHaveProperty("pronunciation");

    const bare = await setup();
    const b = await bare.planner.speech({ kind: "voice", actor: member(), options: { text: "hi" } });
    b.done();
    expect(b.plan.request).toMatchObject({ voiceId: "Wise_Woman", model: "speech-2.6-hd" });
    expect(b.plan.request).not.toHaveProperty("speed");
    expect(b.plan.request).not.toHaveProperty("pronunciation");
  });

  it("uses the dictionary of the server the request is in", async () => {
    const { planner } = await setup({ tone });
    const planned = await planner.speech({
      kind: "speak",
      actor: member({ guildId: G2 }),
      options: { text: "omg" },
    });
    planned.done();
    expect(planned.guildId).toBe(G2);
    expect(planned.plan.request).not.toHaveProperty("pronunciation");
  });
});

describe("request planner: budgets", () => {
  it("reserves a speech plan only when asked, once", async () => {
    const { planner, used, holds } = await setup();
    const planned = await planner.speech({
      kind: "speak",
      actor: member(),
      options: { text: "Hello there" },
    });
    expect(await used()).toEqual({ user: 0, guild: 0 });
    const r = await planned.reserve();
    expect(r).toMatchObject({ guildId: G, userId: U, chars: 11 });
    expect(r.holdId).toMatch(/^speak:/);
    expect(await used()).toEqual({ user: 11, guild: 11 });
    expect((await holds()).map((h) => h.id)).toEqual([r.holdId]);
    await expect(planned.reserve()).rejects.toThrow(/reserved once/);
    planned.done();
  });

  it("settles to what was billed, once", async () => {
    const { planner, used, holds } = await setup();
    const r = await ask(planner, "speak", member(), "Hello there");
    await r.settle(7);
    expect(await used()).toEqual({ user: 7, guild: 7 });
    await r.settle(9);
    await r.release();
    expect(await used()).toEqual({ user: 7, guild: 7 });
    expect(await holds()).toEqual([]);
  });

  it("settles to the reserved amount when the provider did not say", async () => {
    const { planner, used } = await setup();
    const r = await ask(planner, "voice", member(), "Hello there");
    await r.settle();
    expect(await used()).toEqual({ user: 11, guild: 11 });
  });

  it("gives the characters back on release, once", async () => {
    const { planner, used, holds } = await setup();
    const r = await ask(planner, "narrate", member(), "Hello there");
    expect(await used()).toEqual({ user: 11, guild: 11 });
    await r.release();
    await r.release();
    await r.settle(11);
    expect(await used()).toEqual({ user: 0, guild: 0 });
    expect(await holds()).toEqual([]);
  });

  it("never throws from settle or release when the ledger fails (the hold stays for reconciliation)", async () => {
    const { planner, ledger, warnings } = await setup();
    const r = await ask(planner, "speak", member(), "Hello there");
    ledger.settle = async () => {
      throw new Error("storage down");
    };
    await expect(r.settle(5)).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
  });

  it.each([
    {
      name: "the member's daily budget",
      limits: { userDailyChars: 10 },
      message:
        /^That needs 11 characters, but your daily budget has 10 of 10 characters left\. It resets <t:\d+:R>\.$/,
    },
    {
      name: "the server's daily budget",
      limits: { guildDailyChars: 5 },
      message:
        /^That needs 11 characters, but the server's daily budget has 5 of 5 characters left\. It resets <t:\d+:R>\.$/,
    },
    {
      name: "the server's monthly budget",
      limits: { guildMonthlyChars: 8 },
      message: /the server's monthly budget has 8 of 8 characters left\. It resets <t:\d+:R>\.$/,
    },
  ])("refuses over $name, for speech and narration alike", async ({ limits, message }) => {
    const { planner, used } = await setup({ guild: { limits } });
    for (const kind of ["speak", "auto-read", "narrate", "request"] as const) {
      const err = await ask(planner, kind, member(), "Hello there").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BudgetExceededError);
      expect((err as Error).message).toMatch(message);
    }
    expect(await used()).toEqual({ user: 0, guild: 0 });
  });

  it.each([
    { name: "the same member", second: U, limits: { userDailyChars: 100 } },
    { name: "two members", second: U2, limits: { guildDailyChars: 100 } },
  ])(
    "accepts exactly one of two concurrent narrations by $name that together exceed the budget",
    async ({ second, limits }) => {
      const { planner, used } = await setup({ guild: { limits } });
      const text = "x".repeat(60);
      const results = await Promise.allSettled([
        planner.narration(
          { kind: "narrate", actor: member(), options: {}, source: { text }, jobId: "a" },
          async (planned) => planned,
        ),
        planner.narration(
          {
            kind: "narrate",
            actor: member({ userId: second }),
            options: {},
            source: { text },
            jobId: "b",
          },
          async (planned) => planned,
        ),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const refused = results.filter((r) => r.status === "rejected");
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(BudgetExceededError);
      expect((await used(U)).guild).toBe(60);
    },
  );

  it("accepts exactly one of two concurrent speech reservations that together exceed the budget", async () => {
    const { planner, used } = await setup({ guild: { limits: { userDailyChars: 15 } } });
    const a = await planner.speech({ kind: "voice", actor: member(), options: { text: "0123456789" } });
    const b = await planner.speech({ kind: "read-aloud", actor: member(), options: { text: "abcdefghij" } });
    const results = await Promise.allSettled([a.reserve(), b.reserve()]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")?.reason).toBeInstanceOf(BudgetExceededError);
    expect((await used()).user).toBe(10);
    a.done();
    b.done();
  });

  it("holds a narration's characters under the job's hold id", async () => {
    const { planner, holds } = await setup();
    const planned = await planner.narration(
      {
        kind: "long-speak",
        actor: member(),
        options: {},
        source: { text: "Hello there" },
        jobId: "job-x",
      },
      async (planned) => planned,
    );
    expect(planned.reservation).toMatchObject({
      holdId: jobHoldId("job-x"),
      guildId: G,
      userId: U,
      chars: 11,
    });
    expect(jobHoldId("job-x")).toBe("job:job-x");
    expect((await holds()).map((h) => h.id)).toEqual(["job:job-x"]);
  });
});

describe("request planner: open narrations and the narration cooldown", () => {
  it.each(["narrate", "long-speak"] as const)(
    "caps %s at the member's unfinished narrations",
    async (kind) => {
      const { planner, jobs, holds } = await setup({ guild: { limits: { maxOpenJobsPerMember: 3 } } });
      jobs.set(`${G}:${U}`, { open: 3, lastCreatedAt: undefined });
      await expect(ask(planner, kind, member(), "Hello there")).rejects.toThrow(
        "You already have 3 unfinished narrations here (the limit is 3).",
      );
      expect(await holds()).toEqual([]);
      // Another member, or the same one in another server, is not affected.
      await expect(ask(planner, kind, member({ userId: U2 }), "Hello there")).resolves.toBeDefined();
      await expect(ask(planner, kind, member({ guildId: G2 }), "Hello there")).resolves.toBeDefined();
      jobs.set(`${G}:${U}`, { open: 2, lastCreatedAt: undefined });
      await expect(ask(planner, kind, member(), "Hello there")).resolves.toBeDefined();
    },
  );

  it("by default caps unfinished narrations at the settings' default, with no cooldown", async () => {
    const { maxOpenJobsPerMember: cap, narrateCooldownSeconds } = GuildSettingsSchema.parse({}).limits;
    expect(narrateCooldownSeconds).toBe(0);
    const { planner, jobs, clock } = await setup();
    jobs.set(`${G}:${U}`, { open: cap, lastCreatedAt: clock.ms });
    await expect(ask(planner, "narrate", member(), "Hello there")).rejects.toThrow(`the limit is ${cap}`);
    jobs.set(`${G}:${U}`, { open: cap - 1, lastCreatedAt: clock.ms });
    await expect(ask(planner, "narrate", member(), "Hello there")).resolves.toBeDefined();
  });

  it.each(["narrate", "long-speak"] as const)(
    "makes %s wait the server's narration cooldown",
    async (kind) => {
      const { planner, jobs, clock, holds } = await setup({
        guild: { limits: { narrateCooldownSeconds: 5 } },
      });
      jobs.set(`${G}:${U}`, { open: 0, lastCreatedAt: clock.ms - 2000 });
      await expect(ask(planner, kind, member(), "Hello there")).rejects.toThrow(
        `Please wait 3 s before starting another narration (<t:${Math.ceil((clock.ms + 3000) / 1000)}:R>).`,
      );
      expect(await holds()).toEqual([]);
      clock.ms += 3000;
      await expect(ask(planner, kind, member(), "Hello there")).resolves.toBeDefined();
    },
  );

  it("counts the cooldown in the server's seconds, and none when it is 0", async () => {
    const { planner, jobs, clock, guildSettings } = await setup({
      guild: { limits: { narrateCooldownSeconds: 60 } },
    });
    jobs.set(`${G}:${U}`, { open: 0, lastCreatedAt: clock.ms - 30_000 });
    await expect(ask(planner, "narrate", member(), "Hello there")).rejects.toThrow(/Please wait 30 s/);
    await guildSettings.update(G, { limits: { narrateCooldownSeconds: 0 } });
    await expect(ask(planner, "narrate", member(), "Hello there")).resolves.toBeDefined();
  });

  it("lets an approved request skip both the cap and the cooldown", async () => {
    const { planner, jobs, clock, lookups } = await setup({
      guild: { limits: { narrateCooldownSeconds: 60 } },
    });
    jobs.set(`${G}:${U}`, { open: 50, lastCreatedAt: clock.ms });
    await expect(ask(planner, "request", member(), "Hello there")).resolves.toBeDefined();
    expect(lookups).toEqual([]);
  });

  it("applies the cap to a retry but not the cooldown", async () => {
    const { planner, jobs, clock } = await setup({
      guild: { limits: { narrateCooldownSeconds: 60, maxOpenJobsPerMember: 5 } },
    });
    const job = { id: "job-r", guildId: G, requesterId: U, chars: 40 };
    jobs.set(`${G}:${U}`, { open: 0, lastCreatedAt: clock.ms });
    await expect(planner.retry({ actor: member(), job, attempt: 1 })).resolves.toMatchObject({ chars: 40 });
    jobs.set(`${G}:${U}`, { open: 5, lastCreatedAt: undefined });
    await expect(planner.retry({ actor: member(), job, attempt: 2 })).rejects.toThrow(
      /unfinished narrations/,
    );
  });

  it("does not count speech against narrations", async () => {
    const { planner, jobs, clock, lookups } = await setup();
    jobs.set(`${G}:${U}`, { open: 50, lastCreatedAt: clock.ms });
    for (const kind of SPEECH_KINDS) await ask(planner, kind, member(), "Hello there");
    expect(lookups).toEqual([]);
  });

  // The member's lock is held until the job is stored, so the second decision sees the first job.
  it("refuses the second of two narrations started at once (cooldown)", async () => {
    const { planner, jobs, clock } = await setup({ guild: { limits: { narrateCooldownSeconds: 5 } } });
    const start = (jobId: string) =>
      planner.narration(
        { kind: "narrate", actor: member(), options: {}, source: { text: "Hello there" }, jobId },
        async (planned) => {
          // What the job store does: an awaited write, then the job is visible.
          await new Promise((r) => setImmediate(r));
          const prev = jobs.get(`${G}:${U}`) ?? { open: 0, lastCreatedAt: undefined };
          jobs.set(`${G}:${U}`, { open: prev.open + 1, lastCreatedAt: clock.ms });
          return planned;
        },
      );
    const results = await Promise.allSettled([start("c1"), start("c2")]);
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
  });
});

describe("request planner: retry", () => {
  const job = { id: "job-1", guildId: G, requesterId: U, chars: 40 };

  it("refuses a retry from another server than the job's, with nothing reserved", async () => {
    const { planner, holds } = await setup();
    await expect(
      planner.retry({ actor: member({ userId: MOD, guildId: G2, isManager: true }), job, attempt: 1 }),
    ).rejects.toThrow("Retry this narration in the server where it was started.");
    await expect(
      planner.retry({ actor: member(), job: { ...job, guildId: null }, attempt: 1 }),
    ).rejects.toThrow(UserFacingError);
    expect(await holds()).toEqual([]);
  });

  it("charges the requester, not the moderator who pressed Retry, under a hold per attempt", async () => {
    const { planner, used, lookups } = await setup();
    const moderator = member({ userId: MOD, isManager: true });
    const first = await planner.retry({ actor: moderator, job, attempt: 1 });
    const second = await planner.retry({ actor: moderator, job, attempt: 2 });
    expect(first).toMatchObject({ holdId: jobHoldId("job-1", 1), guildId: G, userId: U, chars: 40 });
    expect(second.holdId).toBe(jobHoldId("job-1", 2));
    expect(new Set([jobHoldId("job-1"), first.holdId, second.holdId]).size).toBe(3);
    expect(await used(U)).toEqual({ user: 80, guild: 80 });
    expect((await used(MOD)).user).toBe(0);
    // The cap is the requester's too.
    expect(lookups).toEqual([`${G}:${U}`, `${G}:${U}`]);
  });

  it("is refused over the requester's budget", async () => {
    const { planner, used } = await setup({ guild: { limits: { userDailyChars: 30 } } });
    await expect(
      planner.retry({ actor: member({ userId: MOD, isManager: true }), job, attempt: 1 }),
    ).rejects.toThrow(/your daily budget has 30 of 30 characters left/);
    expect(await used(U)).toEqual({ user: 0, guild: 0 });
  });

  it("reserves the same attempt once (an idempotent hold)", async () => {
    const { planner, used } = await setup();
    await planner.retry({ actor: member(), job, attempt: 1 });
    await planner.retry({ actor: member(), job, attempt: 1 });
    expect((await used()).user).toBe(40);
  });
});

describe("request planner: the cooldown guard", () => {
  it.each(["speak", "voice", "read-aloud"] as const)(
    "makes %s take a slot under the server's cooldown",
    async (kind) => {
      const { planner, clock } = await setup({ guild: { limits: { userCooldownSeconds: 30 } } });
      const first = await planner.speech({ kind, actor: member(), options: { text: "one" } });
      first.done();
      await expect(planner.speech({ kind, actor: member(), options: { text: "two" } })).rejects.toThrow(
        /Slow down a little: you can speak again in 30 s/,
      );
      // Another member has their own.
      (await planner.speech({ kind, actor: member({ userId: U2 }), options: { text: "two" } })).done();
      clock.ms += 30_000;
      (await planner.speech({ kind, actor: member(), options: { text: "three" } })).done();
    },
  );

  it("lets auto-read take no slot", async () => {
    const { planner } = await setup({ guild: { limits: { userCooldownSeconds: 30 } }, maxConcurrent: 1 });
    for (let i = 0; i < 3; i++) {
      await planner.speech({ kind: "auto-read", actor: member(), options: { text: `message ${i}` } });
    }
    // Nor did it use the member's concurrency: /speak still gets its slot.
    (await planner.speech({ kind: "speak", actor: member(), options: { text: "now me" } })).done();
  });

  it("frees the concurrency slot on done(), once", async () => {
    const { planner } = await setup({ maxConcurrent: 1 });
    const first = await planner.speech({ kind: "speak", actor: member(), options: { text: "one" } });
    await expect(
      planner.speech({ kind: "voice", actor: member(), options: { text: "two" } }),
    ).rejects.toThrow(/already have 1 request in progress/);
    first.done();
    first.done();
    const second = await planner.speech({ kind: "voice", actor: member(), options: { text: "two" } });
    await expect(
      planner.speech({ kind: "speak", actor: member(), options: { text: "three" } }),
    ).rejects.toThrow(/in progress/);
    second.done();
  });

  it("takes no slot for a refused request", async () => {
    const { planner } = await setup({ guild: { speak: { enabled: false } }, maxConcurrent: 1 });
    await expect(
      planner.speech({ kind: "speak", actor: member(), options: { text: "one" } }),
    ).rejects.toThrow(/turned \/speak off/);
    (
      await planner.speech({ kind: "speak", actor: member({ isManager: true }), options: { text: "one" } })
    ).done();
  });
});
