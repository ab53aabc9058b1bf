import { type FormIssue, issue } from "./errors.ts";

/**
 * Component limits for messages (legacy action rows and Components V2) and modals, as documented:
 * ≤ 5 action rows, ≤ 5 buttons or one select per row, custom_id ≤ 100, button labels ≤ 80, select
 * placeholders ≤ 150, ≤ 25 options; modals: title ≤ 45, 1–5 components, text input lengths ≤ 4000.
 */

type Path = ReadonlyArray<string | number>;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const SELECT_TYPES = new Set([3, 5, 6, 7, 8]);
const V2_TOP_LEVEL = new Set([1, 9, 10, 12, 13, 14, 17]);
const V2_MAX_COMPONENTS = 40;

function checkString(
  out: FormIssue[],
  path: Path,
  value: unknown,
  min: number,
  max: number,
  required: boolean,
): void {
  if (value === undefined || value === null) {
    if (required) out.push(issue.required(path));
    return;
  }
  if (typeof value !== "string") {
    out.push(issue.type(path, "string", value));
    return;
  }
  const len = [...value].length;
  if (len < min || len > max)
    out.push(min > 0 ? issue.badLength(path, min, max) : issue.maxLength(path, max));
}

function checkInt(out: FormIssue[], path: Path, value: unknown, min: number, max: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    out.push(issue.type(path, "int", value));
    return;
  }
  if (value < min || value > max) out.push(issue.range(path, min, max));
}

function checkCustomId(out: FormIssue[], path: Path, value: unknown, seen: Set<string>): void {
  checkString(out, path, value, 1, 100, true);
  if (typeof value === "string") {
    if (seen.has(value))
      out.push(
        issue.custom(path, "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated"),
      );
    seen.add(value);
  }
}

function checkButton(out: FormIssue[], path: Path, b: Obj, seen: Set<string>): void {
  const style = b.style;
  if (typeof style !== "number" || style < 1 || style > 6) {
    out.push(issue.choices([...path, "style"], [1, 2, 3, 4, 5, 6]));
    return;
  }
  if (style === 5) {
    if (typeof b.url !== "string" || b.url.length === 0) out.push(issue.required([...path, "url"]));
    else if (b.url.length > 512) out.push(issue.maxLength([...path, "url"], 512));
    if (b.custom_id !== undefined)
      out.push(
        issue.custom(
          [...path, "custom_id"],
          "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
          "A link button cannot have a custom id.",
        ),
      );
  } else if (style === 6) {
    if (typeof b.sku_id !== "string") out.push(issue.required([...path, "sku_id"]));
  } else {
    checkCustomId(out, [...path, "custom_id"], b.custom_id, seen);
    if (b.url !== undefined)
      out.push(
        issue.custom(
          [...path, "url"],
          "BUTTON_COMPONENT_URL_NOT_ALLOWED",
          "Only link buttons can have a url.",
        ),
      );
  }
  checkString(out, [...path, "label"], b.label, 0, 80, false);
  if (style !== 6 && (b.label === undefined || b.label === "") && b.emoji === undefined) {
    out.push(
      issue.custom(
        [...path, "label"],
        "BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED",
        "A label or emoji is required.",
      ),
    );
  }
}

function checkSelect(out: FormIssue[], path: Path, s: Obj, seen: Set<string>): void {
  checkCustomId(out, [...path, "custom_id"], s.custom_id, seen);
  checkString(out, [...path, "placeholder"], s.placeholder, 0, 150, false);
  checkInt(out, [...path, "min_values"], s.min_values, 0, 25);
  checkInt(out, [...path, "max_values"], s.max_values, 1, 25);
  if (typeof s.min_values === "number" && typeof s.max_values === "number" && s.min_values > s.max_values) {
    out.push(
      issue.custom(
        [...path, "min_values"],
        "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE",
        "min_values must be less than or equal to max_values.",
      ),
    );
  }
  if (s.type !== 3) return;
  const options = s.options;
  if (!Array.isArray(options) || options.length === 0) {
    out.push(issue.required([...path, "options"]));
    return;
  }
  if (options.length > 25) out.push(issue.maxLength([...path, "options"], 25));
  if (typeof s.max_values === "number" && s.max_values > options.length) {
    out.push(
      issue.custom(
        [...path, "max_values"],
        "SELECT_COMPONENT_MAX_VALUES_TOO_LARGE",
        `max_values must be less than or equal to ${options.length}.`,
      ),
    );
  }
  const values = new Set<string>();
  options.forEach((o, i) => {
    const p = [...path, "options", i];
    if (!isObj(o)) {
      out.push(issue.type(p, "object", o));
      return;
    }
    checkString(out, [...p, "label"], o.label, 1, 100, true);
    checkString(out, [...p, "value"], o.value, 1, 100, true);
    checkString(out, [...p, "description"], o.description, 0, 100, false);
    if (typeof o.value === "string") {
      if (values.has(o.value))
        out.push(
          issue.custom(
            [...p, "value"],
            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
            "The specified option value is already used",
          ),
        );
      values.add(o.value);
    }
  });
}

function checkTextInput(out: FormIssue[], path: Path, t: Obj, seen: Set<string>, inLabel: boolean): void {
  checkCustomId(out, [...path, "custom_id"], t.custom_id, seen);
  if (t.style !== 1 && t.style !== 2) out.push(issue.choices([...path, "style"], [1, 2]));
  if (inLabel) {
    if (t.label !== undefined)
      out.push(
        issue.custom(
          [...path, "label"],
          "TEXT_INPUT_LABEL_NOT_ALLOWED",
          "A text input inside a label cannot have its own label.",
        ),
      );
  } else {
    checkString(out, [...path, "label"], t.label, 1, 45, true);
  }
  checkInt(out, [...path, "min_length"], t.min_length, 0, 4000);
  checkInt(out, [...path, "max_length"], t.max_length, 1, 4000);
  if (typeof t.min_length === "number" && typeof t.max_length === "number" && t.min_length > t.max_length) {
    out.push(
      issue.custom(
        [...path, "min_length"],
        "TEXT_INPUT_MIN_LENGTH_TOO_LARGE",
        "min_length must be less than or equal to max_length.",
      ),
    );
  }
  checkString(out, [...path, "value"], t.value, 0, 4000, false);
  checkString(out, [...path, "placeholder"], t.placeholder, 0, 100, false);
  if (t.required !== undefined && typeof t.required !== "boolean")
    out.push(issue.type([...path, "required"], "boolean", t.required));
}

function checkActionRow(out: FormIssue[], path: Path, row: Obj, seen: Set<string>): void {
  const children = row.components;
  if (!Array.isArray(children) || children.length === 0) {
    out.push(issue.badLength([...path, "components"], 1, 5));
    return;
  }
  if (children.length > 5) out.push(issue.badLength([...path, "components"], 1, 5));
  const hasSelect = children.some((c) => isObj(c) && SELECT_TYPES.has(c.type as number));
  if (hasSelect && children.length > 1) {
    out.push(
      issue.custom(
        [...path, "components"],
        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
        "The specified component exceeds the maximum width",
      ),
    );
  }
  children.forEach((c, i) => {
    const p = [...path, "components", i];
    if (!isObj(c)) {
      out.push(issue.type(p, "object", c));
      return;
    }
    if (c.type === 2) checkButton(out, p, c, seen);
    else if (SELECT_TYPES.has(c.type as number)) checkSelect(out, p, c, seen);
    else
      out.push(
        issue.custom(
          [...p, "type"],
          "COMPONENT_TYPE_INVALID",
          `Component type ${String(c.type)} is not allowed in an action row of a message.`,
        ),
      );
  });
}

function countComponents(list: unknown[]): number {
  let n = 0;
  for (const c of list) {
    if (!isObj(c)) continue;
    n += 1;
    if (Array.isArray(c.components)) n += countComponents(c.components);
    if (isObj(c.accessory)) n += 1;
  }
  return n;
}

function checkV2Component(out: FormIssue[], path: Path, c: Obj, seen: Set<string>): void {
  switch (c.type) {
    case 1:
      checkActionRow(out, path, c, seen);
      return;
    case 9: {
      if (!Array.isArray(c.components) || c.components.length < 1 || c.components.length > 3)
        out.push(issue.badLength([...path, "components"], 1, 3));
      if (isObj(c.accessory) && c.accessory.type === 2)
        checkButton(out, [...path, "accessory"], c.accessory, seen);
      for (const [i, child] of (Array.isArray(c.components) ? c.components : []).entries())
        if (isObj(child)) checkV2Component(out, [...path, "components", i], child, seen);
      return;
    }
    case 10:
      checkString(out, [...path, "content"], c.content, 1, 4000, true);
      return;
    case 17:
      for (const [i, child] of (Array.isArray(c.components) ? c.components : []).entries())
        if (isObj(child)) checkV2Component(out, [...path, "components", i], child, seen);
      return;
    default:
      return;
  }
}

export function validateMessageComponents(components: unknown, path: Path, v2: boolean): FormIssue[] {
  const out: FormIssue[] = [];
  if (components === undefined || components === null) return out;
  if (!Array.isArray(components)) return [issue.type(path, "array", components)];
  const seen = new Set<string>();
  if (v2) {
    if (countComponents(components) > V2_MAX_COMPONENTS) out.push(issue.maxLength(path, V2_MAX_COMPONENTS));
    components.forEach((c, i) => {
      if (!isObj(c)) {
        out.push(issue.type([...path, i], "object", c));
        return;
      }
      if (!V2_TOP_LEVEL.has(c.type as number))
        out.push(
          issue.custom(
            [...path, i, "type"],
            "COMPONENT_TYPE_INVALID",
            `Component type ${String(c.type)} is not allowed at the top level.`,
          ),
        );
      else checkV2Component(out, [...path, i], c, seen);
    });
    return out;
  }
  if (components.length > 5) out.push(issue.maxLength(path, 5));
  components.forEach((row, i) => {
    const p = [...path, i];
    if (!isObj(row)) {
      out.push(issue.type(p, "object", row));
      return;
    }
    if (row.type !== 1) {
      out.push(
        issue.custom(
          [...p, "type"],
          "UNION_TYPE_CHOICES",
          'Value of field "type" must be one of (1,). Use the IS_COMPONENTS_V2 flag for other top-level components.',
        ),
      );
      return;
    }
    checkActionRow(out, p, row, seen);
  });
  return out;
}

/** Modal (`type: 9` callback data). */
export function validateModal(data: unknown, path: Path): FormIssue[] {
  const out: FormIssue[] = [];
  if (!isObj(data)) return [issue.required(path)];
  const seen = new Set<string>();
  checkString(out, [...path, "custom_id"], data.custom_id, 1, 100, true);
  checkString(out, [...path, "title"], data.title, 1, 45, true);
  const comps = data.components;
  if (!Array.isArray(comps) || comps.length < 1 || comps.length > 5) {
    out.push(issue.badLength([...path, "components"], 1, 5));
    if (!Array.isArray(comps)) return out;
  }
  comps.forEach((c, i) => {
    const p = [...path, "components", i];
    if (!isObj(c)) {
      out.push(issue.type(p, "object", c));
      return;
    }
    if (c.type === 1) {
      const children = Array.isArray(c.components) ? c.components : [];
      if (children.length !== 1) out.push(issue.badLength([...p, "components"], 1, 1));
      children.forEach((child, j) => {
        const cp = [...p, "components", j];
        if (isObj(child) && child.type === 4) checkTextInput(out, cp, child, seen, false);
        else
          out.push(
            issue.custom(
              [...cp, "type"],
              "COMPONENT_TYPE_INVALID",
              "Only text inputs are allowed in modal action rows.",
            ),
          );
      });
    } else if (c.type === 18) {
      checkString(out, [...p, "label"], c.label, 1, 45, true);
      checkString(out, [...p, "description"], c.description, 0, 100, false);
      const child = c.component;
      const cp = [...p, "component"];
      if (!isObj(child)) out.push(issue.required(cp));
      else if (child.type === 4) checkTextInput(out, cp, child, seen, true);
      else if (SELECT_TYPES.has(child.type as number)) checkSelect(out, cp, child, seen);
      else if (child.type === 19) {
        checkCustomId(out, [...cp, "custom_id"], child.custom_id, seen);
        checkInt(out, [...cp, "min_values"], child.min_values, 0, 10);
        checkInt(out, [...cp, "max_values"], child.max_values, 1, 10);
      } else if (child.type !== 21 && child.type !== 22 && child.type !== 23) {
        out.push(
          issue.custom(
            [...cp, "type"],
            "COMPONENT_TYPE_INVALID",
            `Component type ${String(child.type)} is not allowed in a label.`,
          ),
        );
      }
    } else if (c.type === 10) {
      checkString(out, [...p, "content"], c.content, 1, 4000, true);
    } else {
      out.push(
        issue.custom(
          [...p, "type"],
          "COMPONENT_TYPE_INVALID",
          `Component type ${String(c.type)} is not allowed in a modal.`,
        ),
      );
    }
  });
  return out;
}

/** Every interactive component of a stored message, flattened (rows, sections, containers). */
export function flattenComponents(components: unknown): Obj[] {
  const out: Obj[] = [];
  const walk = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const c of list) {
      if (!isObj(c)) continue;
      out.push(c);
      walk(c.components);
      if (isObj(c.accessory)) out.push(c.accessory);
      if (isObj(c.component)) out.push(c.component);
    }
  };
  walk(components);
  return out;
}
