import { type FormIssue, issue } from "./errors.ts";
import { has, PERMISSIONS } from "./permissions.ts";
import { permissionsIn, type World } from "./world.ts";

/**
 * Which mentions in a message would actually ping, the way Discord decides it: `allowed_mentions`
 * (absent = parse everything), the author's MENTION_EVERYONE permission for @everyone/@here and
 * non-mentionable roles, and `replied_user` for replies.
 */

export interface MentionResult {
  everyone: boolean;
  userIds: string[];
  roleIds: string[];
}

type Obj = Record<string, unknown>;
const PARSE_TYPES = ["roles", "users", "everyone"];

export function validateAllowedMentions(value: unknown, path: ReadonlyArray<string | number>): FormIssue[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "object" || Array.isArray(value)) return [issue.type(path, "object", value)];
  const am = value as Obj;
  const out: FormIssue[] = [];
  const parse = am.parse;
  if (parse !== undefined) {
    if (!Array.isArray(parse)) out.push(issue.type([...path, "parse"], "array", parse));
    else
      parse.forEach((p, i) => {
        if (!PARSE_TYPES.includes(p as string)) out.push(issue.choices([...path, "parse", i], PARSE_TYPES));
      });
  }
  for (const kind of ["users", "roles"] as const) {
    const list = am[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      out.push(issue.type([...path, kind], "array", list));
      continue;
    }
    if (list.length > 100) out.push(issue.maxLength([...path, kind], 100));
    if (Array.isArray(parse) && parse.includes(kind) && list.length > 0) {
      out.push(
        issue.custom(
          [...path, "parse"],
          "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
          `parse:["${kind}"] and ${kind}: [ids...] are mutually exclusive.`,
        ),
      );
    }
  }
  return out;
}

export function computeMentions(
  world: World,
  opts: {
    content: string;
    allowedMentions: unknown;
    authorId: string;
    channelId: string;
    repliedUserId?: string;
  },
): MentionResult {
  const am = (opts.allowedMentions ?? undefined) as Obj | undefined;
  const parse: string[] =
    am === undefined ? [...PARSE_TYPES] : Array.isArray(am.parse) ? (am.parse as string[]) : [];
  const explicitUsers = am && Array.isArray(am.users) ? (am.users as string[]) : [];
  const explicitRoles = am && Array.isArray(am.roles) ? (am.roles as string[]) : [];
  const authorPerms = permissionsIn(world, opts.authorId, opts.channelId);
  const canMentionEveryone = has(authorPerms, PERMISSIONS.MentionEveryone);
  const content = opts.content;

  const everyone = /@(everyone|here)/.test(content) && parse.includes("everyone") && canMentionEveryone;

  const userIds: string[] = [];
  for (const match of content.matchAll(/<@!?(\d{15,21})>/g)) {
    const id = match[1]!;
    if (!world.users.has(id) || userIds.includes(id)) continue;
    if (parse.includes("users") || explicitUsers.includes(id)) userIds.push(id);
  }
  if (opts.repliedUserId && !userIds.includes(opts.repliedUserId)) {
    const repliedAllowed = am === undefined ? true : am.replied_user === true;
    if (repliedAllowed) userIds.push(opts.repliedUserId);
  }

  const roleIds: string[] = [];
  for (const match of content.matchAll(/<@&(\d{15,21})>/g)) {
    const id = match[1]!;
    const role = world.roles.get(id);
    if (!role || roleIds.includes(id)) continue;
    if (!(parse.includes("roles") || explicitRoles.includes(id))) continue;
    if (role.mentionable || canMentionEveryone) roleIds.push(id);
  }
  return { everyone, userIds, roleIds };
}
