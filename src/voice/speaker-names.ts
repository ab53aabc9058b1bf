import type { NameStyle } from "../settings/reading.ts";
import { NAME_PLACEHOLDER } from "../settings/reading.ts";

/**
 * Which of a member's names is spoken, and the sentence said before a new speaker ("{name} said").
 * Servers choose: the server nickname (what members see in the member list), the account's display
 * name, the username (unique, no decorations), or no name at all.
 */

/** A member's names as Discord gave them; `null` when unset. */
export interface SpeakerNames {
  /** Server nickname. */
  nickname: string | null;
  /** The account's display (global) name. */
  displayName: string | null;
  /** The unique username (a webhook's name for webhook messages). */
  username: string;
}

/** Discord names are at most 32 characters; anything longer is cut so a name cannot hold the channel. */
const NAME_MAX_CHARS = 32;

/** The name spoken for this style; "" for `none` (and for names that are only blanks). */
export function speakerName(names: SpeakerNames, style: NameStyle): string {
  const pick = (...candidates: (string | null)[]) => {
    for (const c of candidates) {
      const tidy = tidyName(c);
      if (tidy !== "") return tidy;
    }
    return "";
  };
  switch (style) {
    case "nickname":
      return pick(names.nickname, names.displayName, names.username);
    case "display_name":
      return pick(names.displayName, names.username);
    case "username":
      return pick(names.username);
    case "none":
      return "";
  }
}

function tidyName(name: string | null): string {
  if (name === null) return "";
  const oneLine = name.replace(/\s+/g, " ").trim();
  return [...oneLine].slice(0, NAME_MAX_CHARS).join("");
}

/** `"{name} said"` with the name filled in; undefined when there is no name to say. */
export function renderAnnouncement(template: string, name: string): string | undefined {
  if (name === "") return undefined;
  // A function replacement: `$&` and friends in a nickname stay literal.
  return template.replace(NAME_PLACEHOLDER, () => name).trim();
}

/** "Bob" → "Bob", "" → "Someone": the subject of a sentence such as "Bob sent an image". */
export function subjectOf(name: string): string {
  return name === "" ? "Someone" : name;
}
