import { createHash } from "node:crypto";
import { type RESTPostAPIApplicationCommandsJSONBody, Routes } from "discord.js";
import type { Logger } from "../logger.ts";

/** The two REST calls registration needs; discord.js `REST` (or `client.rest`) fits as is. */
export interface CommandsRest {
  put(route: `/${string}`, options: { body: unknown }): Promise<unknown>;
  get(route: `/${string}`): Promise<unknown>;
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
   * Also ask Discord which commands it has (one GET) and register when the names differ from ours,
   * e.g. after someone removed them by hand or another copy of the bot registered a different set.
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

  let reason: "forced" | "changed" | "missing on Discord" | undefined;
  if (opts.force) reason = "forced";
  else if ((await state.get(key)) !== hash) reason = "changed";
  else if (opts.verify && !sameNames(await rest.get(route), definitions)) reason = "missing on Discord";

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
  logger.info({ scope, count, changed: true, reason }, "application commands registered");
  return { changed: true, scope, count };
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

/**
 * Only compares (type, name) pairs: Discord fills in defaults and ids, so comparing whole bodies would
 * need a model of every default. A changed option under an unchanged name is caught by the hash instead.
 */
function sameNames(remote: unknown, local: readonly RESTPostAPIApplicationCommandsJSONBody[]): boolean {
  if (!Array.isArray(remote)) return false;
  const keyOf = (c: { type?: unknown; name?: unknown }) => `${String(c.type ?? 1)}:${String(c.name)}`;
  const remoteKeys = remote.map((c: unknown) => keyOf(typeof c === "object" && c !== null ? c : {})).sort();
  const localKeys = local.map(keyOf).sort();
  return remoteKeys.length === localKeys.length && remoteKeys.every((k, i) => k === localKeys[i]);
}
