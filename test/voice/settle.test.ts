import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import { ContentRefusedError } from "../../src/tts/errors.ts";
import type { PlayItem } from "../../src/voice/guild-player.ts";
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
      name: "played: billed what the provider reported",
      outcome: { ok: true, cached: false, usageCharacters: 9, durationMs: 1 },
      billed: 9,
      label: "ok",
      posted: false,
    },
    {
      name: "played, provider silent on usage: billed the text",
      outcome: { ok: true, cached: false, usageCharacters: undefined, durationMs: 1 },
      billed: 11,
      label: "ok",
      posted: false,
    },
    {
      name: "from the cache: free",
      outcome: { ok: true, cached: true, usageCharacters: undefined, durationMs: 1 },
      billed: 0,
      label: "cached",
      posted: false,
    },
    {
      name: "skipped before any audio: free, no notice",
      outcome: { ok: false, error: new Error("aborted"), partial: false, aborted: true },
      billed: 0,
      label: "skipped",
      posted: false,
    },
    {
      name: "skipped midway: billed, no notice",
      outcome: { ok: false, error: new Error("aborted"), partial: true, aborted: true },
      billed: 11,
      label: "skipped",
      posted: false,
    },
    {
      name: "refused: free, and the channel is told why",
      outcome: { ok: false, error: refused, partial: false, aborted: false },
      billed: 0,
      label: "content",
      posted: true,
    },
  ] as { name: string; outcome: SourceOutcome; billed: number; label: string; posted: boolean }[])(
    "$name",
    async ({ outcome, billed, label, posted }) => {
      const records: number[] = [];
      const posts: string[] = [];
      const counts: string[] = [];
      const settle = createSettleHandler({
        budget: { record: async (_g, _u, chars) => void records.push(chars) },
        post: async (_channel, content) => void posts.push(content),
        logger: createLogger({ level: "silent" }),
        count: (o) => counts.push(o),
      });
      settle(outcome, item);
      await new Promise((r) => setImmediate(r));
      expect(records).toEqual(billed > 0 ? [billed] : []);
      expect(counts).toEqual([label]);
      expect(posts).toHaveLength(posted ? 1 : 0);
      if (posted)
        expect(posts[0]).toMatch(
          /Could not read "hello there" for <@200000000000000001>: The speech service refused this text/,
        );
    },
  );
});
