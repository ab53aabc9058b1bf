import { describe, expect, it } from "vitest";
import { UserFacingError } from "../../src/user-facing-error.ts";
import { createDesignedVoiceStore } from "../../src/voices/designed-store.ts";
import {
  cleanDesignedName,
  createDesignedVoices,
  designedVoiceId,
  isDesignedVoiceId,
} from "../../src/voices/designed-voices.ts";
import { createPreviewLimiter, PreviewRateLimitedError } from "../../src/voices/preview-limits.ts";
import { previewText } from "../../src/voices/preview-text.ts";
import { previewCacheKey } from "../../src/voices/voice-preview.ts";

describe("previewText", () => {
  it.each([
    ["English_CalmWoman", /^Hello!/],
    ["Wise_Woman", /^Hello!/],
    ["Japanese_KindLady", /^こんにちは/],
    ["Chinese (Mandarin)_News_Anchor", /^你好/],
    ["French_Female_News Anchor", /^Bonjour/],
    ["czech_male_1_v1", /^Ahoj/],
    ["male-qn-qingse", /^Hello!/],
  ])("%s → %s", (voiceId, expected) => {
    expect(previewText(voiceId)).toMatch(expected);
  });

  it("keys the cache by provider, model, voice and sentence", () => {
    const a = previewCacheKey("minimax", "speech-2.8-hd", "Wise_Woman", "Hi");
    expect(previewCacheKey("minimax", "speech-2.8-hd", "Wise_Woman", "Hi")).toBe(a);
    expect(previewCacheKey("minimax", "speech-2.6-hd", "Wise_Woman", "Hi")).not.toBe(a);
    expect(previewCacheKey("aimlapi", "speech-2.8-hd", "Wise_Woman", "Hi")).not.toBe(a);
  });
});

describe("preview limiter (memory)", () => {
  it("refuses the member past their allowance, then the server past its own", async () => {
    const limiter = createPreviewLimiter({
      storage: { kind: "sqlite", redis: undefined },
      member: { points: 2, durationSeconds: 60 },
      guild: { points: 3, durationSeconds: 60 },
    });
    await limiter.consume("a", "g");
    await limiter.consume("a", "g");
    const member = await limiter.consume("a", "g").catch((e: unknown) => e);
    expect(member).toBeInstanceOf(PreviewRateLimitedError);
    expect((member as PreviewRateLimitedError).scope).toBe("member");
    await limiter.consume("b", "g");
    const guild = await limiter.consume("c", "g").catch((e: unknown) => e);
    expect((guild as PreviewRateLimitedError).scope).toBe("guild");
    await expect(limiter.consume("c", "other")).resolves.toBeUndefined();
  });
});

describe("designed voice names and ids", () => {
  it.each([
    ["  Old   Captain ", "Old Captain"],
    ["Zoë-2", "Zoë-2"],
    ["O'Brien", "O'Brien"],
  ])("%j → %j", (raw, clean) => {
    expect(cleanDesignedName(raw)).toBe(clean);
  });
  it.each(["", "<@123>", "a".repeat(33), "-dash", "under_score"])("refuses %j", (raw) => {
    expect(() => cleanDesignedName(raw)).toThrow(UserFacingError);
  });
  it("makes ids MiniMax accepts and the planner recognises", () => {
    const id = designedVoiceId(1_700_000_000_000);
    expect(id).toMatch(/^designed-[a-z0-9]+-[0-9a-f]{12}$/);
    expect(isDesignedVoiceId(id)).toBe(true);
    expect(isDesignedVoiceId("Wise_Woman")).toBe(false);
  });
});

function memoryKv() {
  const map = new Map<string, unknown>();
  return { get: async (k: string) => map.get(k), set: async (k: string, v: unknown) => map.set(k, v) };
}

function service(opts: { access?: "members" | "moderators"; fail?: Error } = {}) {
  const calls = { design: 0, delete: 0, held: [] as string[], settled: [] as number[], released: 0 };
  let n = 0;
  const voices = createDesignedVoices({
    store: createDesignedVoiceStore(memoryKv()),
    provider: {
      capabilities: { stream: false, async: false, voices: false, maxSyncChars: 1, voiceDesign: true },
      voiceDesign: {
        async design(input) {
          calls.design++;
          if (opts.fail) throw opts.fail;
          return { voiceId: input.voiceId, trialAudio: Buffer.from([0xff, 0xfb]), traceId: undefined };
        },
        async delete() {
          calls.delete++;
        },
      },
    },
    designAccess: async () => opts.access ?? "members",
    reserve: async ({ holdId }) => {
      calls.held.push(holdId);
      return {
        settle: async (c) => void calls.settled.push(c ?? -1),
        release: async () => void calls.released++,
      };
    },
    logger: { warn: () => {} },
    newVoiceId: () => `designed-test-${++n}`,
  });
  return { voices, calls };
}

const member = { userId: "u1", guildId: "g1", roleIds: [], isManager: false, isModerator: false };
const other = { ...member, userId: "u2" };
const elsewhere = { ...member, guildId: "g2" };

describe("designed voices", () => {
  it("designs, bills the preview text, and resolves names and ids only for the owner in that server", async () => {
    const { voices, calls } = service();
    const { voice } = await voices.design({
      actor: member,
      name: "Captain",
      prompt: "p",
      previewText: "Ahoy!",
    });
    expect(voice).toMatchObject({ voiceId: "designed-test-1", state: "ready", ownerId: "u1", guildId: "g1" });
    expect(calls.held).toEqual(["design:designed-test-1"]);
    expect(calls.settled).toEqual([5]);
    expect(await voices.resolve("captain", member)).toBe("designed-test-1");
    expect(await voices.resolve("designed-test-1", member)).toBe("designed-test-1");
    expect(await voices.resolve("Wise_Woman", member)).toBe("Wise_Woman");
    await expect(voices.resolve("designed-test-1", other)).rejects.toThrow(UserFacingError);
    await expect(voices.resolve("designed-test-1", elsewhere)).rejects.toThrow(UserFacingError);
    await expect(voices.resolve("designed-test-1", { userId: "u1", guildId: null })).rejects.toThrow(
      UserFacingError,
    );
    // A name is the other member's voice name only for them.
    expect(await voices.resolve("captain", other)).toBe("captain");
  });

  it("shares with the server only by a moderator; deletes at the provider; others cannot delete", async () => {
    const { voices, calls } = service();
    await voices.design({ actor: member, name: "Captain", prompt: "p", previewText: "Ahoy!" });
    await expect(voices.share(member, "Captain", true)).rejects.toThrow("Only moderators");
    const mod = { ...member, isModerator: true };
    await voices.share(mod, "Captain", true);
    expect(await voices.resolve("designed-test-1", other)).toBe("designed-test-1");
    await expect(voices.delete(other, "Captain")).rejects.toThrow("no designed voice");
    await voices.delete(member, "designed-test-1");
    expect(calls.delete).toBe(1);
    await expect(voices.resolve("designed-test-1", member)).rejects.toThrow(UserFacingError);
  });

  it("refuses members when moderators only may design, and duplicate names, before any call", async () => {
    const mods = service({ access: "moderators" });
    await expect(
      mods.voices.design({ actor: member, name: "X", prompt: "p", previewText: "t" }),
    ).rejects.toThrow("only moderators");
    expect(mods.calls.design + mods.calls.held.length).toBe(0);
    const { voices, calls } = service();
    await voices.design({ actor: member, name: "Twin", prompt: "p", previewText: "t" });
    await expect(
      voices.design({ actor: member, name: "twin", prompt: "p", previewText: "t" }),
    ).rejects.toThrow("already have");
    expect(calls.design).toBe(1);
  });

  it("releases the hold and forgets the voice when MiniMax refuses", async () => {
    const { InvalidInputError } = await import("../../src/speech/errors.ts");
    const { voices, calls } = service({
      fail: new InvalidInputError("MiniMax error 2013", { provider: "minimax", code: 2013 }),
    });
    await expect(
      voices.design({ actor: member, name: "X", prompt: "p", previewText: "t" }),
    ).rejects.toThrow();
    expect(calls.released).toBe(1);
    expect(calls.settled).toEqual([]);
    expect(await voices.usable("g1", "u1")).toEqual([]);
  });
});

describe("designed voices without a provider that designs", () => {
  it("refuses clearly before anything is reserved", async () => {
    const { NO_DESIGN_MESSAGE } = await import("../../src/voices/designed-voices.ts");
    let reserved = 0;
    const voices = createDesignedVoices({
      store: createDesignedVoiceStore(memoryKv()),
      provider: {
        capabilities: { stream: false, async: false, voices: false, maxSyncChars: 1, voiceDesign: false },
      },
      designAccess: async () => "members",
      reserve: async () => {
        reserved++;
        return { settle: async () => {}, release: async () => {} };
      },
      logger: { warn: () => {} },
    });
    expect(voices.supported).toBe(false);
    await expect(voices.design({ actor: member, name: "X", prompt: "p", previewText: "t" })).rejects.toThrow(
      NO_DESIGN_MESSAGE,
    );
    expect(reserved).toBe(0);
  });
});
