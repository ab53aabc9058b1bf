import { describe, expect, it } from "vitest";
import {
  createGuildSettingsStore,
  describeSettings,
  effectiveDefaults,
  type GuildSettingsPatch,
  GuildSettingsSchema,
} from "../../src/settings/settings.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

function memory() {
  const m = new Map<string, unknown>();
  const warnings: object[] = [];
  const kv = {
    get: async (k: string) => m.get(k),
    set: async (k: string, v: unknown) => m.set(k, structuredClone(v)),
    delete: async (k: string) => m.delete(k),
  };
  const store = createGuildSettingsStore(kv, { logger: { warn: (obj) => warnings.push(obj) } });
  return { m, store, warnings };
}

const G = "111111111111111111";
const ROLE = "222222222222222222";
const CHANNEL = "333333333333333333";

describe("guild settings defaults", () => {
  it("applies the documented defaults to an empty record", () => {
    expect(GuildSettingsSchema.parse({})).toEqual({
      defaults: {},
      channels: {},
      limits: { maxConcurrentJobs: 2, narrateCooldownSeconds: 0, maxOpenJobsPerMember: 10 },
      requests: { approvalRequired: true },
      speak: { enabled: true },
      voices: { designAccess: "members" },
      voice: {
        joinAnnouncements: false,
        backlogSpeedup: false,
        backlogThreshold: 3,
        backlogMaxSpeed: 1.5,
      },
      reading: {
        autoRead: false,
        readBots: false,
        textInVoice: true,
        requireVoice: true,
        ignoreAudience: true,
        nameStyle: "nickname",
        nameTemplate: "{name} said",
        skipPrefixes: ["!", "//"],
        maxChars: 300,
        describeFiles: true,
      },
    });
  });
});

describe("guild settings validation", () => {
  const good: [string, GuildSettingsPatch][] = [
    ["voice", { defaults: { voice: "Calm_Woman" } }],
    ["model", { defaults: { model: "speech-2.6-hd" } }],
    ["language", { defaults: { language: "English" } }],
    ["emotion", { defaults: { emotion: "happy" } }],
    ["emotion fitting the model", { defaults: { model: "speech-2.6-hd", emotion: "whisper" } }],
    ["speed low", { defaults: { speed: 0.5 } }],
    ["speed high", { defaults: { speed: 2 } }],
    ["narration channel", { channels: { narration: CHANNEL } }],
    ["requests channel", { channels: { requests: CHANNEL } }],
    ["auto-read on", { reading: { autoRead: true } }],
    ["read bots", { reading: { readBots: true } }],
    ["text-in-voice off", { reading: { textInVoice: false } }],
    ["require voice off", { reading: { requireVoice: false } }],
    ["required role", { reading: { requiredRoleId: ROLE } }],
    ["ignored role", { reading: { ignoredRoleId: ROLE } }],
    ["stage audience read", { reading: { ignoreAudience: false } }],
    ["display names", { reading: { nameStyle: "display_name" } }],
    ["usernames", { reading: { nameStyle: "username" } }],
    ["no names", { reading: { nameStyle: "none" } }],
    ["a template", { reading: { nameTemplate: "message from {name}" } }],
    ["a template in another script", { reading: { nameTemplate: "{name}さん" } }],
    ["a template of 60 characters", { reading: { nameTemplate: `{name}${"x".repeat(54)}` } }],
    ["custom skip prefixes", { reading: { skipPrefixes: ["~", "(ooc)"] } }],
    ["no skip prefixes", { reading: { skipPrefixes: [] } }],
    ["ten skip prefixes", { reading: { skipPrefixes: [..."abcdefghij"] } }],
    ["length cap 20", { reading: { maxChars: 20 } }],
    ["length cap 2000", { reading: { maxChars: 2000 } }],
    ["files not described", { reading: { describeFiles: false } }],
    ["join announcements on", { voice: { joinAnnouncements: true } }],
    ["voice design for moderators", { voices: { designAccess: "moderators" } }],
    ["backlog speed-up on", { voice: { backlogSpeedup: true } }],
    ["backlog threshold 1", { voice: { backlogThreshold: 1 } }],
    ["backlog threshold 25", { voice: { backlogThreshold: 25 } }],
    ["backlog max speed 1", { voice: { backlogMaxSpeed: 1 } }],
    ["backlog max speed 1.25", { voice: { backlogMaxSpeed: 1.25 } }],
    ["backlog max speed 2", { voice: { backlogMaxSpeed: 2 } }],
    ["max chars 1", { limits: { maxCharsPerRequest: 1 } }],
    ["max chars 100000", { limits: { maxCharsPerRequest: 100_000 } }],
    ["user daily", { limits: { userDailyChars: 5000 } }],
    ["guild daily", { limits: { guildDailyChars: 1 } }],
    ["guild monthly", { limits: { guildMonthlyChars: 10_000_000 } }],
    ["cooldown 0", { limits: { userCooldownSeconds: 0 } }],
    ["cooldown 3600", { limits: { userCooldownSeconds: 3600 } }],
    ["jobs 1", { limits: { maxConcurrentJobs: 1 } }],
    ["jobs 50", { limits: { maxConcurrentJobs: 50 } }],
    ["approval off", { requests: { approvalRequired: false } }],
    ["moderator role", { requests: { moderatorRoleId: ROLE } }],
    ["speak off", { speak: { enabled: false } }],
    ["speak role", { speak: { requiredRoleId: ROLE } }],
  ];
  it.each(good)("accepts %s", async (_name, patch) => {
    const { store } = memory();
    const saved = await store.update(G, patch);
    const [section, fields] = Object.entries(patch)[0]!;
    expect(saved[section as keyof typeof saved]).toMatchObject(fields);
    expect(await store.get(G)).toEqual(saved);
  });

  // Each bad value must be refused with the field's name and a reason, and nothing saved.
  const bad: [string, GuildSettingsPatch, RegExp][] = [
    ["empty voice", { defaults: { voice: "" } }, /^Voice was not saved/],
    ["unknown language", { defaults: { language: "Klingon" as "English" } }, /^Language was not saved/],
    ["unknown emotion", { defaults: { emotion: "smug" as "happy" } }, /^Emotion was not saved/],
    [
      "emotion the model cannot do",
      { defaults: { model: "speech-2.8-hd", emotion: "whisper" } },
      /^Emotion was not saved: this emotion does not work with the chosen model/,
    ],
    ["speed too low", { defaults: { speed: 0.4 } }, /^Speed was not saved: .*0\.5/],
    ["speed too high", { defaults: { speed: 2.5 } }, /^Speed was not saved/],
    ["channel not a snowflake", { channels: { narration: "general" } }, /^Narration channel .*Discord id/],
    ["requests channel too short", { channels: { requests: "123" } }, /^Requests channel .*Discord id/],
    [
      "auto-read not boolean",
      { reading: { autoRead: "on" as unknown as boolean } },
      /^Read chat aloud in voice was not saved/,
    ],
    [
      "read role not a snowflake",
      { reading: { requiredRoleId: "mods" } },
      /^Role required to be read .*Discord id/,
    ],
    ["ignored role not a snowflake", { reading: { ignoredRoleId: "1" } }, /^Role never read .*Discord id/],
    ["unknown name style", { reading: { nameStyle: "tag" as "username" } }, /^Name spoken was not saved/],
    ["template without {name}", { reading: { nameTemplate: "someone said" } }, /exactly once/],
    ["template with {name} twice", { reading: { nameTemplate: "{name} {name}" } }, /exactly once/],
    ["template with a typo", { reading: { nameTemplate: "{nmae} said {name}" } }, /no placeholder other/],
    ["template of blanks", { reading: { nameTemplate: "   " } }, /^Before a new speaker .*empty/],
    ["template too long", { reading: { nameTemplate: `{name}${"x".repeat(55)}` } }, /at most 60/],
    ["template on two lines", { reading: { nameTemplate: "{name}\nsaid" } }, /one line/],
    ["template with a backtick", { reading: { nameTemplate: "`{name}` said" } }, /backticks/],
    ["eleven skip prefixes", { reading: { skipPrefixes: [..."abcdefghijk"] } }, /at most 10 prefixes/],
    ["an empty skip prefix", { reading: { skipPrefixes: ["!", ""] } }, /must not be empty/],
    ["a skip prefix with a space", { reading: { skipPrefixes: ["a b"] } }, /spaces/],
    ["a long skip prefix", { reading: { skipPrefixes: ["x".repeat(11)] } }, /at most 10 characters/],
    ["a skip prefix twice", { reading: { skipPrefixes: ["!", "!"] } }, /twice/],
    ["length cap 19", { reading: { maxChars: 19 } }, /^Longest message read .*at least 20/],
    ["length cap 2001", { reading: { maxChars: 2001 } }, /at most 2000/],
    ["length cap fractional", { reading: { maxChars: 100.5 } }, /whole number/],
    [
      "unknown voice design access",
      { voices: { designAccess: "admins" as "members" } },
      /^Who may design voices was not saved/,
    ],
    [
      "join announcements not boolean",
      { voice: { joinAnnouncements: "yes" as unknown as boolean } },
      /^Announce members joining and leaving was not saved/,
    ],
    [
      "backlog speed-up not boolean",
      { voice: { backlogSpeedup: 1 as unknown as boolean } },
      /^Speak faster when the voice queue is long was not saved/,
    ],
    ["backlog threshold 0", { voice: { backlogThreshold: 0 } }, /^Clips waiting before .*at least 1/],
    ["backlog threshold 26", { voice: { backlogThreshold: 26 } }, /^Clips waiting before .*at most 25/],
    ["backlog threshold fractional", { voice: { backlogThreshold: 2.5 } }, /whole number/],
    ["backlog max speed 0.9", { voice: { backlogMaxSpeed: 0.9 } }, /^Fastest speed .*at least 1/],
    ["backlog max speed 2.1", { voice: { backlogMaxSpeed: 2.1 } }, /^Fastest speed .*at most 2/],
    ["max chars 0", { limits: { maxCharsPerRequest: 0 } }, /^Max characters per request .*at least 1/],
    ["max chars huge", { limits: { maxCharsPerRequest: 100_001 } }, /at most 100000/],
    ["user daily 0", { limits: { userDailyChars: 0 } }, /^Daily characters per member .*at least 1/],
    ["guild daily fractional", { limits: { guildDailyChars: 1.5 } }, /whole number/],
    ["guild monthly negative", { limits: { guildMonthlyChars: -1 } }, /^Monthly characters .*at least 1/],
    ["cooldown negative", { limits: { userCooldownSeconds: -1 } }, /^Cooldown per member .*at least 0/],
    ["cooldown too long", { limits: { userCooldownSeconds: 3601 } }, /at most 3600/],
    ["jobs 0", { limits: { maxConcurrentJobs: 0 } }, /^Max concurrent jobs .*at least 1/],
    ["jobs 51", { limits: { maxConcurrentJobs: 51 } }, /^Max concurrent jobs .*at most 50/],
    ["approval not boolean", { requests: { approvalRequired: "yes" as unknown as boolean } }, /approval/],
    ["moderator role", { requests: { moderatorRoleId: "admins" } }, /^Moderator role .*Discord id/],
    ["speak role", { speak: { requiredRoleId: "x" } }, /^Role required for \/speak .*Discord id/],
  ];
  it.each(bad)("refuses %s", async (_name, patch, reason) => {
    const { store, m } = memory();
    await store.update(G, { limits: { maxConcurrentJobs: 7 } });
    const before = structuredClone(m.get(G));
    const error = await store.update(G, patch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserFacingError);
    expect((error as Error).message).toMatch(reason);
    expect(m.get(G)).toEqual(before);
  });
});

describe("guild settings store", () => {
  it("deep-merges patches, keeping other fields and sections", async () => {
    const { store } = memory();
    await store.update(G, { defaults: { voice: "Calm_Woman", speed: 1.2 }, limits: { userDailyChars: 100 } });
    const after = await store.update(G, { defaults: { speed: 1.5 }, speak: { enabled: false } });
    expect(after.defaults).toEqual({ voice: "Calm_Woman", speed: 1.5 });
    expect(after.limits).toEqual({
      userDailyChars: 100,
      maxConcurrentJobs: 2,
      narrateCooldownSeconds: 0,
      maxOpenJobsPerMember: 10,
    });
    expect(after.speak).toEqual({ enabled: false });
  });

  it("clears a field with null and leaves it alone with undefined", async () => {
    const { store } = memory();
    await store.update(G, { requests: { moderatorRoleId: ROLE, approvalRequired: false } });
    const after = await store.update(G, { requests: { moderatorRoleId: null, approvalRequired: undefined } });
    expect(after.requests).toEqual({ approvalRequired: false });
  });

  it("stores only what was set, so changed defaults in code still reach the guild", async () => {
    const { store, m } = memory();
    await store.update(G, { limits: { userCooldownSeconds: 5 } });
    expect(m.get(G)).toEqual({ limits: { userCooldownSeconds: 5 } });
  });

  it("keeps guilds apart", async () => {
    const { store } = memory();
    await store.update(G, { defaults: { voice: "A" } });
    expect((await store.get("999999999999999999")).defaults).toEqual({});
  });

  it("resets one section, or everything", async () => {
    const { store, m } = memory();
    await store.update(G, {
      defaults: { voice: "A" },
      limits: { maxConcurrentJobs: 9 },
      speak: { enabled: false },
    });
    const afterLimits = await store.reset(G, "limits");
    expect(afterLimits.limits).toEqual({
      maxConcurrentJobs: 2,
      narrateCooldownSeconds: 0,
      maxOpenJobsPerMember: 10,
    });
    expect(afterLimits.defaults).toEqual({ voice: "A" });
    expect((await store.get(G)).speak.enabled).toBe(false);
    const afterAll = await store.reset(G);
    expect(afterAll).toEqual(GuildSettingsSchema.parse({}));
    expect(m.has(G)).toBe(false);
  });

  it("replaces a corrupt record with the defaults and logs it", async () => {
    const { store, m, warnings } = memory();
    m.set(G, { limits: { maxConcurrentJobs: "lots" }, defaults: { voice: "Kept?" } });
    expect(await store.get(G)).toEqual(GuildSettingsSchema.parse({}));
    expect(warnings).toEqual([{ guildId: G }]);
    expect(m.has(G)).toBe(false);
    // And the guild can save again afterwards.
    expect((await store.update(G, { defaults: { speed: 1.1 } })).defaults).toEqual({ speed: 1.1 });
  });
});

describe("effectiveDefaults", () => {
  it("returns only the voice fields that are set", () => {
    const settings = GuildSettingsSchema.parse({ defaults: { voice: "Calm_Woman", speed: 1.3 } });
    expect(effectiveDefaults(settings)).toEqual({ voice: "Calm_Woman", speed: 1.3 });
    expect(Object.keys(effectiveDefaults(GuildSettingsSchema.parse({})))).toEqual([]);
  });
});

describe("describeSettings", () => {
  it("lists every field, with set values, mentions, and what unset means", () => {
    const lines = describeSettings(
      GuildSettingsSchema.parse({
        defaults: { voice: "Calm_Woman", speed: 1.5 },
        channels: { narration: CHANNEL },
        limits: { guildMonthlyChars: 1_000_000 },
        requests: { moderatorRoleId: ROLE },
        speak: { enabled: false },
      }),
    );
    expect(lines).toContain("**Voice:** `Calm_Woman`");
    expect(lines).toContain("**Speed:** `1.5`");
    expect(lines).toContain("**Model:** *bot default*");
    expect(lines).toContain(`**Narration channel:** <#${CHANNEL}>`);
    expect(lines).toContain("**Requests channel:** *not set*");
    expect(lines).toContain("**Monthly characters for the server:** `1,000,000`");
    expect(lines).toContain("**Daily characters per member:** *unlimited*");
    expect(lines).toContain("**Max concurrent jobs:** `2`");
    expect(lines).toContain("**Narration requests need approval:** yes");
    expect(lines).toContain(`**Moderator role:** <@&${ROLE}>`);
    expect(lines).toContain("**Members may use /speak:** no");
    expect(lines).toContain("**Role required for /speak:** *none*");
    expect(lines).toContain("**Read chat aloud in voice:** no");
    expect(lines).toContain("**Before a new speaker:** `{name} said`");
    expect(lines).toContain("**Not read when starting with:** `!` `//`");
    expect(lines).toContain("**Role never read:** *none*");
    expect(lines).toContain("**Name spoken:** `nickname`");
    expect(lines).toContain("**Longest message read (characters):** `300`");
    expect(lines).toContain("**Announce members joining and leaving:** no");
    expect(lines).toContain("**Who may design voices:** `members`");
    expect(lines).toContain("**Speak faster when the voice queue is long:** no");
    expect(lines).toContain("**Clips waiting before speaking faster:** `3`");
    expect(lines).toContain("**Fastest speed for a long queue:** `1.5×`");
    // 8 section headings + 36 fields.
    expect(lines).toHaveLength(44);
    expect(lines.indexOf("__Limits__")).toBeLessThan(lines.indexOf("**Max concurrent jobs:** `2`"));
  });
});

describe("guild settings read cache", () => {
  it("reuses a read for a few seconds, but shows its own changes at once", async () => {
    let t = 0;
    let reads = 0;
    const data = new Map<string, unknown>();
    const kv = {
      get: async (k: string) => {
        reads++;
        return data.get(k);
      },
      set: async (k: string, v: unknown) => void data.set(k, v),
      delete: async (k: string) => data.delete(k),
    };
    const store = createGuildSettingsStore(kv, { now: () => t, cacheTtlMs: 5000 });
    await store.get("g");
    await store.get("g");
    expect(reads).toBe(1);
    await store.update("g", { defaults: { speed: 1.5 } });
    expect((await store.get("g")).defaults.speed).toBe(1.5);
    data.set("g", { defaults: { speed: 0.8 } }); // another process changed it
    expect((await store.get("g")).defaults.speed).toBe(1.5);
    t = 6000;
    expect((await store.get("g")).defaults.speed).toBe(0.8);
  });
});

describe("auto-read settings of older records", () => {
  it("moves autoRead and readBots from voice to reading, keeping the rest of voice", async () => {
    const { store, m, warnings } = memory();
    m.set(G, { voice: { autoRead: true, readBots: true, backlogThreshold: 5 } });
    const settings = await store.get(G);
    expect(settings.reading).toMatchObject({ autoRead: true, readBots: true });
    expect(settings.voice.backlogThreshold).toBe(5);
    expect(warnings).toEqual([]);
    // The next save writes the new shape.
    await store.update(G, { reading: { maxChars: 100 } });
    expect(m.get(G)).toEqual({
      voice: { backlogThreshold: 5 },
      reading: { autoRead: true, readBots: true, maxChars: 100 },
    });
  });

  it("does not overwrite a reading value already saved", async () => {
    const { store, m } = memory();
    m.set(G, { voice: { autoRead: true }, reading: { autoRead: false } });
    expect((await store.get(G)).reading.autoRead).toBe(false);
  });
});

describe("reset by area", () => {
  it("resets several sections at once and keeps the others", async () => {
    const { store } = memory();
    await store.update(G, {
      speak: { enabled: false },
      voices: { designAccess: "moderators" },
      requests: { approvalRequired: false },
      reading: { autoRead: true },
    });
    const after = await store.reset(G, ["requests", "speak", "voices"]);
    expect(after.speak.enabled).toBe(true);
    expect(after.voices.designAccess).toBe("members");
    expect(after.requests.approvalRequired).toBe(true);
    expect(after.reading.autoRead).toBe(true);
  });
});

describe("describeSettings of some sections", () => {
  it("lists only the sections asked for, and says when no prefix is skipped", () => {
    const lines = describeSettings(GuildSettingsSchema.parse({ reading: { skipPrefixes: [] } }), ["reading"]);
    expect(lines[0]).toBe("__Auto-read__");
    expect(lines).toContain("**Not read when starting with:** *none (every message is read)*");
    expect(lines).toHaveLength(13);
  });
});
