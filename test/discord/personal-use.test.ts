import type { Interaction } from "discord.js";
import { describe, expect, it } from "vitest";
import { actorOf, isPersonalUse } from "../../src/discord/actor.ts";

const GUILD = "100000000000000001";
const USER = "200000000000000001";

/** The fields Discord sends that decide where an interaction comes from. */
function interaction(over: {
  context: number | null;
  guildId: string | null;
  owners: Record<string, string>;
}): Interaction {
  return {
    context: over.context,
    guildId: over.guildId,
    authorizingIntegrationOwners: over.owners,
    user: { id: USER },
    member: null,
    memberPermissions: null,
  } as unknown as Interaction;
}

describe("isPersonalUse: where the member's own budget applies", () => {
  it.each([
    ["a server that added the bot", 0, GUILD, { "0": GUILD }, false],
    ["a server that added the bot, the member has it too", 0, GUILD, { "0": GUILD, "1": USER }, false],
    ["an older payload without context, in a server", null, GUILD, {}, false],
    ["a server without the bot, the member's own install", 0, GUILD, { "1": USER }, true],
    ["the DM with the bot (server install)", 1, null, { "0": "0" }, true],
    ["the DM with the bot (user install)", 1, null, { "1": USER }, true],
    ["a group DM (user install)", 2, null, { "1": USER }, true],
    ["no guild at all", null, null, {}, true],
  ] as const)("%s → %s", (_name, context, guildId, owners, personal) => {
    const i = interaction({ context, guildId, owners: { ...owners } });
    expect(isPersonalUse(i)).toBe(personal);
    expect(actorOf(i).guildId).toBe(personal ? null : GUILD);
  });
});
