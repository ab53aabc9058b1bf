import { readFileSync } from "node:fs";
import { PermissionFlagsBits, PermissionsBitField } from "discord.js";
import { describe, expect, it } from "vitest";
import { BOT_PERMISSIONS, botPermissions, inviteUrl } from "../../src/discord/invite.ts";

/** Each permission the invite asks for, with its bit as Discord documents it. */
const EXPECTED = [
  ["View Channels", "ViewChannel", 10],
  ["Send Messages", "SendMessages", 11],
  ["Embed Links", "EmbedLinks", 14],
  ["Attach Files", "AttachFiles", 15],
  ["Read Message History", "ReadMessageHistory", 16],
  ["Connect", "Connect", 20],
  ["Speak", "Speak", 21],
  ["Send Voice Messages", "SendVoiceMessages", 46],
] as const;

describe("the invite", () => {
  it.each(EXPECTED)("asks for %s (%s, bit %i)", (name, flag, bit) => {
    const entry = BOT_PERMISSIONS.find((p) => p.name === name);
    expect(entry?.flag).toBe(PermissionFlagsBits[flag]);
    expect(entry?.flag).toBe(1n << BigInt(bit));
    expect(botPermissions() & (1n << BigInt(bit))).not.toBe(0n);
  });

  it("asks for nothing else", () => {
    expect(BOT_PERMISSIONS).toHaveLength(EXPECTED.length);
    const sum = EXPECTED.reduce((n, [, , bit]) => n | (1n << BigInt(bit)), 0n);
    expect(botPermissions()).toBe(sum);
    expect(botPermissions()).toBe(70368747441152n);
    expect(new PermissionsBitField(botPermissions()).toArray().sort()).toEqual(
      EXPECTED.map(([, flag]) => flag).sort(),
    );
  });

  it("never asks for an administrative permission", () => {
    const perms = new PermissionsBitField(botPermissions());
    for (const flag of [
      "Administrator",
      "ManageGuild",
      "ManageMessages",
      "ManageChannels",
      "MoveMembers",
    ] as const) {
      expect(perms.has(flag, false), flag).toBe(false);
    }
  });

  it.each([
    ["123456789012345678", 70368747441152n],
    ["987654321098765432", 3072n],
  ])("builds the authorize URL for application %s", (id, permissions) => {
    expect(inviteUrl(id, permissions)).toBe(
      `https://discord.com/oauth2/authorize?client_id=${id}&scope=bot+applications.commands&permissions=${permissions}`,
    );
  });

  it("defaults to the bot's own permissions", () => {
    expect(inviteUrl("1")).toBe(
      "https://discord.com/oauth2/authorize?client_id=1&scope=bot+applications.commands&permissions=70368747441152",
    );
  });

  it("is documented in the README with the same URL form, integer and permission names", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Adding the bot to a server"));
    expect(section).toContain(
      `https://discord.com/oauth2/authorize?client_id=<application id>&scope=bot+applications.commands&permissions=${botPermissions()}`,
    );
    for (const { name } of BOT_PERMISSIONS) expect(section).toContain(name);
  });
});
