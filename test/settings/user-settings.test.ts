import { describe, expect, it } from "vitest";
import { createUserSettingsStore, MAX_RECENT_VOICES } from "../../src/settings/user-settings.ts";

function memory() {
  const m = new Map<string, unknown>();
  return {
    m,
    kv: {
      get: async (k: string) => m.get(k),
      set: async (k: string, v: unknown) => m.set(k, structuredClone(v)),
      delete: async (k: string) => m.delete(k),
    },
  };
}

describe("user settings", () => {
  it("merges defaults, keeps unset fields, and resets", async () => {
    const { kv } = memory();
    const store = createUserSettingsStore(kv);
    await store.setDefaults("u", { voice: "Calm_Woman", speed: 1.2 });
    const after = await store.setDefaults("u", { pitch: -2, speed: undefined });
    expect(after.defaults).toEqual({ voice: "Calm_Woman", speed: 1.2, pitch: -2 });
    expect((await store.get("u")).defaults).toEqual(after.defaults);
    expect((await store.resetDefaults("u")).defaults).toEqual({});
  });

  it("keeps the most recent voices first, without duplicates, bounded", async () => {
    const { kv } = memory();
    const store = createUserSettingsStore(kv);
    for (const id of ["a", "b", "c", "a", "d", "e", "f", "g"]) await store.rememberVoice("u", id);
    const recent = (await store.get("u")).recentVoices;
    expect(recent).toEqual(["g", "f", "e", "d", "a"]);
    expect(recent).toHaveLength(MAX_RECENT_VOICES);
  });

  it("replaces a corrupt stored record instead of failing", async () => {
    const { kv, m } = memory();
    m.set("u", { defaults: { speed: "fast" }, recentVoices: 3 });
    const store = createUserSettingsStore(kv);
    expect(await store.get("u")).toEqual({ defaults: {}, recentVoices: [], optedOut: false });
  });

  it("refuses out-of-range values", async () => {
    const store = createUserSettingsStore(memory().kv);
    await expect(store.setDefaults("u", { speed: 5 })).rejects.toThrow();
  });

  it("records the opt-out from being read, keeping the member's defaults, and back", async () => {
    const store = createUserSettingsStore(memory().kv);
    expect((await store.get("u")).optedOut).toBe(false);
    await store.setDefaults("u", { voice: "Calm_Woman" });
    await store.setOptedOut("u", true);
    expect(await store.get("u")).toMatchObject({ optedOut: true, defaults: { voice: "Calm_Woman" } });
    // Resetting voice defaults is not opting back in.
    await store.resetDefaults("u");
    expect((await store.get("u")).optedOut).toBe(true);
    await store.setOptedOut("u", false);
    expect((await store.get("u")).optedOut).toBe(false);
    expect((await store.get("other")).optedOut).toBe(false);
  });
});
