import { createHash } from "node:crypto";
import { type RESTPostAPIApplicationCommandsJSONBody, Routes } from "discord.js";
import type { Logger } from "../logger.ts";

/** The two REST calls registration needs; discord.js `REST` (or `client.rest`) fits as is. */
export interface CommandsRest {
  put(route: `/${string}`, options: { body: unknown }): Promise<unknown>;
  get(route: `/${string}`, options?: { query?: URLSearchParams }): Promise<unknown>;
}

/** Where the hash of the last registered set is kept (a Keyv namespace, a file, a Map in tests). */
export interface CommandSyncState {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
}

/**
 * Sync state kept in the bot's storage (Keyv), shared by the bot and `npm run deploy-commands`, so a
 * manual deployment is not repeated at the next start.
 */
export function keyvSyncState(kv: {
  get(key: string): Promise<string | undefined | null>;
  set(key: string, value: string): Promise<unknown>;
}): CommandSyncState {
  return {
    get: async (key) => (await kv.get(key)) ?? undefined,
    set: async (key, value) => {
      await kv.set(key, value);
    },
  };
}

export interface SyncCommandsOptions {
  rest: CommandsRest;
  applicationId: string;
  /** Register to this guild only (instant, for development); globally when absent. */
  guildId?: string | undefined;
  definitions: readonly RESTPostAPIApplicationCommandsJSONBody[];
  state: CommandSyncState;
  logger: Logger;
  /** Register even when nothing changed. */
  force?: boolean;
  /**
   * Also ask Discord which commands it has (one GET) and register when they differ from ours, whatever
   * the stored hash says: a new application, a wiped guild, commands removed by hand, or another copy
   * of the bot that registered a different set.
   */
  verify?: boolean;
}

export type CommandScope = "global" | `guild:${string}`;

export interface SyncResult {
  changed: boolean;
  scope: CommandScope;
  count: number;
}

/**
 * Bulk-overwrites the application's commands only when they differ from what was registered last.
 * Discord rate-limits command creation (200 a day per guild), and an overwrite on every start would
 * also make the client UI flicker, so an unchanged set costs no request at all.
 */
export async function syncCommands(opts: SyncCommandsOptions): Promise<SyncResult> {
  const { rest, applicationId, guildId, definitions, state, logger } = opts;
  const scope: CommandScope = guildId ? `guild:${guildId}` : "global";
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  // The application id is part of the key so a token for another bot never inherits a stale hash.
  const key = `discord:commands:${applicationId}:${scope}`;
  const hash = hashDefinitions(definitions, scope);
  const count = definitions.length;

  let reason: "forced" | "changed" | "different on Discord" | undefined;
  let difference: CommandsDifference | undefined;
  if (opts.force) reason = "forced";
  else if ((await state.get(key)) !== hash) reason = "changed";
  else if (opts.verify) {
    difference = await remoteDifference(rest, route, definitions, scope, logger);
    if (difference) reason = "different on Discord";
  }

  if (reason === undefined) {
    logger.info({ scope, count, changed: false }, "application commands unchanged");
    return { changed: false, scope, count };
  }

  await rest.put(route, { body: definitions });
  try {
    await state.set(key, hash);
  } catch (err) {
    // The commands are registered; failing to remember it only costs one extra overwrite next time.
    logger.warn({ err, scope }, "could not store the application commands hash");
  }
  logger.info({ scope, count, changed: true, reason, ...difference }, "application commands registered");
  return { changed: true, scope, count };
}

/** Which of our commands Discord lacks or holds in another form, and which of its commands we lack. */
export interface CommandsDifference {
  missing: string[];
  different: string[];
  extra: string[];
}

/** One GET; undefined when Discord has our set. A failed GET trusts the stored hash (and says so). */
async function remoteDifference(
  rest: CommandsRest,
  route: `/${string}`,
  definitions: readonly RESTPostAPIApplicationCommandsJSONBody[],
  scope: CommandScope,
  logger: Logger,
): Promise<CommandsDifference | undefined> {
  let remote: unknown;
  try {
    // With their localizations, so that a definition with some compares equal to what Discord holds.
    remote = await rest.get(route, { query: new URLSearchParams({ with_localizations: "true" }) });
  } catch (err) {
    logger.warn({ err, scope }, "could not list the commands Discord has; trusting the stored hash");
    return undefined;
  }
  const difference = compareWithRemote(remote, definitions);
  const same =
    difference.missing.length === 0 && difference.different.length === 0 && difference.extra.length === 0;
  return same ? undefined : difference;
}

/**
 * Compares Discord's list with ours. A command matches by (type, name); its body matches when every
 * field we send has the same value on Discord. Fields Discord adds (ids, versions, defaults such as
 * `nsfw` or `integration_types`) do not count, fields we leave undefined are not sent so do not count
 * either, and a `false`, `null` or empty value we send matches one Discord leaves out.
 */
export function compareWithRemote(
  remote: unknown,
  local: readonly RESTPostAPIApplicationCommandsJSONBody[],
): CommandsDifference {
  const list = Array.isArray(remote) ? remote : [];
  const keyOf = (c: unknown) => {
    const o = (typeof c === "object" && c !== null ? c : {}) as { type?: unknown; name?: unknown };
    return `${String(o.type ?? 1)}:${String(o.name)}`;
  };
  const remoteByKey = new Map(list.map((c: unknown) => [keyOf(c), c]));
  const localKeys = new Set(local.map(keyOf));
  const missing: string[] = [];
  const different: string[] = [];
  for (const command of local) {
    const theirs = remoteByKey.get(keyOf(command));
    if (theirs === undefined) missing.push(command.name);
    else if (!covers(theirs, command)) different.push(command.name);
  }
  const extra = list
    .filter((c: unknown) => !localKeys.has(keyOf(c)))
    .map((c: unknown) => String((c as { name?: unknown } | null)?.name));
  return { missing, different, extra };
}

function isBlank(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === "object" && Object.values(v).every(isBlank);
}

/** True when `remote` has every value `local` sends (see compareWithRemote). */
function covers(remote: unknown, local: unknown): boolean {
  if (isBlank(local)) return isBlank(remote);
  if (Array.isArray(local)) {
    return (
      Array.isArray(remote) && remote.length === local.length && local.every((v, i) => covers(remote[i], v))
    );
  }
  if (typeof local === "object" && local !== null) {
    if (typeof remote !== "object" || remote === null || Array.isArray(remote)) return false;
    const theirs = remote as Record<string, unknown>;
    return Object.entries(local).every(([k, v]) => v === undefined || covers(theirs[k], v));
  }
  return remote === local;
}

/**
 * A stable digest of a command set: object keys sorted and commands ordered by type and name, so the
 * same set always hashes the same whatever order files were loaded or builders set fields. Option
 * order inside a command is kept: Discord shows options in that order.
 */
export function hashDefinitions(
  definitions: readonly RESTPostAPIApplicationCommandsJSONBody[],
  scope: CommandScope,
): string {
  const ordered = [...definitions].sort((a, b) => {
    const byType = (a.type ?? 1) - (b.type ?? 1);
    return byType !== 0 ? byType : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  return createHash("sha256")
    .update(canonicalJson({ scope, commands: ordered }))
    .digest("hex");
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}
