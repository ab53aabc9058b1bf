import { type FormIssue, issue } from "./errors.ts";

/**
 * Application command definitions as Discord validates them on registration: names (regex, lower
 * case for slash commands), descriptions 1–100 (empty for context menus), ≤ 25 options and choices,
 * required options first, subcommand nesting, string lengths ≤ 6000, 4000 characters per command,
 * unique names, and at most 100 slash / 15 user / 15 message commands per scope.
 */

type Path = ReadonlyArray<string | number>;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const NAME_RE = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;
const len = (s: unknown): number => (typeof s === "string" ? [...s].length : 0);

export const COMMAND_LIMITS = { chatInput: 100, user: 15, message: 15 } as const;

function checkName(out: FormIssue[], path: Path, name: unknown, chatInput: boolean): void {
  if (typeof name !== "string") {
    out.push(issue.required(path));
    return;
  }
  if (chatInput) {
    if (!NAME_RE.test(name)) {
      out.push(issue.custom(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"));
    } else if (name !== name.toLowerCase()) {
      out.push(issue.custom(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"));
    }
  } else if (len(name) < 1 || len(name) > 32) {
    out.push(issue.badLength(path, 1, 32));
  }
}

function checkLocalizations(
  out: FormIssue[],
  path: Path,
  value: unknown,
  check: (p: Path, v: unknown) => void,
): void {
  if (value === undefined || value === null) return;
  if (!isObj(value)) {
    out.push(issue.type(path, "object", value));
    return;
  }
  for (const [locale, text] of Object.entries(value)) check([...path, locale], text);
}

function checkDescription(out: FormIssue[], path: Path, description: unknown): void {
  if (typeof description !== "string") {
    out.push(issue.required(path));
    return;
  }
  if (len(description) < 1 || len(description) > 100) out.push(issue.badLength(path, 1, 100));
}

/** Characters counted against the 4000 limit (names, descriptions, choice names and values). */
function countChars(options: unknown): number {
  if (!Array.isArray(options)) return 0;
  let n = 0;
  for (const o of options) {
    if (!isObj(o)) continue;
    n += len(o.name) + len(o.description);
    if (Array.isArray(o.choices))
      for (const c of o.choices) if (isObj(c)) n += len(c.name) + len(String(c.value ?? ""));
    n += countChars(o.options);
  }
  return n;
}

function checkOptions(out: FormIssue[], path: Path, options: unknown, depth: number): void {
  if (options === undefined || options === null) return;
  if (!Array.isArray(options)) {
    out.push(issue.type(path, "array", options));
    return;
  }
  if (options.length > 25) out.push(issue.maxLength(path, 25));
  const names = new Set<string>();
  let seenOptional = false;
  const kinds = new Set<string>();
  options.forEach((o, i) => {
    const p = [...path, i];
    if (!isObj(o)) {
      out.push(issue.type(p, "object", o));
      return;
    }
    const type = o.type;
    if (typeof type !== "number" || !Number.isInteger(type) || type < 1 || type > 11) {
      out.push(issue.choices([...p, "type"], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
      return;
    }
    checkName(out, [...p, "name"], o.name, true);
    checkLocalizations(out, [...p, "name_localizations"], o.name_localizations, (lp, v) =>
      checkName(out, lp, v, true),
    );
    checkDescription(out, [...p, "description"], o.description);
    checkLocalizations(out, [...p, "description_localizations"], o.description_localizations, (lp, v) =>
      checkDescription(out, lp, v),
    );
    if (typeof o.name === "string") {
      if (names.has(o.name))
        out.push(
          issue.custom(
            [...p, "name"],
            "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS",
            "Option name already exists",
          ),
        );
      names.add(o.name);
    }
    const isSub = type === 1 || type === 2;
    kinds.add(isSub ? "sub" : "value");
    if (isSub) {
      if (o.required !== undefined && o.required !== false)
        out.push(
          issue.custom(
            [...p, "required"],
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            "Subcommands cannot be required",
          ),
        );
      if (type === 2 && depth > 0)
        out.push(
          issue.custom(
            [...p, "type"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommand groups can only be nested in a command",
          ),
        );
      if (type === 1 && depth > 1)
        out.push(
          issue.custom(
            [...p, "type"],
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Subcommands are nested too deep",
          ),
        );
      if (type === 2) {
        const subs = Array.isArray(o.options) ? o.options : [];
        if (subs.some((s) => !isObj(s) || s.type !== 1))
          out.push(
            issue.custom(
              [...p, "options"],
              "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
              "Subcommand groups can only contain subcommands",
            ),
          );
      }
      checkOptions(out, [...p, "options"], o.options, depth + 1);
      return;
    }
    if (o.options !== undefined)
      out.push(
        issue.custom(
          [...p, "options"],
          "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
          "Only subcommands and groups have options",
        ),
      );
    if (o.required === true) {
      if (seenOptional)
        out.push(
          issue.custom(
            [...p, "required"],
            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
            "Required options must be placed before non-required options",
          ),
        );
    } else seenOptional = true;
    const hasChoices = Array.isArray(o.choices) && o.choices.length > 0;
    if (o.choices !== undefined) {
      if (type !== 3 && type !== 4 && type !== 10)
        out.push(
          issue.custom(
            [...p, "choices"],
            "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
            "Only string, integer and number options can have choices",
          ),
        );
      else if (!Array.isArray(o.choices)) out.push(issue.type([...p, "choices"], "array", o.choices));
      else {
        if (o.choices.length > 25) out.push(issue.maxLength([...p, "choices"], 25));
        o.choices.forEach((c, j) => {
          const cp = [...p, "choices", j];
          if (!isObj(c)) {
            out.push(issue.type(cp, "object", c));
            return;
          }
          if (typeof c.name !== "string" || len(c.name) < 1 || len(c.name) > 100)
            out.push(issue.badLength([...cp, "name"], 1, 100));
          if (type === 3) {
            if (typeof c.value !== "string") out.push(issue.type([...cp, "value"], "string", c.value));
            else if (len(c.value) > 100) out.push(issue.maxLength([...cp, "value"], 100));
          } else if (typeof c.value !== "number" || (type === 4 && !Number.isInteger(c.value))) {
            out.push(issue.type([...cp, "value"], type === 4 ? "int" : "number", c.value));
          }
        });
      }
    }
    if (o.autocomplete === true) {
      if (type !== 3 && type !== 4 && type !== 10)
        out.push(
          issue.custom(
            [...p, "autocomplete"],
            "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID",
            "Only string, integer and number options can autocomplete",
          ),
        );
      if (hasChoices)
        out.push(
          issue.custom(
            [...p, "autocomplete"],
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
            "Autocomplete and choices are mutually exclusive",
          ),
        );
    }
    if (o.min_length !== undefined || o.max_length !== undefined) {
      if (type !== 3)
        out.push(
          issue.custom(
            [...p, "min_length"],
            "APPLICATION_COMMAND_OPTION_LENGTH_INVALID",
            "Only string options have lengths",
          ),
        );
      if (
        o.min_length !== undefined &&
        (typeof o.min_length !== "number" || o.min_length < 0 || o.min_length > 6000)
      )
        out.push(issue.range([...p, "min_length"], 0, 6000));
      if (
        o.max_length !== undefined &&
        (typeof o.max_length !== "number" || o.max_length < 1 || o.max_length > 6000)
      )
        out.push(issue.range([...p, "max_length"], 1, 6000));
    }
    if ((o.min_value !== undefined || o.max_value !== undefined) && type !== 4 && type !== 10) {
      out.push(
        issue.custom(
          [...p, "min_value"],
          "APPLICATION_COMMAND_OPTION_VALUE_INVALID",
          "Only integer and number options have min/max values",
        ),
      );
    }
    if (o.channel_types !== undefined && type !== 7) {
      out.push(
        issue.custom(
          [...p, "channel_types"],
          "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID",
          "Only channel options have channel types",
        ),
      );
    }
  });
  if (kinds.size > 1) {
    out.push(
      issue.custom(
        path,
        "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
        "Subcommands and groups cannot be mixed with other options",
      ),
    );
  }
}

export function validateCommand(body: unknown, path: Path): FormIssue[] {
  const out: FormIssue[] = [];
  if (!isObj(body)) return [issue.type(path, "object", body)];
  const type = body.type ?? 1;
  if (type !== 1 && type !== 2 && type !== 3 && type !== 4) {
    out.push(issue.choices([...path, "type"], [1, 2, 3, 4]));
    return out;
  }
  const chatInput = type === 1;
  checkName(out, [...path, "name"], body.name, chatInput);
  checkLocalizations(out, [...path, "name_localizations"], body.name_localizations, (p, v) =>
    checkName(out, p, v, chatInput),
  );
  if (chatInput) {
    checkDescription(out, [...path, "description"], body.description);
    checkLocalizations(out, [...path, "description_localizations"], body.description_localizations, (p, v) =>
      checkDescription(out, p, v),
    );
    checkOptions(out, [...path, "options"], body.options, 0);
    const total = len(body.name) + len(body.description) + countChars(body.options);
    if (total > 4000)
      out.push(issue.custom(path, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (4000)"));
  } else {
    if (body.description !== undefined && body.description !== "" && body.description !== null)
      out.push(
        issue.custom(
          [...path, "description"],
          "APPLICATION_COMMAND_DESCRIPTION_INVALID",
          "Context menu commands cannot have a description",
        ),
      );
    if (Array.isArray(body.options) && body.options.length > 0)
      out.push(
        issue.custom(
          [...path, "options"],
          "APPLICATION_COMMAND_OPTIONS_INVALID",
          "Context menu commands cannot have options",
        ),
      );
  }
  if (body.default_member_permissions !== undefined && body.default_member_permissions !== null) {
    if (typeof body.default_member_permissions !== "string" || !/^\d+$/.test(body.default_member_permissions))
      out.push(
        issue.type([...path, "default_member_permissions"], "string", body.default_member_permissions),
      );
  }
  // Installation types (0 server, 1 user) and interaction contexts (0 server, 1 bot DM, 2 private channel).
  checkEnumList(out, [...path, "integration_types"], body.integration_types, [0, 1]);
  checkEnumList(out, [...path, "contexts"], body.contexts, [0, 1, 2]);
  return out;
}

function checkEnumList(out: FormIssue[], path: Path, value: unknown, allowed: readonly number[]): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    out.push(issue.type(path, "array", value));
    return;
  }
  value.forEach((v, i) => {
    if (typeof v !== "number" || !allowed.includes(v)) out.push(issue.choices([...path, i], allowed));
  });
}

/** A whole bulk-overwrite list: each command, unique (type, name), per-type counts. */
export function validateCommandList(list: unknown): FormIssue[] {
  if (!Array.isArray(list)) return [issue.type([], "array", list)];
  const out: FormIssue[] = [];
  const seen = new Set<string>();
  const counts = { 1: 0, 2: 0, 3: 0, 4: 0 } as Record<number, number>;
  list.forEach((c, i) => {
    out.push(...validateCommand(c, [i]));
    if (!isObj(c)) return;
    const type = (c.type as number | undefined) ?? 1;
    counts[type] = (counts[type] ?? 0) + 1;
    const key = `${type}:${String(c.name)}`;
    if (seen.has(key))
      out.push(
        issue.custom(
          [i, "name"],
          "APPLICATION_COMMANDS_DUPLICATE_NAME",
          `Application command names must be unique`,
        ),
      );
    seen.add(key);
  });
  if ((counts[1] ?? 0) > COMMAND_LIMITS.chatInput) out.push(issue.maxLength([], COMMAND_LIMITS.chatInput));
  if ((counts[2] ?? 0) > COMMAND_LIMITS.user || (counts[3] ?? 0) > COMMAND_LIMITS.message)
    out.push(
      issue.custom([], "APPLICATION_COMMANDS_LIMIT", "Maximum number of context menu commands reached (15)"),
    );
  return out;
}
