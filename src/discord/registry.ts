import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RESTPostAPIApplicationCommandsJSONBody } from "discord.js";
import type { CommandModule } from "./command.ts";

/** The commands the bot knows, by name, and the definitions Discord needs to show them. */
export interface CommandRegistry<Ctx> {
  commands: ReadonlyMap<string, CommandModule<Ctx>>;
  /** One JSON body per command, ready for `PUT /applications/{app}/commands`. */
  definitions(): RESTPostAPIApplicationCommandsJSONBody[];
}

/** A command file that cannot be used; the message always names the file. */
export class CommandLoadError extends Error {
  readonly source: string;
  constructor(source: string, problem: string, options?: { cause?: unknown }) {
    super(`${source}: ${problem}`, options);
    this.name = "CommandLoadError";
    this.source = source;
  }
}

const COMMAND_FILE = /\.(ts|js|mts|mjs)$/;
const SKIPPED_FILE = /(\.d\.[cm]?ts|\.(test|spec)\.[cm]?[jt]s)$/;

/** Which files in a commands folder are commands: sources, minus tests, declarations and `_helpers`. */
export function isCommandFile(fileName: string): boolean {
  return COMMAND_FILE.test(fileName) && !SKIPPED_FILE.test(fileName) && !fileName.startsWith("_");
}

/**
 * Imports every command file in `dir` (not recursively: one file per command keeps ownership obvious).
 * Files load in name order so errors and definitions come out the same on every machine.
 */
export async function loadCommands<Ctx>(dir: string | URL): Promise<CommandRegistry<Ctx>> {
  const folder = typeof dir === "string" ? resolve(dir) : fileURLToPath(dir);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (err) {
    throw new CommandLoadError(folder, "cannot read the commands folder", { cause: err });
  }
  const entries: { source: string; module: unknown }[] = [];
  for (const name of names.filter(isCommandFile).sort()) {
    const file = join(folder, name);
    if (!(await stat(file)).isFile()) continue;
    let imported: unknown;
    try {
      imported = await import(pathToFileURL(file).href);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new CommandLoadError(name, `failed to import: ${reason}`, { cause: err });
    }
    entries.push({ source: name, module: pickExport(imported) });
  }
  return buildRegistry<Ctx>(entries);
}

/** Builds a registry from modules already in hand (tests, or an app that lists its commands itself). */
export function createRegistry<Ctx>(modules: readonly CommandModule<Ctx>[]): CommandRegistry<Ctx> {
  return buildRegistry<Ctx>(modules.map((module, i) => ({ source: `command #${i}`, module })));
}

/**
 * A file may either export the parts (`export const data`, `export async function execute`) or one
 * default object holding them; both are common in discord.js guides.
 */
function pickExport(imported: unknown): unknown {
  if (isObject(imported) && !("data" in imported) && isObject(imported.default)) return imported.default;
  return imported;
}

function buildRegistry<Ctx>(entries: readonly { source: string; module: unknown }[]): CommandRegistry<Ctx> {
  const commands = new Map<string, CommandModule<Ctx>>();
  const sources = new Map<string, string>();
  const definitions: RESTPostAPIApplicationCommandsJSONBody[] = [];
  for (const { source, module } of entries) {
    const command = validateCommandModule<Ctx>(module, source);
    const name = command.data.name;
    const previous = sources.get(name);
    if (previous !== undefined) {
      // Interactions and custom ids are routed by name alone, so even a slash command and a context
      // menu command (which Discord would allow to share a name) must not.
      throw new CommandLoadError(
        source,
        `declares the command "${name}", which ${previous} already declares`,
      );
    }
    sources.set(name, source);
    commands.set(name, command);
    definitions.push(definitionOf(command, source));
  }
  return {
    commands,
    definitions: () => definitions.map((d) => structuredClone(d)),
  };
}

const OPTIONAL_HANDLERS = ["autocomplete", "component", "modal"] as const;

/** Checks the runtime shape a `CommandModule` must have; types cannot vouch for a dynamic import. */
export function validateCommandModule<Ctx>(value: unknown, source: string): CommandModule<Ctx> {
  if (!isObject(value)) throw new CommandLoadError(source, "does not export a command module");
  const data = value.data;
  if (!isObject(data)) {
    throw new CommandLoadError(
      source,
      'is missing "data" (a SlashCommandBuilder or ContextMenuCommandBuilder)',
    );
  }
  if (typeof data.name !== "string" || data.name === "") {
    throw new CommandLoadError(source, '"data" has no command name (call setName on the builder)');
  }
  if (typeof data.toJSON !== "function") {
    throw new CommandLoadError(source, '"data" has no toJSON(); export the builder itself');
  }
  if (typeof value.execute !== "function") {
    throw new CommandLoadError(source, 'is missing "execute" (the function that handles the command)');
  }
  for (const handler of OPTIONAL_HANDLERS) {
    if (value[handler] !== undefined && typeof value[handler] !== "function") {
      throw new CommandLoadError(source, `"${handler}" is exported but is not a function`);
    }
  }
  return value as unknown as CommandModule<Ctx>;
}

/** Builders validate in toJSON(); calling it at load time turns a bad option into a start-up error. */
function definitionOf<Ctx>(
  command: CommandModule<Ctx>,
  source: string,
): RESTPostAPIApplicationCommandsJSONBody {
  let json: RESTPostAPIApplicationCommandsJSONBody;
  try {
    json = command.data.toJSON();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CommandLoadError(source, `invalid command definition: ${reason}`, { cause: err });
  }
  if (json.name !== command.data.name) {
    throw new CommandLoadError(
      source,
      `data.name "${command.data.name}" differs from toJSON().name "${json.name}"`,
    );
  }
  return json;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
