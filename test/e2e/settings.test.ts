import { PermissionFlagsBits } from "discord.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { OptionValue } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";

/** `/settings` end to end: the real bot against the fake Discord, stored in the bot's SQLite file. */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const EPHEMERAL = 64;

async function run(sub: string, user: string, options: Record<string, OptionValue> = {}) {
  const reply = await h.discord
    .dispatchCommand({ name: `settings ${sub}`, user, options })
    .waitForResponse((m) => m.content.length > 0);
  expect(reply.flags ?? 0).toBe(EPHEMERAL);
  expect(reply.allowed_mentions).toEqual({ parse: [] });
  return reply.content;
}
const asAdmin = (sub: string, options?: Record<string, OptionValue>) =>
  run(sub, h.discord.fixtures.users.admin.id, options);

beforeEach(async () => {
  await asAdmin("reset");
});

describe("/settings", () => {
  it("is registered for Manage Server members, in guilds only", () => {
    const def = h.discord.registeredCommands(h.discord.fixtures.guild.id).find((c) => c.name === "settings");
    expect(def?.default_member_permissions).toBe(PermissionFlagsBits.ManageGuild.toString());
    expect(def?.contexts).toEqual([0]);
  });

  it("saves what the admin sets, and show displays it", async () => {
    const { channels, roles } = h.discord.fixtures;
    const saved = await asAdmin("set", {
      voice: "Calm_Woman",
      speed: 1.5,
      max_chars_per_request: 2500,
      guild_monthly_chars: 1_000_000,
      max_concurrent_jobs: 4,
      narration_channel: { channel: channels.text2.id },
      moderator_role: { role: roles.admin.id },
      approval_required: false,
    });
    expect(saved).toMatch(/^Saved\./);
    const shown = await asAdmin("show");
    for (const line of [
      "**Voice:** `Calm_Woman`",
      "**Speed:** `1.5`",
      "**Max characters per request:** `2,500`",
      "**Monthly characters for the server:** `1,000,000`",
      "**Max concurrent jobs:** `4`",
      `**Narration channel:** <#${channels.text2.id}>`,
      `**Moderator role:** <@&${roles.admin.id}>`,
      "**Narration requests need approval:** no",
      "**Daily characters per member:** *unlimited*",
    ]) {
      expect(shown).toContain(line);
    }
  });

  it("keeps the settings across a restart, and reset by section forgets only that section", async () => {
    await asAdmin("set", { voice: "Deep_Voice_Man", user_cooldown_seconds: 30, speak_enabled: false });
    await h.restart();
    const shown = await asAdmin("show");
    expect(shown).toContain("**Voice:** `Deep_Voice_Man`");
    expect(shown).toContain("**Cooldown per member (seconds):** `30`");
    expect(shown).toContain("**Members may use /speak:** no");
    const reset = await asAdmin("reset", { section: "limits" });
    expect(reset).toContain("**Cooldown per member (seconds):** *unlimited*");
    expect(reset).toContain("**Voice:** `Deep_Voice_Man`");
  });

  it("refuses a member without Manage Server at run time, and saves nothing", async () => {
    const member = h.discord.fixtures.users.member.id;
    // The fake, like Discord for an admin-overridden command, delivers the interaction anyway.
    expect(await run("set", member, { max_concurrent_jobs: 9 })).toMatch(/Manage Server/);
    expect(await run("show", member)).toMatch(/Manage Server/);
    expect(await asAdmin("show")).toContain("**Max concurrent jobs:** `2`");
  });

  it("refuses an emotion the chosen model cannot do, with the reason, and saves nothing", async () => {
    const answer = await asAdmin("set", { model: "speech-2.8-hd", emotion: "whisper" });
    expect(answer).toMatch(/"whisper" does not work with speech-2\.8-hd\. It accepts: .*calm/);
    const shown = await asAdmin("show");
    expect(shown).toContain("**Model:** *bot default*");
    expect(shown).toContain("**Emotion:** *bot default*");
  });

  it("asks for at least one option", async () => {
    expect(await asAdmin("set")).toMatch(/at least one setting/);
  });
});
