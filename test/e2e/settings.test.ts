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
  // The full list comes as an embed (it is longer than a message may be).
  const listed = (reply.embeds as { description?: string }[]).map((e) => e.description ?? "");
  return [reply.content, ...listed].join("\n");
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
    const saved = await asAdmin("speech", { voice: "Calm_Woman", speed: 1.5 });
    expect(saved).toMatch(/^Saved\./);
    expect(saved).toContain("**Voice:** `Calm_Woman`");
    // A save answers with its own area only.
    expect(saved).not.toContain("Max concurrent jobs");
    await asAdmin("limits", {
      max_chars_per_request: 2500,
      guild_monthly_chars: 1_000_000,
      max_concurrent_jobs: 4,
    });
    await asAdmin("channels", { narration_channel: { channel: channels.text2.id } });
    await asAdmin("access", { moderator_role: { role: roles.admin.id }, approval_required: false });
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
    await asAdmin("speech", { voice: "Deep_Voice_Man" });
    await asAdmin("limits", { user_cooldown_seconds: 30 });
    await asAdmin("access", { speak_enabled: false });
    await h.restart();
    const shown = await asAdmin("show");
    expect(shown).toContain("**Voice:** `Deep_Voice_Man`");
    expect(shown).toContain("**Cooldown per member (seconds):** `30`");
    expect(shown).toContain("**Members may use /speak:** no");
    const reset = await asAdmin("reset", { section: "limits" });
    expect(reset).toContain("**Cooldown per member (seconds):** *unlimited*");
    expect(reset).not.toContain("**Voice:**");
    expect(await asAdmin("show")).toContain("**Voice:** `Deep_Voice_Man`");
  });

  it("refuses a member without Manage Server at run time, and saves nothing", async () => {
    const member = h.discord.fixtures.users.member.id;
    // The fake, like Discord for an admin-overridden command, delivers the interaction anyway.
    expect(await run("limits", member, { max_concurrent_jobs: 9 })).toMatch(/Manage Server/);
    expect(await run("reading", member, { auto_read: true })).toMatch(/Manage Server/);
    expect(await run("reset", member)).toMatch(/Manage Server/);
    expect(await run("show", member)).toMatch(/Manage Server/);
    expect(await asAdmin("show")).toContain("**Max concurrent jobs:** `2`");
  });

  it("refuses an emotion the chosen model cannot do, with the reason, and saves nothing", async () => {
    const answer = await asAdmin("speech", { model: "speech-2.8-hd", emotion: "whisper" });
    expect(answer).toMatch(/"whisper" does not work with speech-2\.8-hd\. It accepts: .*calm/);
    const shown = await asAdmin("show");
    expect(shown).toContain("**Model:** *bot default*");
    expect(shown).toContain("**Emotion:** *bot default*");
  });

  it("asks for at least one option, with an example from the same area", async () => {
    expect(await asAdmin("limits")).toMatch(/at least one setting.*`\/settings limits /);
    expect(await asAdmin("reading")).toMatch(/at least one setting.*`\/settings reading auto_read:true`/);
  });
});

describe("/settings layout", () => {
  type Option = { name: string; type: number; options?: Option[]; choices?: { value: string }[] };
  const subcommands = () =>
    (h.discord.registeredCommands(h.discord.fixtures.guild.id).find((c) => c.name === "settings")?.options ??
      []) as Option[];

  it("has one subcommand per area, each well within Discord's 25 options", () => {
    const subs = subcommands().map((o) => o.name);
    expect(subs).toEqual([
      "show",
      "speech",
      "channels",
      "limits",
      "access",
      "voice-channel",
      "reading",
      "reset",
    ]);
    for (const sub of subcommands()) {
      expect(sub.type).toBe(1);
      expect(sub.options?.length ?? 0).toBeLessThanOrEqual(20);
    }
    const reset = subcommands().find((o) => o.name === "reset");
    expect(reset?.options?.[0]?.choices?.map((c) => c.value)).toEqual([
      "speech",
      "channels",
      "limits",
      "access",
      "voice-channel",
      "reading",
      "all",
    ]);
  });

  it("keeps every option name of the former /settings set, and has the new ones", () => {
    const names = new Set(
      subcommands().flatMap((sub) =>
        ["show", "reset"].includes(sub.name) ? [] : (sub.options ?? []).map((o) => o.name),
      ),
    );
    for (const name of [
      "voice",
      "model",
      "speed",
      "emotion",
      "language",
      "narration_channel",
      "requests_channel",
      "max_chars_per_request",
      "user_daily_chars",
      "guild_daily_chars",
      "guild_monthly_chars",
      "user_cooldown_seconds",
      "max_concurrent_jobs",
      "narrate_cooldown_seconds",
      "max_open_jobs_per_member",
      "approval_required",
      "moderator_role",
      "speak_enabled",
      "speak_role",
      "auto_read",
      "read_bots",
      "backlog_speedup",
      "backlog_threshold",
      "backlog_max_speed",
      // New.
      "voice_design_access",
      "join_announcements",
      "text_in_voice",
      "require_voice",
      "read_role",
      "ignore_role",
      "ignore_audience",
      "name_style",
      "name_template",
      "skip_prefixes",
      "max_length",
      "describe_files",
    ]) {
      expect(names, name).toContain(name);
    }
  });
});

describe("/settings reading, access and voice-channel", () => {
  it("saves the auto-read settings and shows them", async () => {
    const { roles } = h.discord.fixtures;
    const saved = await asAdmin("reading", {
      auto_read: true,
      text_in_voice: false,
      require_voice: false,
      read_role: { role: roles.admin.id },
      name_style: "username",
      name_template: "message from {name}",
      skip_prefixes: "~  (ooc)",
      max_length: 120,
      describe_files: false,
    });
    for (const line of [
      "**Read chat aloud in voice:** yes",
      "**Read the voice channel's own chat:** no",
      "**Only read members in the voice channel:** no",
      `**Role required to be read:** <@&${roles.admin.id}>`,
      "**Name spoken:** `username`",
      "**Before a new speaker:** `message from {name}`",
      "**Not read when starting with:** `~` `(ooc)`",
      "**Longest message read (characters):** `120`",
      "**Say when files or stickers are sent:** no",
      "**Ignore the stage audience:** yes",
    ]) {
      expect(saved).toContain(line);
    }
  });

  it("@everyone as a role clears it, and none reads every message", async () => {
    const { roles } = h.discord.fixtures;
    await asAdmin("reading", { read_role: { role: roles.admin.id }, ignore_role: { role: roles.admin.id } });
    const cleared = await asAdmin("reading", {
      read_role: { role: roles.everyone.id },
      ignore_role: { role: roles.everyone.id },
      skip_prefixes: "none",
    });
    expect(cleared).toContain("**Role required to be read:** *none*");
    expect(cleared).toContain("**Role never read:** *none*");
    expect(cleared).toContain("**Not read when starting with:** *none (every message is read)*");
  });

  it.each([
    [
      { name_template: "someone said" },
      /^Before a new speaker was not saved: must contain \{name\} exactly once/,
    ],
    [{ name_template: "{nmae} said {name}" }, /no placeholder other than \{name\}/],
    [{ skip_prefixes: "! ! //" }, /^Not read when starting with was not saved: lists a prefix twice/],
    [{ skip_prefixes: "a b c d e f g h i j k" }, /at most 10 prefixes/],
  ])("refuses %j with the reason, saving nothing", async (options, reason) => {
    expect(await asAdmin("reading", { auto_read: true, ...options })).toMatch(reason);
    expect(await asAdmin("show", { area: "reading" })).toContain("**Read chat aloud in voice:** no");
  });

  it("saves who may design voices and join announcements; reset by area", async () => {
    expect(await asAdmin("access", { voice_design_access: "moderators" })).toContain(
      "**Who may design voices:** `moderators`",
    );
    expect(await asAdmin("voice-channel", { join_announcements: true })).toContain(
      "**Announce members joining and leaving:** yes",
    );
    const reset = await asAdmin("reset", { section: "access" });
    expect(reset).toContain("**Who may design voices:** `members`");
    expect(reset).not.toContain("Announce members");
    expect(await asAdmin("show")).toContain("**Announce members joining and leaving:** yes");
  });
});
