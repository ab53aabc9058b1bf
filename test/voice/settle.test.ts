import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import { ContentRefusedError } from "../../src/speech/errors.ts";
import type { ClipReservation, PlayItem } from "../../src/voice/guild-player.ts";
import { createSettleHandler } from "../../src/voice/settle.ts";
import type { SourceOutcome } from "../../src/voice/speech-source.ts";

const item = {
  id: "i",
  userId: "200000000000000001",
  guildId: "100000000000000001",
  textChannelId: "100000000000000002",
  label: "hello there",
  request: { text: "hello there", model: "m", voiceId: "v", format: "pcm" },
  chars: 11,
  queuedAt: 0,
} as PlayItem & { guildId: string; textChannelId: string };

const refused = new ContentRefusedError("flagged", { provider: "minimax" });

describe("settling a voice clip", () => {
  it.each([
    {
      name: "played: settled to what the provider reported",
      outcome: { ok: true, cached: false, usageCharacters: 9, durationMs: 1 },
      billing: ["settle 9"],
      label: "ok",
      posted: false,
    },
    {
      name: "played, provider silent on usage: settled to the text",
      outcome: { ok: true, cached: false, usageCharacters: undefined, durationMs: 1 },
      billing: ["settle 11"],
      label: "ok",
      posted: false,
    },
    {
      name: "played, provider reported nothing billed: released",
      outcome: { ok: true, cached: false, usageCharacters: 0, durationMs: 1 },
      billing: ["release"],
      label: "ok",
      posted: false,
    },
    {
      name: "from the cache: released",
      outcome: { ok: true, cached: true, usageCharacters: undefined, durationMs: 1 },
      billing: ["release"],
      label: "cached",
      posted: false,
    },
    {
      name: "skipped before any audio: released, no notice",
      outcome: { ok: false, error: new Error("aborted"), partial: false, aborted: true },
      billing: ["release"],
      label: "skipped",
      posted: false,
    },
    {
      name: "skipped midway: settled to the text (the provider charged), no notice",
      outcome: { ok: false, error: new Error("aborted"), partial: true, aborted: true },
      billing: ["settle 11"],
      label: "skipped",
      posted: false,
    },
    {
      name: "refused before any audio: released, and the channel is told why",
      outcome: { ok: false, error: refused, partial: false, aborted: false },
      billing: ["release"],
      label: "content",
      posted: true,
    },
    {
      name: "failed with partial audio: settled to the text, and the channel is told",
      outcome: { ok: false, error: refused, partial: true, aborted: false },
      billing: ["settle 11"],
      label: "content",
      posted: true,
    },
  ] as { name: string; outcome: SourceOutcome; billing: string[]; label: string; posted: boolean }[])(
    "$name",
    async ({ outcome, billing, label, posted }) => {
      const calls: string[] = [];
      const reservation: ClipReservation = {
        settle: async (actual) => void calls.push(`settle ${actual}`),
        release: async () => void calls.push("release"),
      };
      const posts: string[] = [];
      const counts: string[] = [];
      const settle = createSettleHandler({
        post: async (_channel, content) => void posts.push(content),
        logger: createLogger({ level: "silent" }),
        count: (o) => counts.push(o),
      });
      settle(outcome, { ...item, reservation });
      await new Promise((r) => setImmediate(r));
      expect(calls).toEqual(billing);
      expect(counts).toEqual([label]);
      expect(posts).toHaveLength(posted ? 1 : 0);
      if (posted)
        expect(posts[0]).toMatch(
          /Could not read "hello there" for <@200000000000000001>: The speech service refused this text/,
        );
    },
  );

  it("settles nothing for a clip queued without a reservation", async () => {
    const settle = createSettleHandler({
      post: async () => {},
      logger: createLogger({ level: "silent" }),
    });
    expect(() =>
      settle(
        { ok: true, cached: false, usageCharacters: 9, durationMs: 1 },
        { ...item, reservation: undefined },
      ),
    ).not.toThrow();
  });
});
