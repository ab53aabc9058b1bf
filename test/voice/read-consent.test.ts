import { describe, expect, it } from "vitest";
import { createUserSettingsStore } from "../../src/settings/user-settings.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";
import { assertMayReadAloud } from "../../src/voice/read-consent.ts";

function memoryKv() {
  const data = new Map<string, unknown>();
  return {
    get: async (k: string) => data.get(k),
    set: async (k: string, v: unknown) => void data.set(k, v),
    delete: async (k: string) => data.delete(k),
  };
}

describe("assertMayReadAloud", () => {
  it.each<[string, boolean, string, boolean]>([
    ["another member's message", false, "caller", true],
    ["an opted-out member's message, by someone else", true, "caller", false],
    ["an opted-out member's own message", true, "author", true],
  ])("%s", async (_name, optedOut, caller, allowed) => {
    const users = createUserSettingsStore(memoryKv() as never);
    if (optedOut) await users.setOptedOut("author", true);
    const result = await assertMayReadAloud(users, "author", caller).then(
      () => true,
      (e: unknown) => e,
    );
    if (allowed) expect(result).toBe(true);
    else {
      expect(result).toBeInstanceOf(UserFacingError);
      expect((result as Error).message).toMatch(/asked not to be read aloud/);
    }
  });
});
