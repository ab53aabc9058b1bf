import type { StoredCommand } from "./commands.ts";
import { apiChannel, apiMember, apiRole, apiUser, type Json } from "./serialize.ts";
import type { FakeState } from "./state.ts";
import { attachmentContentType, sanitizeFilename } from "./validate-message.ts";
import { permissionsIn } from "./world.ts";

/**
 * Turns test-friendly option values (`{ text: "hi", speed: 1.5 }`) into Discord's interaction
 * options + `resolved`, using the registered command definition to pick exact option types and to
 * refuse what the Discord client would never send (unknown options, missing required ones, values
 * outside choices/min/max/length).
 */

/** A file a user attaches to an ATTACHMENT option. */
export interface FakeUpload {
  filename: string;
  data: Uint8Array | string;
  contentType?: string;
}

export type OptionValue =
  | string
  | number
  | boolean
  | FakeUpload
  | { user: string }
  | { channel: string }
  | { role: string }
  | { mentionable: string }
  /** Explicit type, e.g. `{ type: 10, value: 1 }` for a NUMBER option whose value is whole. */
  | { type: number; value: unknown };

export interface RawOption {
  name: string;
  type: number;
  value?: unknown;
  options?: RawOption[];
  focused?: boolean;
}

type Obj = Record<string, unknown>;
type DefOption = Obj & { name: string; type: number };

export const OPTION_TYPES = {
  SUB_COMMAND: 1,
  SUB_COMMAND_GROUP: 2,
  STRING: 3,
  INTEGER: 4,
  BOOLEAN: 5,
  USER: 6,
  CHANNEL: 7,
  ROLE: 8,
  MENTIONABLE: 9,
  NUMBER: 10,
  ATTACHMENT: 11,
} as const;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function isUpload(v: unknown): v is FakeUpload {
  return (
    isObj(v) && typeof v.filename === "string" && (typeof v.data === "string" || v.data instanceof Uint8Array)
  );
}

function inferType(value: unknown): number {
  if (typeof value === "string") return 3;
  if (typeof value === "boolean") return 5;
  if (typeof value === "number") return Number.isInteger(value) ? 4 : 10;
  if (isUpload(value)) return 11;
  if (isObj(value)) {
    if (typeof value.type === "number" && "value" in value) return value.type;
    if (typeof value.user === "string") return 6;
    if (typeof value.channel === "string") return 7;
    if (typeof value.role === "string") return 8;
    if (typeof value.mentionable === "string") return 9;
  }
  throw new Error(`fake discord: cannot infer an option type for ${JSON.stringify(value)}`);
}

function unwrap(value: unknown): unknown {
  if (isObj(value) && !isUpload(value)) {
    if ("value" in value && typeof value.type === "number") return value.value;
    for (const key of ["user", "channel", "role", "mentionable"])
      if (typeof value[key] === "string") return value[key];
  }
  return value;
}

export interface ResolvedBuilder {
  resolved: {
    users?: Record<string, Json>;
    members?: Record<string, Json>;
    roles?: Record<string, Json>;
    channels?: Record<string, Json>;
    attachments?: Record<string, Json>;
    messages?: Record<string, Json>;
  };
}

export function addResolvedUser(
  state: FakeState,
  r: ResolvedBuilder,
  userId: string,
  channelId: string,
): void {
  const world = state.world;
  if (!world.users.has(userId)) throw new Error(`fake discord: unknown user ${userId}`);
  r.resolved.users ??= {};
  r.resolved.users[userId] = apiUser(world, userId);
  if (world.members.has(userId)) {
    r.resolved.members ??= {};
    r.resolved.members[userId] = {
      ...apiMember(world, userId, { withUser: false }),
      permissions: permissionsIn(world, userId, channelId).toString(),
    };
  }
}

function addResolvedChannel(
  state: FakeState,
  r: ResolvedBuilder,
  channelId: string,
  invokerId: string,
): void {
  const channel = state.world.channels.get(channelId);
  if (!channel) throw new Error(`fake discord: unknown channel ${channelId}`);
  const full = apiChannel(state.world, channel, { permissionsFor: invokerId });
  delete full.permission_overwrites;
  r.resolved.channels ??= {};
  r.resolved.channels[channelId] = full;
}

function addResolvedRole(state: FakeState, r: ResolvedBuilder, roleId: string): void {
  const role = state.world.roles.get(roleId);
  if (!role) throw new Error(`fake discord: unknown role ${roleId}`);
  r.resolved.roles ??= {};
  r.resolved.roles[roleId] = apiRole(role);
}

/** Stores the upload's bytes (served by the fake) and returns the attachment id. */
export function addResolvedAttachment(
  state: FakeState,
  r: ResolvedBuilder,
  upload: FakeUpload,
  channelId: string,
): string {
  const id = state.world.nextId();
  const bytes = Buffer.from(upload.data);
  const filename = sanitizeFilename(upload.filename);
  const contentType = attachmentContentType(filename, upload.contentType ?? "");
  state.store.attachmentBytes.set(id, { bytes, channelId, ...(contentType ? { contentType } : {}) });
  const url = `${state.baseUrl}/ephemeral-attachments/${channelId}/${id}/${filename}`;
  r.resolved.attachments ??= {};
  r.resolved.attachments[id] = {
    id,
    filename,
    size: bytes.length,
    url,
    proxy_url: url,
    ...(contentType ? { content_type: contentType } : {}),
    ephemeral: true,
  };
  return id;
}

function fail(command: string, message: string): never {
  throw new Error(`fake discord: /${command}: ${message}`);
}

function checkValue(
  command: string,
  def: DefOption | undefined,
  type: number,
  name: string,
  value: unknown,
): void {
  const where = `option "${name}"`;
  switch (type) {
    case 3: {
      if (typeof value !== "string") fail(command, `${where} must be a string`);
      const length = [...value].length;
      const max = typeof def?.max_length === "number" ? def.max_length : 6000;
      const min = typeof def?.min_length === "number" ? def.min_length : 0;
      if (length > max || length < min)
        fail(command, `${where} must be ${min}–${max} characters (got ${length})`);
      break;
    }
    case 4:
      if (typeof value !== "number" || !Number.isInteger(value)) fail(command, `${where} must be an integer`);
      break;
    case 10:
      if (typeof value !== "number" || !Number.isFinite(value)) fail(command, `${where} must be a number`);
      break;
    case 5:
      if (typeof value !== "boolean") fail(command, `${where} must be a boolean`);
      break;
  }
  if ((type === 4 || type === 10) && def) {
    if (typeof def.min_value === "number" && (value as number) < def.min_value)
      fail(command, `${where} is below min_value ${def.min_value}`);
    if (typeof def.max_value === "number" && (value as number) > def.max_value)
      fail(command, `${where} is above max_value ${def.max_value}`);
  }
  if (def && Array.isArray(def.choices) && def.choices.length > 0) {
    if (!(def.choices as Obj[]).some((c) => c.value === value))
      fail(
        command,
        `${where} must be one of the choices ${JSON.stringify((def.choices as Obj[]).map((c) => c.value))}`,
      );
  }
}

export interface BuildOptionsInput {
  state: FakeState;
  commandName: string;
  def?: StoredCommand;
  subcommandGroup?: string;
  subcommand?: string;
  options?: Record<string, OptionValue> | RawOption[];
  /** Autocomplete: the focused option's name. */
  focused?: string;
  mode: "command" | "autocomplete";
  invokerId: string;
  channelId: string;
  resolved?: Json;
}

export function buildOptions(input: BuildOptionsInput): {
  options: RawOption[];
  resolved: ResolvedBuilder["resolved"];
  focusedType?: number;
} {
  const { state, def, commandName } = input;
  const r: ResolvedBuilder = { resolved: { ...((input.resolved as ResolvedBuilder["resolved"]) ?? {}) } };
  let leafDefs = def ? ((def.options ?? []) as DefOption[]) : undefined;
  if (leafDefs) {
    const hasSubs = leafDefs.some((o) => o.type === 1 || o.type === 2);
    if (hasSubs && !input.subcommand)
      fail(commandName, `needs a subcommand: ${leafDefs.map((o) => o.name).join(", ")}`);
    if (input.subcommandGroup) {
      const group = leafDefs.find((o) => o.type === 2 && o.name === input.subcommandGroup);
      if (!group) fail(commandName, `unknown subcommand group "${input.subcommandGroup}"`);
      leafDefs = (group.options ?? []) as DefOption[];
    }
    if (input.subcommand) {
      const sub = leafDefs.find((o) => o.type === 1 && o.name === input.subcommand);
      if (!sub) fail(commandName, `unknown subcommand "${input.subcommand}"`);
      leafDefs = (sub.options ?? []) as DefOption[];
    }
  }

  let leaf: RawOption[];
  let focusedType: number | undefined;
  if (Array.isArray(input.options)) {
    leaf = input.options;
    focusedType = leaf.find((o) => o.focused)?.type;
  } else {
    const entries = Object.entries(input.options ?? {});
    if (input.mode === "autocomplete" && input.focused && !entries.some(([n]) => n === input.focused)) {
      entries.push([input.focused, ""]);
    }
    leaf = entries.map(([name, raw]) => {
      const optDef = leafDefs?.find((o) => o.name === name);
      if (leafDefs && !optDef)
        fail(
          commandName,
          `unknown option "${name}" (has: ${leafDefs.map((o) => o.name).join(", ") || "none"})`,
        );
      const explicit =
        isObj(raw) && !isUpload(raw) && typeof (raw as Obj).type === "number"
          ? ((raw as Obj).type as number)
          : undefined;
      const type = explicit ?? optDef?.type ?? inferType(raw);
      if (optDef && optDef.type !== type)
        fail(commandName, `option "${name}" has type ${optDef.type}, not ${type}`);
      const focused = input.mode === "autocomplete" && name === input.focused;
      if (focused) {
        if (optDef && optDef.autocomplete !== true)
          fail(commandName, `option "${name}" does not autocomplete`);
        focusedType = type;
        return { name, type, value: unwrap(raw), focused: true };
      }
      let value = unwrap(raw);
      switch (type) {
        case 6:
          addResolvedUser(state, r, String(value), input.channelId);
          break;
        case 7: {
          addResolvedChannel(state, r, String(value), input.invokerId);
          const types = optDef?.channel_types;
          const channelType = state.world.channels.get(String(value))?.type;
          if (Array.isArray(types) && types.length > 0 && !types.includes(channelType))
            fail(commandName, `option "${name}" only accepts channel types ${JSON.stringify(types)}`);
          break;
        }
        case 8:
          addResolvedRole(state, r, String(value));
          break;
        case 9:
          if (state.world.roles.has(String(value))) addResolvedRole(state, r, String(value));
          else addResolvedUser(state, r, String(value), input.channelId);
          break;
        case 11:
          if (!isUpload(raw)) fail(commandName, `option "${name}" needs { filename, data }`);
          value = addResolvedAttachment(state, r, raw, input.channelId);
          break;
        default:
          if (input.mode === "command") checkValue(commandName, optDef, type, name, value);
      }
      return { name, type, value };
    });
    if (input.mode === "command" && leafDefs) {
      for (const o of leafDefs) {
        if (o.required === true && !leaf.some((l) => l.name === o.name))
          fail(commandName, `required option "${o.name}" is missing`);
      }
    }
  }
  let options = leaf;
  if (input.subcommand) options = [{ name: input.subcommand, type: 1, options: leaf }];
  if (input.subcommandGroup) options = [{ name: input.subcommandGroup, type: 2, options }];
  return { options, resolved: r.resolved, ...(focusedType !== undefined ? { focusedType } : {}) };
}
