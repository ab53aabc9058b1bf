import { describe, expect, it } from "vitest";
import { assertMayRequest } from "../../src/settings/access.ts";
import { GuildSettingsSchema } from "../../src/settings/settings.ts";

const settings = (raw: unknown) => GuildSettingsSchema.parse(raw);
const member = { roleIds: ["111111111111111111"], isManager: false };

describe("assertMayRequest", () => {
  it.each([
    ["defaults allow everything", {}, member, "speak", 5000, undefined],
    ["/speak turned off", { speak: { enabled: false } }, member, "speak", 10, /turned \/speak off/],
    [
      "managers may still speak",
      { speak: { enabled: false } },
      { ...member, isManager: true },
      "speak",
      10,
      undefined,
    ],
    [
      "narrate is not affected by the /speak switch",
      { speak: { enabled: false } },
      member,
      "narrate",
      10,
      undefined,
    ],
    [
      "required role missing",
      { speak: { requiredRoleId: "222222222222222222" } },
      member,
      "speak",
      10,
      /needs the <@&222222222222222222> role/,
    ],
    [
      "required role held",
      { speak: { requiredRoleId: "111111111111111111" } },
      member,
      "speak",
      10,
      undefined,
    ],
    [
      "over the per-request limit",
      { limits: { maxCharsPerRequest: 100 } },
      member,
      "narrate",
      101,
      /101 characters; this server allows at most 100/,
    ],
    ["at the per-request limit", { limits: { maxCharsPerRequest: 100 } }, member, "speak", 100, undefined],
  ] as const)("%s", (_name, raw, who, command, chars, error) => {
    const run = () => assertMayRequest(settings(raw), who, { command, chars });
    if (error) expect(run).toThrow(error);
    else expect(run).not.toThrow();
  });
});
