import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { RESTPostAPIApplicationCommandsJSONBody } from "discord.js";
import { accessProblem } from "./access.ts";
import type { AnyCommandModule } from "./command.ts";

/** The commands the bot knows, by name, and the definitions Discord needs to show them. */
export interface CommandRegistry<Ctx> {
  commands: ReadonlyMap<string, AnyCommandModule<Ctx>>;
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
    entries.push({ source: name, module: defaultExport(imported, name) });
  }
  return buildRegistry<Ctx>(entries);
}

/** Builds a registry from modules already in hand (tests, or an app that lists its commands itself). */
export function createRegistry<Ctx>(modules: readonly AnyCommandModule<Ctx>[]): CommandRegistry<Ctx> {
  return buildRegistry<Ctx>(modules.map((module, i) => ({ source: `command #${i}`, module })));
}

const EXPECTED_EXPORT = "export default { data, execute } satisfies CommandModule";

/**
 * A command file's default export: one object holding its parts, so the type checker sees the whole
 * module at once (`satisfies CommandModule`). Named exports alone are refused with that hint.
 */
function defaultExport(imported: unknown, source: string): unknown {
  const value = isObject(imported) ? imported.default : undefined;
  if (value !== undefined) return value;
  const named = isObject(imported) && ("data" in imported || "execute" in imported);
  throw new CommandLoadError(
    source,
    named
      ? `exports its parts by name; a command file has one default export: ${EXPECTED_EXPORT}`
      : `has no default export (${EXPECTED_EXPORT})`,
  );
}

function buildRegistry<Ctx>(entries: readonly { source: string; module: unknown }[]): CommandRegistry<Ctx> {
  const commands = new Map<string, AnyCommandModule<Ctx>>();
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
    const definition = definitionOf(command, source);
    const problem = accessProblem(command.access, definition) ?? reachProblem(command.access, definition);
    if (problem) throw new CommandLoadError(source, problem);
    definitions.push(definition);
  }
  return {
    commands,
    definitions: () => definitions.map((d) => structuredClone(d)),
  };
}

const OPTIONAL_HANDLERS = ["autocomplete", "component", "modal"] as const;

/** Checks the runtime shape a `CommandModule` must have; types cannot vouch for a dynamic import. */
export function validateCommandModule<Ctx>(value: unknown, source: string): AnyCommandModule<Ctx> {
  if (!isObject(value))
    throw new CommandLoadError(source, `its default export is not a command module (${EXPECTED_EXPORT})`);
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
  return value as unknown as AnyCommandModule<Ctx>;
}

/** Builders validate in toJSON(); calling it at load time turns a bad option into a start-up error. */
function definitionOf<Ctx>(
  command: AnyCommandModule<Ctx>,
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

/** Discord's interaction contexts (0 server, 1 the bot's DM, 2 group DMs and DMs between members). */
const OUTSIDE_SERVER_CONTEXTS = new Set([1, 2]);

/**
 * A command Discord offers outside servers must not be refused there by its own access rule (members
 * would see it in their DMs and get "servers only" every time), and a definition must not name
 * installation types or contexts Discord does not have.
 */
export function reachProblem(
  access: AnyCommandModule<unknown>["access"],
  definition: RESTPostAPIApplicationCommandsJSONBody,
): string | undefined {
  const contexts = definition.contexts ?? undefined;
  const types = definition.integration_types ?? undefined;
  if (types?.some((t) => t !== 0 && t !== 1))
    return '"integration_types" may hold only 0 (server) and 1 (user)';
  if (contexts?.some((c) => c !== 0 && !OUTSIDE_SERVER_CONTEXTS.has(c))) {
    return '"contexts" may hold only 0 (server), 1 (bot DM) and 2 (private channel)';
  }
  const outside = contexts?.some((c) => OUTSIDE_SERVER_CONTEXTS.has(c)) ?? false;
  if (outside && (access?.guildOnly || access?.moderator || (access?.permissions?.length ?? 0) > 0)) {
    return 'is offered outside servers ("contexts" has 1 or 2) but its "access" requires a server';
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
