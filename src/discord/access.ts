import {
  ApplicationCommandOptionType,
  type Interaction,
  PermissionFlagsBits,
  type PermissionsString,
  type RESTPostAPIApplicationCommandsJSONBody,
} from "discord.js";
import { UserFacingError } from "../user-facing-error.ts";
import { callerVoiceChannel, roleIdsOf } from "./actor.ts";
import { parseCustomId } from "./command.ts";

/**
 * Who may use what, declared by each command module (`access`) and enforced here, once, for slash
 * commands, context menus, autocomplete, buttons, selects and form submits alike, before the handler
 * runs. A refusal is a private sentence naming what is missing.
 *
 * Rules that depend on a record (the requester may cancel their own request, a job's moderator must be
 * of the job's server) are not access rules: the domain services check those.
 */

/** What one interaction needs; every requirement that is set must hold. */
export interface AccessRule {
  /** Only inside a server. Implied by every other requirement. */
  guildOnly?: boolean;
  /** Discord permissions the member must have where the interaction happens (`memberPermissions`). */
  permissions?: readonly PermissionsString[];
  /** A moderator of this server: Manage Server, or the server's moderator role (`requests.moderatorRoleId`). */
  moderator?: boolean;
  /**
   * Acts on what the bot plays: the member must be in the voice channel the bot is in here, or have
   * Move Members. Refused when the bot is in no voice channel.
   */
  inBotVoiceChannel?: boolean;
}

/**
 * A command's declaration: a rule for everything the command handles, plus rules that add to it for
 * one subcommand (and its autocomplete), one component action or one form action.
 */
export interface CommandAccess extends AccessRule {
  /** By subcommand: `"add"`, or `"group sub"` inside a group. */
  subcommands?: Readonly<Record<string, AccessRule>>;
  /** By a button's or select's custom id action (`customId(command, action, …)`). */
  components?: Readonly<Record<string, AccessRule>>;
  /** By a form's custom id action. */
  modals?: Readonly<Record<string, AccessRule>>;
}

/** What the checks read besides the interaction; BotContext provides both. */
export interface AccessContext {
  guildSettings: { get(guildId: string): Promise<{ requests: { moderatorRoleId?: string | undefined } }> };
  voice: { status(guildId: string): { voiceChannelId: string } | undefined };
}

export const NOT_IN_VOICE_MESSAGE = "I am not in a voice channel.";

export type AccessRequirement = "guild" | "permissions" | "moderator" | "voice";

/** A refusal by an access rule; the dispatcher answers it privately and logs it as rejected. */
export class AccessDeniedError extends UserFacingError {
  readonly requirement: AccessRequirement;
  constructor(message: string, requirement: AccessRequirement) {
    super(message);
    this.name = "AccessDeniedError";
    this.requirement = requirement;
  }
}

/** Throws an AccessDeniedError when the interaction does not meet the command's declaration. */
export async function enforceAccess(
  interaction: Interaction,
  access: CommandAccess | undefined,
  ctx: AccessContext,
): Promise<void> {
  const rule = ruleFor(access, interaction);
  if (!rule) return;
  const refusal = await refusalOf(interaction, rule, ctx);
  if (refusal) throw refusal;
}

/** Whether the member meets `rule`, for handlers that show more to some members (`/usage`'s top list). */
export async function allows(
  interaction: Interaction,
  rule: AccessRule,
  ctx: AccessContext,
): Promise<boolean> {
  return (await refusalOf(interaction, rule, ctx)) === undefined;
}

/**
 * The server of an interaction whose command is declared `guildOnly`: the dispatcher has refused DMs
 * already, so this only narrows the type (and refuses the same way if the declaration is missing).
 */
export function guildIdOf(interaction: Interaction): string {
  if (interaction.guildId) return interaction.guildId;
  throw new AccessDeniedError(guildOnlyMessage(interaction), "guild");
}

/** The rule for this interaction: the command's own, plus its subcommand's or action's. */
export function ruleFor(access: CommandAccess | undefined, interaction: Interaction): AccessRule | undefined {
  if (!access) return undefined;
  let specific: AccessRule | undefined;
  if (interaction.isChatInputCommand() || interaction.isAutocomplete()) {
    const path = subcommandPath(interaction);
    specific = path === undefined ? undefined : access.subcommands?.[path];
  } else if (interaction.isMessageComponent()) {
    specific = access.components?.[parseCustomId(interaction.customId).action];
  } else if (interaction.isModalSubmit()) {
    specific = access.modals?.[parseCustomId(interaction.customId).action];
  }
  return specific ? combine(access, specific) : access;
}

function combine(a: AccessRule, b: AccessRule): AccessRule {
  return {
    guildOnly: Boolean(a.guildOnly || b.guildOnly),
    permissions: [...new Set([...(a.permissions ?? []), ...(b.permissions ?? [])])],
    moderator: Boolean(a.moderator || b.moderator),
    inBotVoiceChannel: Boolean(a.inBotVoiceChannel || b.inBotVoiceChannel),
  };
}

async function refusalOf(
  interaction: Interaction,
  rule: AccessRule,
  ctx: AccessContext,
): Promise<AccessDeniedError | undefined> {
  const needsGuild =
    rule.guildOnly || (rule.permissions?.length ?? 0) > 0 || rule.moderator || rule.inBotVoiceChannel;
  if (!needsGuild) return undefined;
  const guildId = interaction.guildId;
  if (!guildId) return new AccessDeniedError(guildOnlyMessage(interaction), "guild");

  const missing = (rule.permissions ?? []).filter(
    (name) => !interaction.memberPermissions?.has(PermissionFlagsBits[name]),
  );
  if (missing.length > 0) {
    const names = listOf(missing.map(permissionName));
    const noun = missing.length === 1 ? "permission" : "permissions";
    return new AccessDeniedError(`You need the ${names} ${noun} to use ${what(interaction)}.`, "permissions");
  }

  if (rule.moderator && !interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    const role = (await ctx.guildSettings.get(guildId)).requests.moderatorRoleId;
    if (role === undefined || !roleIdsOf(interaction.member).includes(role)) {
      const who =
        role === undefined
          ? "the Manage Server permission (a server manager can also name a moderator role with /settings set moderator_role)"
          : `the Manage Server permission or the <@&${role}> role`;
      return new AccessDeniedError(
        `Only moderators can use ${what(interaction)}: it takes ${who}.`,
        "moderator",
      );
    }
  }

  if (rule.inBotVoiceChannel) {
    const status = ctx.voice.status(guildId);
    if (!status) return new AccessDeniedError(NOT_IN_VOICE_MESSAGE, "voice");
    const moves = interaction.memberPermissions?.has(PermissionFlagsBits.MoveMembers) ?? false;
    const inChannel = callerVoiceChannel(interaction)?.id === status.voiceChannelId;
    if (!moves && !inChannel) {
      // Skip, stop and leave act on what everyone in the channel hears.
      return new AccessDeniedError(
        `Only members in <#${status.voiceChannelId}> (or with Move Members) can control what I play there.`,
        "voice",
      );
    }
  }
  return undefined;
}

function subcommandPath(interaction: {
  options: {
    getSubcommandGroup(required?: boolean): string | null;
    getSubcommand(required?: boolean): string | null;
  };
}): string | undefined {
  const group = interaction.options.getSubcommandGroup(false);
  const sub = interaction.options.getSubcommand(false);
  if (!sub) return undefined;
  return group ? `${group} ${sub}` : sub;
}

/** What the member tried to use, as the refusal names it: "/pronounce add", "“Read aloud”", "this button". */
function what(interaction: Interaction): string {
  if (interaction.isChatInputCommand() || interaction.isAutocomplete()) {
    const path = subcommandPath(interaction);
    return `/${interaction.commandName}${path ? ` ${path}` : ""}`;
  }
  if (interaction.isContextMenuCommand()) return `“${interaction.commandName}”`;
  if (interaction.isButton()) return "this button";
  if (interaction.isAnySelectMenu()) return "this menu";
  if (interaction.isModalSubmit()) return "this form";
  return "this";
}

function guildOnlyMessage(interaction: Interaction): string {
  const subject = what(interaction);
  return `${subject[0]?.toUpperCase()}${subject.slice(1)} works in servers only, not in direct messages.`;
}

/** Discord's own names where they differ from the flag's ("ManageGuild" is "Manage Server"). */
const PERMISSION_NAMES: Partial<Record<PermissionsString, string>> = {
  ManageGuild: "Manage Server",
  ManageGuildExpressions: "Manage Expressions",
  SendTTSMessages: "Send Text-to-Speech Messages",
  UseVAD: "Use Voice Activity",
  ViewGuildInsights: "View Server Insights",
};

export function permissionName(flag: PermissionsString): string {
  return PERMISSION_NAMES[flag] ?? flag.replace(/([a-z])([A-Z])/g, "$1 $2");
}

function listOf(items: readonly string[]): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

const RULE_KEYS = new Set(["guildOnly", "permissions", "moderator", "inBotVoiceChannel"]);
const TABLES = ["subcommands", "components", "modals"] as const;

/**
 * What is wrong with a module's `access`, checked when commands load (types cannot vouch for a
 * dynamic import): unknown keys, unknown permissions, and subcommands the definition does not have.
 */
export function accessProblem(
  access: unknown,
  definition: RESTPostAPIApplicationCommandsJSONBody,
): string | undefined {
  if (access === undefined) return undefined;
  if (!isRecord(access)) return '"access" must be an object';
  for (const [key, value] of Object.entries(access)) {
    if ((TABLES as readonly string[]).includes(key)) continue;
    const problem = ruleProblem(key, value);
    if (problem) return problem;
  }
  const subcommands = new Set(subcommandPaths(definition));
  for (const table of TABLES) {
    const entries = access[table];
    if (entries === undefined) continue;
    if (!isRecord(entries)) return `"access.${table}" must be an object`;
    for (const [name, rule] of Object.entries(entries)) {
      if (table === "subcommands" && !subcommands.has(name)) {
        const known = [...subcommands].join(", ") || "none";
        return `"access.subcommands" names "${name}", which is not a subcommand (they are: ${known})`;
      }
      if (!isRecord(rule)) return `"access.${table}.${name}" must be an object`;
      for (const [key, value] of Object.entries(rule)) {
        const problem = ruleProblem(key, value, `access.${table}.${name}.`);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}

function ruleProblem(key: string, value: unknown, prefix = "access."): string | undefined {
  if (!RULE_KEYS.has(key)) return `"${prefix}${key}" is not an access requirement`;
  if (key === "permissions") {
    if (!Array.isArray(value)) return `"${prefix}permissions" must be a list of permission names`;
    const unknown = value.find((p) => typeof p !== "string" || !(p in PermissionFlagsBits));
    if (unknown !== undefined)
      return `"${prefix}permissions" names an unknown permission: ${String(unknown)}`;
    return undefined;
  }
  if (value !== undefined && typeof value !== "boolean") return `"${prefix}${key}" must be true or false`;
  return undefined;
}

/** "sub" and "group sub" for every subcommand in a definition. */
function subcommandPaths(definition: RESTPostAPIApplicationCommandsJSONBody): string[] {
  const options = "options" in definition ? (definition.options ?? []) : [];
  const paths: string[] = [];
  for (const option of options) {
    if (option.type === ApplicationCommandOptionType.Subcommand) paths.push(option.name);
    if (option.type === ApplicationCommandOptionType.SubcommandGroup) {
      for (const sub of option.options ?? []) paths.push(`${option.name} ${sub.name}`);
    }
  }
  return paths;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
