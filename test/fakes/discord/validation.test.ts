import { describe, expect, it } from "vitest";
import { formErrorTree } from "./errors.ts";
import { computeMentions, validateAllowedMentions } from "./mentions.ts";
import { channelPermissions, has, PERMISSIONS, resolvePermissions } from "./permissions.ts";
import { validateCommand, validateCommandList } from "./validate-commands.ts";
import { validateMessageComponents, validateModal } from "./validate-components.ts";
import { isValidWaveform, validateEmbeds } from "./validate-message.ts";
import { buildWorld } from "./world.ts";

const button = (id: string, label = "ok") => ({ type: 2, style: 1, custom_id: id, label });
const row = (...components: unknown[]) => ({ type: 1, components });
const codes = (issues: { code: string }[]) => issues.map((i) => i.code);

describe("message component limits", () => {
  it("accepts 5 rows of 5 buttons and refuses a sixth row or button", () => {
    const rows = Array.from({ length: 5 }, (_, r) =>
      row(...Array.from({ length: 5 }, (_, b) => button(`b${r}-${b}`))),
    );
    expect(validateMessageComponents(rows, ["components"], false)).toEqual([]);
    expect(validateMessageComponents([...rows, row(button("x"))], ["components"], false)[0]?.path).toEqual([
      "components",
    ]);
    const wide = validateMessageComponents(
      [row(...Array.from({ length: 6 }, (_, b) => button(`w${b}`)))],
      ["components"],
      false,
    );
    expect(wide[0]?.path).toEqual(["components", 0, "components"]);
  });

  it("limits custom_id to 100, labels to 80, and custom ids must be unique", () => {
    const issues = validateMessageComponents(
      [row(button("x".repeat(101)), button("a", "l".repeat(81)), button("a"))],
      ["c"],
      false,
    );
    expect(issues.map((i) => i.path.join("."))).toEqual([
      "c.0.components.0.custom_id",
      "c.0.components.1.label",
      "c.0.components.2.custom_id",
    ]);
    expect(codes(issues)).toContain("COMPONENT_CUSTOM_ID_DUPLICATED");
  });

  it("select menus sit alone in a row and have ≤ 25 options", () => {
    const options = Array.from({ length: 26 }, (_, k) => ({ label: `o${k}`, value: `v${k}` }));
    const issues = validateMessageComponents(
      [row({ type: 3, custom_id: "s", options }, button("b"))],
      ["c"],
      false,
    );
    expect(codes(issues)).toEqual(
      expect.arrayContaining(["COMPONENT_LAYOUT_WIDTH_EXCEEDED", "BASE_TYPE_MAX_LENGTH"]),
    );
  });
});

describe("modal limits", () => {
  const input = (id: string, extra = {}) => row({ type: 4, custom_id: id, label: "L", style: 1, ...extra });
  it("title ≤ 45, 1–5 components, text input max_length ≤ 4000", () => {
    expect(validateModal({ custom_id: "m", title: "t", components: [input("a")] }, ["data"])).toEqual([]);
    expect(
      validateModal({ custom_id: "m", title: "t".repeat(46), components: [input("a")] }, ["data"])[0]?.path,
    ).toEqual(["data", "title"]);
    expect(validateModal({ custom_id: "m", title: "t", components: [] }, ["data"])).toHaveLength(1);
    const six = Array.from({ length: 6 }, (_, k) => input(`i${k}`));
    expect(validateModal({ custom_id: "m", title: "t", components: six }, ["data"])[0]?.path).toEqual([
      "data",
      "components",
    ]);
    const long = validateModal(
      { custom_id: "m", title: "t", components: [input("a", { max_length: 4001 })] },
      ["data"],
    );
    expect(long[0]?.path).toEqual(["data", "components", 0, "components", 0, "max_length"]);
  });

  it("accepts label components and refuses buttons in modals", () => {
    const label = { type: 18, label: "Text", component: { type: 4, custom_id: "t", style: 2 } };
    expect(validateModal({ custom_id: "m", title: "t", components: [label] }, [])).toEqual([]);
    expect(codes(validateModal({ custom_id: "m", title: "t", components: [row(button("b"))] }, []))).toEqual([
      "COMPONENT_TYPE_INVALID",
    ]);
  });
});

describe("embed limits", () => {
  it("refuses more than 10 embeds, 25 fields, and 6000 characters in total", () => {
    expect(
      validateEmbeds(
        Array.from({ length: 11 }, () => ({ title: "t" })),
        ["embeds"],
      )[0]?.code,
    ).toBe("BASE_TYPE_MAX_LENGTH");
    const fields = Array.from({ length: 26 }, () => ({ name: "n", value: "v" }));
    expect(validateEmbeds([{ fields }], ["embeds"])[0]?.path).toEqual(["embeds", 0, "fields"]);
    expect(validateEmbeds([{ title: "t".repeat(257) }], ["embeds"])[0]?.path).toEqual(["embeds", 0, "title"]);
    const total = validateEmbeds(
      [{ description: "d".repeat(4096) }, { description: "d".repeat(2000) }],
      ["embeds"],
    );
    expect(codes(total)).toEqual(["MAX_EMBED_SIZE_EXCEEDED"]);
  });
});

describe("application command validation", () => {
  const opt = (name: string, extra = {}) => ({ type: 3, name, description: "d", ...extra });
  it("enforces naming, description length, option order and counts", () => {
    expect(
      validateCommand(
        { name: "speak", description: "Say it", options: [opt("text", { required: true }), opt("voice")] },
        [],
      ),
    ).toEqual([]);
    expect(validateCommand({ name: "Speak", description: "x" }, [])[0]?.path).toEqual(["name"]);
    expect(validateCommand({ name: "speak", description: "x".repeat(101) }, [])[0]?.path).toEqual([
      "description",
    ]);
    expect(
      codes(
        validateCommand(
          { name: "s", description: "d", options: [opt("a"), opt("b", { required: true })] },
          [],
        ),
      ),
    ).toEqual(["APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"]);
    const many = Array.from({ length: 26 }, (_, k) => opt(`o${k}`));
    expect(validateCommand({ name: "s", description: "d", options: many }, [])[0]?.code).toBe(
      "BASE_TYPE_MAX_LENGTH",
    );
    const both = opt("v", { autocomplete: true, choices: [{ name: "a", value: "a" }] });
    expect(codes(validateCommand({ name: "s", description: "d", options: [both] }, []))).toEqual([
      "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
    ]);
    expect(validateCommand({ name: "Read aloud", type: 3 }, [])).toEqual([]);
    expect(validateCommand({ name: "Read aloud", type: 3, description: "no" }, [])).toHaveLength(1);
    expect(
      codes(
        validateCommandList([
          { name: "a", description: "d" },
          { name: "a", description: "d" },
        ]),
      ),
    ).toEqual(["APPLICATION_COMMANDS_DUPLICATE_NAME"]);
  });
});

describe("permissions", () => {
  it("applies @everyone, role, then member overwrites, and the implicit rules", () => {
    const { world, fixtures } = buildWorld({ channels: [{ key: "c", name: "c", botDeny: "SEND_MESSAGES" }] });
    const subject = {
      guildId: world.guild.id,
      ownerId: world.guild.ownerId,
      rolePermissions: new Map([...world.roles.values()].map((r) => [r.id, r.permissions])),
    };
    const everyone = world.guild.id;
    const role = fixtures.roles.bot.id;
    const user = fixtures.bot.id;
    const overwrites = [
      { id: everyone, type: 0 as const, allow: 0n, deny: PERMISSIONS.AttachFiles },
      { id: role, type: 0 as const, allow: PERMISSIONS.AttachFiles, deny: 0n },
    ];
    expect(has(channelPermissions(subject, user, [role], 0, overwrites), PERMISSIONS.AttachFiles)).toBe(true);
    const memberDeny = [
      ...overwrites,
      { id: user, type: 1 as const, allow: 0n, deny: PERMISSIONS.AttachFiles },
    ];
    expect(has(channelPermissions(subject, user, [role], 0, memberDeny), PERMISSIONS.AttachFiles)).toBe(
      false,
    );
    // Without SEND_MESSAGES a text channel also takes away ATTACH_FILES, EMBED_LINKS, MENTION_EVERYONE.
    const noSend = [{ id: user, type: 1 as const, allow: 0n, deny: PERMISSIONS.SendMessages }];
    const perms = channelPermissions(subject, user, [role], 0, noSend);
    expect(has(perms, PERMISSIONS.AttachFiles) || has(perms, PERMISSIONS.MentionEveryone)).toBe(false);
    const noView = [{ id: everyone, type: 0 as const, allow: 0n, deny: PERMISSIONS.ViewChannel }];
    expect(channelPermissions(subject, user, [role], 0, noView)).toBe(0n);
    expect(
      channelPermissions(subject, fixtures.users.admin.id, [fixtures.roles.admin.id], 0, noView),
    ).not.toBe(0n);
    expect(resolvePermissions(["AttachFiles", "SEND_MESSAGES"])).toBe(
      PERMISSIONS.AttachFiles | PERMISSIONS.SendMessages,
    );
    const c = world.channels.get(fixtures.channels.c!.id)!;
    expect(c.overwrites).toEqual([{ id: user, type: 1, allow: 0n, deny: PERMISSIONS.SendMessages }]);
  });
});

describe("mentions", () => {
  const { world, fixtures } = buildWorld({ roles: [{ key: "mods", name: "Mods", mentionable: false }] });
  const base = { authorId: fixtures.bot.id, channelId: fixtures.channels.text.id };
  const member = fixtures.users.member.id;
  it("pings per allowed_mentions and the author's permissions", () => {
    const content = `@here <@${member}> <@&${fixtures.roles.mods!.id}>`;
    expect(computeMentions(world, { ...base, content, allowedMentions: undefined })).toEqual({
      everyone: true,
      userIds: [member],
      roleIds: [fixtures.roles.mods!.id],
    });
    expect(computeMentions(world, { ...base, content, allowedMentions: { parse: [] } })).toEqual({
      everyone: false,
      userIds: [],
      roleIds: [],
    });
    expect(computeMentions(world, { ...base, content, allowedMentions: { users: [member] } })).toEqual({
      everyone: false,
      userIds: [member],
      roleIds: [],
    });
    expect(
      validateAllowedMentions({ parse: ["users"], users: [member] }, ["allowed_mentions"])[0]?.code,
    ).toBe("MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE");
    expect(validateAllowedMentions({ parse: ["nobody"] }, ["allowed_mentions"])[0]?.code).toBe(
      "BASE_TYPE_CHOICES",
    );
  });
});

describe("misc", () => {
  it("waveforms are base64 of 1–256 bytes", () => {
    expect(isValidWaveform(Buffer.alloc(256, 7).toString("base64"))).toBe(true);
    expect(isValidWaveform(Buffer.alloc(257, 7).toString("base64"))).toBe(false);
    expect(isValidWaveform("not base64!")).toBe(false);
  });
  it("builds Discord's nested form error tree", () => {
    expect(formErrorTree([{ path: ["data", "choices", 0, "name"], code: "C", message: "M" }])).toEqual({
      data: { choices: { "0": { name: { _errors: [{ code: "C", message: "M" }] } } } },
    });
  });
});
