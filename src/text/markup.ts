import { channelMention, roleMention, TimestampStyles, time, userMention } from "@discordjs/formatters";

/**
 * The bits of Discord message markup the domain code writes (channel and role mentions, live relative
 * times), built by @discordjs/formatters in this one place so that nothing outside src/discord spells
 * out Discord's syntax by hand. Plain strings in and out; discord.js itself is not involved.
 */

/** `<#id>`: the channel's name, clickable; `<@&id>`: the role's name, in its colour; `<@id>`: a member. */
export { channelMention, roleMention, userMention };

/**
 * `<t:seconds:R>`: "in 5 minutes", which each reader's client renders and keeps current. `ms` is an
 * epoch time, rounded down to the second, or up with `"ceil"` for a time something may happen after.
 */
export function relativeTime(ms: number, rounding: "floor" | "ceil" = "floor"): string {
  return time(Math[rounding](ms / 1000), TimestampStyles.RelativeTime);
}
