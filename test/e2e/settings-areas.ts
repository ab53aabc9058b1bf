import type { FakeDiscord, FakeMessage, OptionValue } from "../fakes/discord/index.ts";

/**
 * `/settings` has one subcommand per area (speech, limits, access, reading…). Tests that set options
 * from several areas at once send one command per area: the area of each option is read from the
 * command definition the bot registered, so tests follow the real layout.
 */

type Option = { name: string; type: number; options?: Option[] };

/** The area (subcommand) of each `/settings` option, from the registered definition. */
export function settingsAreaOf(
  discord: FakeDiscord,
  guildId = discord.fixtures.guild.id,
): Map<string, string> {
  const def = discord.registeredCommands(guildId).find((c) => c.name === "settings");
  const areas = new Map<string, string>();
  for (const sub of (def?.options as Option[] | undefined) ?? []) {
    if (sub.name === "show" || sub.name === "reset") continue;
    for (const o of sub.options ?? []) areas.set(o.name, sub.name);
  }
  return areas;
}

/** Sets the options through `/settings <area>`, one command per area; resolves with the "Saved." replies. */
export async function applySettings(
  discord: FakeDiscord,
  options: Record<string, OptionValue>,
  opts: { user?: string; channelId?: string } = {},
): Promise<FakeMessage[]> {
  const areaOf = settingsAreaOf(discord);
  const byArea = new Map<string, Record<string, OptionValue>>();
  for (const [name, value] of Object.entries(options)) {
    const area = areaOf.get(name);
    if (area === undefined) throw new Error(`no /settings area has the option ${name}`);
    byArea.set(area, { ...byArea.get(area), [name]: value });
  }
  const replies: FakeMessage[] = [];
  for (const [area, given] of byArea) {
    const reply = await discord
      .dispatchCommand({
        name: `settings ${area}`,
        user: opts.user ?? discord.fixtures.users.admin.id,
        ...(opts.channelId ? { channelId: opts.channelId } : {}),
        options: given,
      })
      .waitForResponse((m) => m.content.length > 0);
    if (!/^Saved\./.test(reply.content)) throw new Error(`/settings ${area} answered: ${reply.content}`);
    replies.push(reply);
  }
  return replies;
}
