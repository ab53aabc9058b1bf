import { Writable } from "node:stream";
import {
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  type RESTPostAPIApplicationCommandsJSONBody,
  SlashCommandBuilder,
} from "discord.js";
import { describe, expect, it } from "vitest";
import {
  compareWithRemote,
  hashDefinitions,
  type SyncCommandsOptions,
  syncCommands,
} from "../../src/discord/register-commands.ts";
import { createLogger } from "../../src/logger.ts";

const APP = "111111111111111111";
const GUILD = "222222222222222222";

function slash(name: string, description = `about ${name}`): RESTPostAPIApplicationCommandsJSONBody {
  return new SlashCommandBuilder().setName(name).setDescription(description).toJSON();
}

/** A REST stand-in that records calls and answers GET with whatever "Discord" currently holds. */
function stubRest() {
  const puts: { route: string; body: unknown }[] = [];
  const gets: string[] = [];
  const queries: (string | undefined)[] = [];
  let remote: unknown[] = [];
  return {
    puts,
    gets,
    queries,
    /** What "Discord" holds now (a function: setup() spreads this object). */
    remote: () => remote,
    setRemote(list: unknown[]) {
      remote = list;
    },
    rest: {
      async put(route: `/${string}`, options: { body: unknown }) {
        puts.push({ route, body: options.body });
        // What Discord answers: our bodies with the fields it fills in (undefined ones are never sent).
        remote = (JSON.parse(JSON.stringify(options.body)) as Record<string, unknown>[]).map((c, i) => ({
          id: String(i + 1),
          application_id: APP,
          version: "1",
          default_member_permissions: null,
          nsfw: false,
          integration_types: [0],
          ...c,
        }));
        return remote;
      },
      async get(route: `/${string}`, options?: { query?: URLSearchParams }) {
        gets.push(route);
        queries.push(options?.query?.toString());
        return remote;
      },
    },
  };
}

function memoryState() {
  const map = new Map<string, string>();
  return {
    map,
    state: { get: async (k: string) => map.get(k), set: async (k: string, v: string) => void map.set(k, v) },
  };
}

function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: "debug", destination }) };
}

function setup() {
  const r = stubRest();
  const s = memoryState();
  const l = collectingLogger();
  const sync = (over: Partial<SyncCommandsOptions> = {}) =>
    syncCommands({
      rest: r.rest,
      applicationId: APP,
      definitions: [slash("speak"), slash("voices")],
      state: s.state,
      logger: l.logger,
      ...over,
    });
  return { ...r, ...s, ...l, sync };
}

describe("syncCommands", () => {
  it("registers globally the first time and not again while nothing changes", async () => {
    const t = setup();
    expect(await t.sync()).toEqual({ changed: true, scope: "global", count: 2 });
    expect(t.puts).toHaveLength(1);
    expect(t.puts[0]?.route).toBe(`/applications/${APP}/commands`);
    expect(t.puts[0]?.body).toMatchObject([{ name: "speak" }, { name: "voices" }]);

    expect(await t.sync()).toEqual({ changed: false, scope: "global", count: 2 });
    expect(t.puts).toHaveLength(1);
    expect(t.gets).toHaveLength(0);
  });

  it("logs exactly one line per sync", async () => {
    const t = setup();
    await t.sync();
    await t.sync();
    expect(t.lines.map((l) => [l.msg, l.changed, l.count, l.scope])).toEqual([
      ["application commands registered", true, 2, "global"],
      ["application commands unchanged", false, 2, "global"],
    ]);
  });

  it("does not care in which order the commands come", async () => {
    const t = setup();
    await t.sync();
    expect((await t.sync({ definitions: [slash("voices"), slash("speak")] })).changed).toBe(false);
  });

  it("re-registers when a definition changes", async () => {
    const t = setup();
    await t.sync();
    const result = await t.sync({ definitions: [slash("speak", "a new description"), slash("voices")] });
    expect(result.changed).toBe(true);
    expect(t.puts).toHaveLength(2);
    expect((await t.sync({ definitions: [slash("speak")] })).count).toBe(1);
    expect(t.puts).toHaveLength(3);
  });

  it("registers to the guild when a guild id is given, tracked apart from the global set", async () => {
    const t = setup();
    expect(await t.sync({ guildId: GUILD })).toEqual({ changed: true, scope: `guild:${GUILD}`, count: 2 });
    expect(t.puts[0]?.route).toBe(`/applications/${APP}/guilds/${GUILD}/commands`);
    expect((await t.sync({ guildId: GUILD })).changed).toBe(false);
    // Same definitions, other scope: the global list is still empty on Discord, so it must be sent.
    expect((await t.sync()).changed).toBe(true);
    expect(t.puts.map((p) => p.route)).toEqual([
      `/applications/${APP}/guilds/${GUILD}/commands`,
      `/applications/${APP}/commands`,
    ]);
  });

  it("keys the stored hash by application, so another bot token registers its own set", async () => {
    const t = setup();
    await t.sync();
    expect((await t.sync({ applicationId: "333333333333333333" })).changed).toBe(true);
  });

  it("registers an unchanged set when forced", async () => {
    const t = setup();
    await t.sync();
    expect((await t.sync({ force: true })).changed).toBe(true);
    expect(t.puts).toHaveLength(2);
    expect(t.lines.at(-1)).toMatchObject({ msg: "application commands registered", reason: "forced" });
  });

  it("with verify, re-registers when Discord lost commands the hash says are there", async () => {
    const t = setup();
    await t.sync();
    t.setRemote(t.remote().filter((c) => (c as { name: string }).name === "voices"));
    expect((await t.sync({ verify: true })).changed).toBe(true);
    expect(t.gets).toEqual([`/applications/${APP}/commands`]);
    expect(t.queries).toEqual(["with_localizations=true"]);
    expect(t.puts).toHaveLength(2);
    expect(t.lines.at(-1)).toMatchObject({
      msg: "application commands registered",
      reason: "different on Discord",
      missing: ["speak"],
      different: [],
      extra: [],
    });
  });

  it("with verify, re-registers a new application or a wiped guild (nothing on Discord)", async () => {
    const t = setup();
    await t.sync({ guildId: GUILD });
    t.setRemote([]);
    expect((await t.sync({ guildId: GUILD, verify: true })).changed).toBe(true);
    expect(t.gets).toEqual([`/applications/${APP}/guilds/${GUILD}/commands`]);
    expect(t.lines.at(-1)).toMatchObject({ missing: ["speak", "voices"] });
  });

  it("with verify, sends nothing when Discord has our set (fields it adds, and key order, do not count)", async () => {
    const t = setup();
    await t.sync();
    t.setRemote(
      [...t.remote()].reverse().map((c) => {
        const { name, ...rest } = c as Record<string, unknown>;
        return { ...rest, version: "9", contexts: null, name };
      }),
    );
    expect((await t.sync({ verify: true })).changed).toBe(false);
    expect(t.gets).toHaveLength(1);
    expect(t.puts).toHaveLength(1);
  });

  it("with verify, re-registers a command that differs on Discord, and one Discord has that we do not", async () => {
    const t = setup();
    await t.sync();
    const remote = t.remote() as Record<string, unknown>[];
    t.setRemote([
      { ...remote[0], description: "an older description" },
      remote[1],
      { id: "9", type: 1, name: "old-command", description: "gone" },
    ]);
    expect((await t.sync({ verify: true })).changed).toBe(true);
    expect(t.lines.at(-1)).toMatchObject({
      reason: "different on Discord",
      missing: [],
      different: ["speak"],
      extra: ["old-command"],
    });
  });

  it("with verify, a GET that fails trusts the stored hash and says so", async () => {
    const t = setup();
    await t.sync();
    const failing = { ...t.rest, get: async () => Promise.reject(new Error("503 from Discord")) };
    expect((await t.sync({ rest: failing, verify: true })).changed).toBe(false);
    expect(t.puts).toHaveLength(1);
    expect(t.lines.map((l) => l.msg).slice(-2)).toEqual([
      "could not list the commands Discord has; trusting the stored hash",
      "application commands unchanged",
    ]);
  });

  it("does not store the hash when the PUT fails, so the next start tries again", async () => {
    const t = setup();
    const failing = { ...t.rest, put: async () => Promise.reject(new Error("503")) };
    await expect(t.sync({ rest: failing })).rejects.toThrow("503");
    expect(t.map.size).toBe(0);
    expect((await t.sync()).changed).toBe(true);
  });

  it("still reports success when only remembering the hash fails", async () => {
    const t = setup();
    const state = { get: async () => undefined, set: async () => Promise.reject(new Error("disk full")) };
    expect((await t.sync({ state })).changed).toBe(true);
    expect(t.lines.some((l) => l.msg === "could not store the application commands hash")).toBe(true);
  });
});

describe("compareWithRemote", () => {
  const option = (over: Record<string, unknown> = {}) => ({
    type: 3,
    name: "text",
    description: "What to say",
    required: true,
    ...over,
  });
  const local = (opts: Record<string, unknown>[] = [option()]) =>
    ({
      type: 1,
      name: "speak",
      description: "Speak",
      options: opts,
    }) as unknown as RESTPostAPIApplicationCommandsJSONBody;
  const remote = (opts: Record<string, unknown>[]) => [
    {
      id: "1",
      version: "2",
      application_id: APP,
      type: 1,
      name: "speak",
      description: "Speak",
      options: opts,
    },
  ];
  const differs = (theirs: unknown, ours = local()) => compareWithRemote(theirs, [ours]).different;

  it.each([
    ["the same option", [option()], []],
    [
      "fields Discord adds to an option",
      [option({ name_localized: "text", description_localized: "x" })],
      [],
    ],
    ["required: false sent, left out by Discord", [option({ required: undefined })], [], { required: false }],
    ["autocomplete: false sent, left out by Discord", [option()], [], { autocomplete: false }],
    ["empty choices sent, left out by Discord", [option()], [], { choices: [] }],
    ["another description", [option({ description: "Old" })], ["speak"]],
    ["required on Discord only", [option({ required: undefined })], ["speak"]],
    ["another type", [option({ type: 4 })], ["speak"]],
    [
      "a choice missing",
      [option({ choices: [{ name: "a", value: "a" }] })],
      ["speak"],
      {
        choices: [
          { name: "a", value: "a" },
          { name: "b", value: "b" },
        ],
      },
    ],
    ["an extra option on Discord", [option(), option({ name: "voice" })], ["speak"]],
    [
      "options in another order",
      [option({ name: "voice" }), option()],
      ["speak"],
      undefined,
      [option(), option({ name: "voice" })],
    ],
    ["a minimum changed", [option({ type: 10, min_value: 0.5 })], ["speak"], { type: 10, min_value: 0.25 }],
  ] as const)("%s", (_what, theirs, expected, ours?, oursList?) => {
    const mine = oursList ? [...oursList] : [option(ours ? { ...ours } : {})];
    expect(differs(remote([...theirs]), local(mine))).toEqual(expected);
  });

  it("tells missing, different and extra commands apart, by type and name", () => {
    const menu = { type: 3, name: "speak" } as RESTPostAPIApplicationCommandsJSONBody;
    const result = compareWithRemote(
      [...remote([option({ description: "Old" })]), { id: "3", type: 1, name: "help", description: "Help" }],
      [local(), menu],
    );
    expect(result).toEqual({ missing: ["speak"], different: ["speak"], extra: ["help"] });
    expect(compareWithRemote({ message: "not a list" }, [local()]).missing).toEqual(["speak"]);
  });
});

describe("hashDefinitions", () => {
  it("tells a slash command from a context menu command of the same name", () => {
    const menu = new ContextMenuCommandBuilder()
      .setName("speak")
      .setType(ApplicationCommandType.Message)
      .toJSON();
    expect(hashDefinitions([slash("speak")], "global")).not.toBe(hashDefinitions([menu], "global"));
  });

  it("ignores key order inside a definition but not option order", () => {
    const a = { name: "x", description: "d", options: [{ name: "a" }, { name: "b" }] };
    const b = { options: [{ name: "a" }, { name: "b" }], description: "d", name: "x" };
    const c = { name: "x", description: "d", options: [{ name: "b" }, { name: "a" }] };
    const hash = (d: unknown) => hashDefinitions([d as RESTPostAPIApplicationCommandsJSONBody], "global");
    expect(hash(a)).toBe(hash(b));
    expect(hash(a)).not.toBe(hash(c));
  });
});
