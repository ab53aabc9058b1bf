import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { createSqliteBudgetStore } from "../../src/settings/budget-store-sqlite.ts";
import { createGuildSettingsStore, type GuildSettingsPatch } from "../../src/settings/settings.ts";
import { BudgetExceededError, createUsageLedger } from "../../src/settings/usage.ts";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import { createUserGuards } from "../../src/speak/guards.ts";
import { type Actor, createRequestPlanner, PREVIEW_ACCOUNT } from "../../src/speak/planner.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

/** The planner's preview and design paths, and designed-voice resolution, on a real SQLite ledger. */

const G = "100000000000000001";
const U = "200000000000000001";

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

const member: Actor = { userId: U, guildId: G, roleIds: [], isManager: false };

async function setup(guild?: GuildSettingsPatch) {
  const ledger = createUsageLedger(createSqliteBudgetStore(new DatabaseSync(":memory:")));
  const guildSettings = createGuildSettingsStore(memoryKv(), { cacheTtlMs: 0 });
  if (guild) await guildSettings.update(G, guild);
  const resolved: string[] = [];
  const planner = createRequestPlanner({
    users: createUserSettingsStore(memoryKv()),
    guildSettings,
    guildPronunciation: async () => undefined,
    ledger,
    guards: createUserGuards({ cooldownMs: 0, burst: 10, maxConcurrent: 10 }),
    openJobs: async () => ({ open: 0, lastCreatedAt: undefined }),
    config: { model: "speech-2.8-hd", voice: "Wise_Woman", syncMaxChars: 3000 },
    logger: { warn: () => {} },
    resolveVoice: async (voice) => {
      resolved.push(voice);
      if (voice === "designed-not-yours") throw new UserFacingError("not yours");
      return voice === "Captain" ? "designed-captain-1" : voice;
    },
  });
  const limits = { userDailyChars: 10, guildDailyChars: 10 };
  return { planner, ledger, resolved, limits };
}

describe("planner: previews", () => {
  it("holds a preview in the preview account, outside every member's and server's budget", async () => {
    const { planner, ledger, limits } = await setup({ limits: { userDailyChars: 10, guildDailyChars: 10 } });
    const hold = await planner.preview({ actor: member, holdId: "preview:x", chars: 60 });
    expect(hold.guildId).toBe(PREVIEW_ACCOUNT);
    await hold.settle(58);
    const server = await ledger.summary(G, U, limits);
    expect(server.user.day).toBe(0);
    expect(server.guild.day).toBe(0);
    const account = await ledger.summary(PREVIEW_ACCOUNT, U, {});
    expect(account.user.day).toBe(58);
  });
});

describe("planner: designing a voice", () => {
  it("reserves the preview text against the member's budget, and refuses what does not fit", async () => {
    const { planner, ledger, limits } = await setup({ limits: { userDailyChars: 10, guildDailyChars: 10 } });
    const hold = await planner.design({ actor: member, holdId: "design:a", chars: 8 });
    await hold.settle(8);
    expect((await ledger.summary(G, U, limits)).user.day).toBe(8);
    await expect(planner.design({ actor: member, holdId: "design:b", chars: 8 })).rejects.toBeInstanceOf(
      BudgetExceededError,
    );
  });

  it("applies the /speak switch and the per-request limit, and refuses outside servers", async () => {
    const off = await setup({ speak: { enabled: false } });
    await expect(off.planner.design({ actor: member, holdId: "design:c", chars: 5 })).rejects.toThrow(
      /turned \/speak off/,
    );
    const capped = await setup({ limits: { maxCharsPerRequest: 4 } });
    await expect(capped.planner.design({ actor: member, holdId: "design:d", chars: 5 })).rejects.toThrow(
      /at most 4/,
    );
    await expect(
      capped.planner.design({ actor: { ...member, guildId: null }, holdId: "design:e", chars: 1 }),
    ).rejects.toBeInstanceOf(UserFacingError);
  });
});

describe("planner: designed voices in requests", () => {
  it("resolves a designed voice's name to its id, and refuses one that is not the member's here", async () => {
    const { planner, resolved } = await setup();
    const planned = await planner.speech({
      kind: "speak",
      actor: member,
      options: { text: "Hi", voice: "Captain" },
    });
    expect(planned.plan.request.voiceId).toBe("designed-captain-1");
    planned.done();
    await expect(
      planner.speech({ kind: "speak", actor: member, options: { text: "Hi", voice: "designed-not-yours" } }),
    ).rejects.toThrow("not yours");
    expect(resolved).toEqual(["Captain", "designed-not-yours"]);
  });

  it("resolves the voice of a narration too", async () => {
    const { planner } = await setup();
    const settings = await planner.narration(
      {
        kind: "narrate",
        actor: member,
        options: { voice: "Captain" },
        source: { text: "Once upon a time." },
        jobId: "j1",
      },
      async (p) => {
        await p.reservation.release();
        return p.settings;
      },
    );
    expect(settings.voiceId).toBe("designed-captain-1");
  });
});
