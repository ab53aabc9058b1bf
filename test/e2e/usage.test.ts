import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage, OptionValue } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/**
 * Character budgets end to end: `/settings` sets a daily budget, `/speak` is counted and then refused
 * before MiniMax is called, cache hits are free, and `/usage` reports it all.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const EPHEMERAL = 64;
const FIRST = "Twenty characters!!!";
const SECOND = "Another twenty chars";

const synthCalls = () => h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").length;
const hasFiles = (m: FakeMessage) => m.attachments.length > 0;

function speak(text: string) {
  return h.discord.dispatchCommand({
    name: "speak",
    user: h.discord.fixtures.users.member.id,
    options: { text },
  });
}

async function usage(user: string): Promise<string> {
  const reply = await h.discord
    .dispatchCommand({ name: "usage", user })
    .waitForResponse((m) => m.embeds.length > 0);
  expect(reply.flags ?? 0).toBe(EPHEMERAL);
  expect(reply.allowed_mentions).toEqual({ parse: [] });
  return JSON.stringify(reply.embeds);
}

async function settings(options: Record<string, OptionValue>) {
  await applySettings(h.discord, options);
}

describe("character budgets", () => {
  it("counts /speak, refuses over budget before calling MiniMax, and serves cache hits free", async () => {
    expect([...FIRST]).toHaveLength(20);
    expect([...SECOND]).toHaveLength(20);
    await settings({ user_daily_chars: 30 });

    await speak(FIRST).waitForResponse(hasFiles);
    expect(synthCalls()).toBe(1);

    const before = synthCalls();
    const refused = await speak(SECOND).waitForResponse((m) => /budget/.test(m.content));
    expect(refused.flags ?? 0).toBe(EPHEMERAL);
    expect(refused.content).toContain("10 of 30 characters left");
    expect(refused.content).toMatch(/resets <t:\d+:R>/);
    expect(synthCalls()).toBe(before);

    // The first text again is a cache hit: delivered, no provider call, nothing counted.
    await speak(FIRST).waitForResponse(hasFiles);
    expect(synthCalls()).toBe(before);

    const mine = await usage(h.discord.fixtures.users.member.id);
    expect(mine).toContain("**Today:** 20 used · 10 left");
    expect(mine).toContain("**This month:** 20 used");
    expect(mine).not.toContain("Top 10");
  });

  it("shows moderators the top users of the month", async () => {
    const shown = await usage(h.discord.fixtures.users.admin.id);
    expect(shown).toContain("Top 10 this month");
    expect(shown).toContain(`1. <@${h.discord.fixtures.users.member.id}> — 20`);
    // The server's own usage, with no server budget set.
    expect(shown).toContain("**This month:** 20 used · no limit");
  });
});
