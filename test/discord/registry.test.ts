import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SlashCommandBuilder } from "discord.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CommandLoadError,
  createRegistry,
  isCommandFile,
  loadCommands,
  reachProblem,
} from "../../src/discord/registry.ts";

const builderImport = JSON.stringify(import.meta.resolve("discord.js"));

/** A command file as commands/ holds them: one default export with a builder and handlers. */
function commandSource(name: string, extra = ""): string {
  return `import { SlashCommandBuilder } from ${builderImport};
export default {
  data: new SlashCommandBuilder().setName(${JSON.stringify(name)}).setDescription("test ${name}"),
  async execute() {},
  ${extra}
};
`;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "commands-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(files: Record<string, string>): Promise<void> {
  for (const [name, source] of Object.entries(files)) await writeFile(join(dir, name), source);
}

describe("loadCommands", () => {
  it("discovers .ts and .js command files and skips tests, declarations and _helpers", async () => {
    await write({
      "speak.ts": commandSource("speak", "async autocomplete() {},"),
      "voices.js": commandSource("voices"),
      "_shared.ts": 'throw new Error("helpers must not be imported as commands");',
      "speak.test.ts": 'throw new Error("tests must not be imported");',
      "types.d.ts": "export type X = string;",
      "README.md": "# not code",
    });
    const registry = await loadCommands(dir);
    expect([...registry.commands.keys()]).toEqual(["speak", "voices"]);
    expect(typeof registry.commands.get("speak")?.autocomplete).toBe("function");
    expect(registry.definitions().map((d) => d.name)).toEqual(["speak", "voices"]);
    expect(registry.definitions()[0]).toMatchObject({ name: "speak", description: "test speak" });
  });

  it("accepts a file URL", async () => {
    await write({
      "ping.ts": `import { SlashCommandBuilder } from ${builderImport};
export default { data: new SlashCommandBuilder().setName("ping").setDescription("p"), async execute() {} };`,
    });
    const registry = await loadCommands(pathToFileURL(`${dir}/`));
    expect([...registry.commands.keys()]).toEqual(["ping"]);
  });

  it("refuses two files that declare the same command name, naming both", async () => {
    await write({ "a.ts": commandSource("speak"), "b.ts": commandSource("speak") });
    const err = await loadCommands(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandLoadError);
    expect((err as Error).message).toMatch(/^b\.ts: .*"speak".*a\.ts/);
  });

  it("refuses a file that exports its parts by name instead of one default export, naming it", async () => {
    await write({
      "named.ts": `import { SlashCommandBuilder } from ${builderImport};
export const data = new SlashCommandBuilder().setName("named").setDescription("x");
export async function execute() {}`,
    });
    await expect(loadCommands(dir)).rejects.toThrow(
      /^named\.ts: exports its parts by name; .*export default \{ data, execute \} satisfies CommandModule/,
    );
  });

  it("refuses a file without a default export, naming it", async () => {
    await write({ "empty.ts": "export const unrelated = 1;" });
    await expect(loadCommands(dir)).rejects.toThrow(/^empty\.ts: has no default export/);
  });

  it("refuses a module without data, naming the file", async () => {
    await write({ "broken.ts": "export default { async execute() {} };" });
    await expect(loadCommands(dir)).rejects.toThrow(/^broken\.ts: is missing "data"/);
  });

  it("refuses a module without execute, naming the file", async () => {
    await write({
      "noexec.ts": `import { SlashCommandBuilder } from ${builderImport};
export default { data: new SlashCommandBuilder().setName("noexec").setDescription("x") };`,
    });
    await expect(loadCommands(dir)).rejects.toThrow(/^noexec\.ts: is missing "execute"/);
  });

  it("refuses a handler that is not a function", async () => {
    await write({ "odd.ts": commandSource("odd", 'modal: "nope",') });
    await expect(loadCommands(dir)).rejects.toThrow(/^odd\.ts: "modal" is exported but is not a function/);
  });

  it("refuses an access declaration naming a subcommand the command does not have", async () => {
    await write({
      "guarded.ts": `import { SlashCommandBuilder } from ${builderImport};
export default {
  data: new SlashCommandBuilder().setName("guarded").setDescription("x")
    .addSubcommand((s) => s.setName("add").setDescription("a"))
    .addSubcommandGroup((g) => g.setName("words").setDescription("w")
      .addSubcommand((s) => s.setName("drop").setDescription("d"))),
  access: { subcommands: { add: { permissions: ["ManageGuild"] }, "words drop": {}, remove: {} } },
  async execute() {},
};`,
    });
    await expect(loadCommands(dir)).rejects.toThrow(
      /^guarded\.ts: "access\.subcommands" names "remove", which is not a subcommand \(they are: add, words drop\)/,
    );
  });

  it("refuses an unknown permission or requirement in an access declaration", async () => {
    await write({ "perm.ts": commandSource("perm", 'access: { permissions: ["ManageServer"] },') });
    await expect(loadCommands(dir)).rejects.toThrow(
      /^perm\.ts: "access\.permissions" names an unknown permission: ManageServer/,
    );
    await rm(join(dir, "perm.ts"));
    await write({
      "typo.ts": commandSource("typo", "access: { components: { approve: { moderators: true } } },"),
    });
    await expect(loadCommands(dir)).rejects.toThrow(
      /^typo\.ts: "access\.components\.approve\.moderators" is not an access requirement/,
    );
  });

  it("reports a builder that fails its own validation at load time", async () => {
    // No description: the builder's toJSON() throws, which would otherwise only surface at deploy.
    await write({
      "nodesc.ts": `import { SlashCommandBuilder } from ${builderImport};
export default { data: new SlashCommandBuilder().setName("nodesc"), async execute() {} };`,
    });
    await expect(loadCommands(dir)).rejects.toThrow(/^nodesc\.ts: invalid command definition/);
  });

  it("reports a file that fails to import, naming it", async () => {
    await write({ "boom.ts": 'throw new Error("kaboom");' });
    await expect(loadCommands(dir)).rejects.toThrow(/^boom\.ts: failed to import: kaboom/);
  });

  it("reports a missing folder", async () => {
    await expect(loadCommands(join(dir, "nope"))).rejects.toThrow(/cannot read the commands folder/);
  });
});

describe("createRegistry", () => {
  const command = (name: string) => ({
    data: new SlashCommandBuilder().setName(name).setDescription(name),
    execute: async () => {},
  });

  it("builds a registry from modules in hand", () => {
    const registry = createRegistry([command("a"), command("b")]);
    expect([...registry.commands.keys()]).toEqual(["a", "b"]);
  });

  it("refuses duplicates", () => {
    expect(() => createRegistry([command("a"), command("a")])).toThrow(/command #1: .*"a".*command #0/);
  });

  it("hands out copies of the definitions, so callers cannot alter the registry", () => {
    const registry = createRegistry([command("a")]);
    const first = registry.definitions();
    (first[0] as { name: string }).name = "changed";
    expect(registry.definitions()[0]?.name).toBe("a");
  });
});

describe("isCommandFile", () => {
  it.each([
    ["speak.ts", true],
    ["speak.js", true],
    ["speak.test.ts", false],
    ["speak.spec.js", false],
    ["_util.ts", false],
    ["index.d.ts", false],
    ["notes.md", false],
  ])("%s → %s", (name, expected) => {
    expect(isCommandFile(name)).toBe(expected);
  });
});

describe("reachProblem: where a command is offered agrees with its access rule", () => {
  const slash = (extra: Record<string, unknown>) =>
    ({ name: "x", description: "x", ...extra }) as unknown as Parameters<typeof reachProblem>[1];

  it.each([
    ["server only, guildOnly", { contexts: [0] }, { guildOnly: true }, undefined],
    ["everywhere, no rule", { integration_types: [0, 1], contexts: [0, 1, 2] }, undefined, undefined],
    ["DMs but guildOnly", { contexts: [0, 1] }, { guildOnly: true }, /requires a server/],
    [
      "private channels but permissions",
      { contexts: [2] },
      { permissions: ["ManageGuild"] },
      /requires a server/,
    ],
    ["private channels but moderator", { contexts: [0, 2] }, { moderator: true }, /requires a server/],
    ["an unknown install type", { integration_types: [2] }, undefined, /integration_types/],
    ["an unknown context", { contexts: [3] }, undefined, /"contexts"/],
  ] as const)("%s", (_name, definition, access, problem) => {
    const found = reachProblem(access as never, slash(definition));
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });

  it("refuses to load such a module", () => {
    const data = new SlashCommandBuilder().setName("dm").setDescription("d").setContexts(0, 1);
    expect(() => createRegistry([{ data, access: { guildOnly: true }, execute: async () => {} }])).toThrow(
      /is offered outside servers/,
    );
  });
});
