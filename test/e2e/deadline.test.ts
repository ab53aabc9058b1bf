import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createUsageLedger } from "../../src/settings/usage.ts";
import { createStorage } from "../../src/storage/storage.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";

/**
 * A request that cannot start before its interaction token expires is refused at once, with when to
 * try again, and nothing is billed: with one synthesis a minute allowed, the 16th member in line
 * would start after Discord's 15 minutes are over, so there is no point in waiting (or paying).
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { TTS_RATE_LIMIT_RPM: "1", SPEAK_MAX_CONCURRENT: "100" } });
});
afterAll(async () => {
  await h?.close();
});

const synthCalls = () => h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").length;

describe("interaction deadlines", () => {
  it("refuses at once what could only start after the token expires, and bills nothing", async () => {
    const members = Array.from({ length: 17 }, (_, i) => h.discord.addMember({ username: `waiter${i}` }));
    // The first takes this minute's only slot; the next ones wait a minute each.
    await h.discord
      .dispatchCommand({ name: "speak", user: members[0]!, options: { text: "The only slot." } })
      .waitForResponse((m: FakeMessage) => m.attachments.length > 0);
    expect(synthCalls()).toBe(1);
    for (let i = 1; i < 16; i++) {
      h.discord.dispatchCommand({ name: "speak", user: members[i]!, options: { text: `Waiting ${i}.` } });
    }
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const late = members[16]!;
    const refused = await h.discord
      .dispatchCommand({ name: "speak", user: late, options: { text: "Too late for me." } })
      .waitForResponse((m) => /busy/i.test(m.content), 5_000);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(((refused.flags ?? 0) & 64) === 64).toBe(true);
    expect(refused.content).toMatch(/try again in about \d+/i);
    expect(synthCalls()).toBe(1);

    const storage = await createStorage(`sqlite://${join(h.dataDir, "bot.sqlite")}`);
    try {
      const ledger = createUsageLedger(budgetStoreFor(storage));
      const usage = await ledger.summary(h.discord.fixtures.guild.id, late, {});
      expect(usage.user.day).toBe(0);
      expect(await ledger.holds(Date.now() + 1).then((hs) => hs.filter((x) => x.userId === late))).toEqual(
        [],
      );
    } finally {
      await storage.close();
    }
  });
});
