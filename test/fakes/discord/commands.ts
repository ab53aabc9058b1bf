import { assertNoIssues, errors } from "./errors.ts";
import type { Json } from "./serialize.ts";
import { validateCommand, validateCommandList } from "./validate-commands.ts";

/**
 * Registered application commands per scope (`"global"` or a guild id). Overwriting keeps a
 * command's id when its (type, name) already existed and bumps `version` when it changed, like
 * Discord.
 */

export interface StoredCommand {
  id: string;
  application_id: string;
  version: string;
  type: number;
  name: string;
  description: string;
  guild_id?: string;
  options?: Json[];
  default_member_permissions: string | null;
  nsfw: boolean;
  [key: string]: unknown;
}

type Obj = Record<string, unknown>;

function stripUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripUndefined);
  if (typeof value === "object" && value !== null) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = stripUndefined(v);
    return out;
  }
  return value;
}

function definitionKey(c: Obj): string {
  const { id: _id, version: _version, application_id: _app, guild_id: _guild, ...rest } = c;
  return JSON.stringify(rest);
}

export class CommandRegistry {
  readonly scopes = new Map<string, StoredCommand[]>();
  readonly #applicationId: string;
  readonly #nextId: () => string;

  constructor(applicationId: string, nextId: () => string) {
    this.#applicationId = applicationId;
    this.#nextId = nextId;
  }

  list(scope: string): StoredCommand[] {
    return this.scopes.get(scope) ?? [];
  }

  #normalize(body: Obj, scope: string, previous?: StoredCommand): StoredCommand {
    const clean = stripUndefined(body) as Obj;
    const type = (clean.type as number | undefined) ?? 1;
    const normalized: StoredCommand = {
      ...clean,
      id: previous?.id ?? this.#nextId(),
      application_id: this.#applicationId,
      version: previous?.version ?? this.#nextId(),
      type,
      name: clean.name as string,
      description: type === 1 ? (clean.description as string) : "",
      default_member_permissions: (clean.default_member_permissions as string | null | undefined) ?? null,
      nsfw: (clean.nsfw as boolean | undefined) ?? false,
      ...(scope === "global"
        ? {
            integration_types: (clean.integration_types as number[] | undefined) ?? [0],
            contexts: (clean.contexts as number[] | null | undefined) ?? null,
          }
        : { guild_id: scope }),
    };
    if (type !== 1) delete normalized.options;
    if (previous && definitionKey(previous) !== definitionKey(normalized))
      normalized.version = this.#nextId();
    return normalized;
  }

  bulkOverwrite(scope: string, list: unknown): StoredCommand[] {
    assertNoIssues(validateCommandList(list));
    const old = this.list(scope);
    const next = (list as Obj[]).map((body) => {
      const type = (body.type as number | undefined) ?? 1;
      const previous = old.find((c) => c.type === type && c.name === body.name);
      return this.#normalize(body, scope, previous);
    });
    this.scopes.set(scope, next);
    return next;
  }

  /** POST: creates, or updates the command with the same (type, name). */
  create(scope: string, body: unknown): { command: StoredCommand; created: boolean } {
    assertNoIssues(validateCommand(body, []));
    const b = body as Obj;
    const type = (b.type as number | undefined) ?? 1;
    const list = [...this.list(scope)];
    const index = list.findIndex((c) => c.type === type && c.name === b.name);
    const command = this.#normalize(b, scope, index >= 0 ? list[index] : undefined);
    if (index >= 0) list[index] = command;
    else list.push(command);
    assertNoIssues(validateCommandList(list));
    this.scopes.set(scope, list);
    return { command, created: index < 0 };
  }

  get(scope: string, id: string): StoredCommand {
    const found = this.list(scope).find((c) => c.id === id);
    if (!found) throw errors.unknownCommand();
    return found;
  }

  patch(scope: string, id: string, body: unknown): StoredCommand {
    const current = this.get(scope, id);
    const merged = { ...current, ...(body as Obj) };
    const { id: _i, version: _v, application_id: _a, guild_id: _g, ...definition } = merged;
    assertNoIssues(validateCommand(definition, []));
    const updated = this.#normalize(definition, scope, current);
    this.scopes.set(
      scope,
      this.list(scope).map((c) => (c.id === id ? updated : c)),
    );
    return updated;
  }

  delete(scope: string, id: string): void {
    this.get(scope, id);
    this.scopes.set(
      scope,
      this.list(scope).filter((c) => c.id !== id),
    );
  }

  /** The command a user would invoke by this name in this guild: guild commands first, then global. */
  find(name: string, type: number, guildId: string | null): StoredCommand | undefined {
    const inGuild = guildId ? this.list(guildId).find((c) => c.name === name && c.type === type) : undefined;
    return inGuild ?? this.list("global").find((c) => c.name === name && c.type === type);
  }

  hasAny(): boolean {
    return [...this.scopes.values()].some((list) => list.length > 0);
  }

  clear(): void {
    this.scopes.clear();
  }
}
