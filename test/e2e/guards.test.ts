import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createJobStore } from "../../src/jobs/store.ts";
import { createRequestStore } from "../../src/requests/store.ts";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createUsageLedger } from "../../src/settings/usage.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import type { FakeMessage, OptionValue } from "../fakes/discord/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/**
 * The guards where strangers and money meet the bot, as members see them: every way of spending
 * characters is refused over budget *before* MiniMax is called, concurrent requests cannot overspend
 * a budget together, speech is refused in DMs, and nothing of one server can be acted on from another.
 */

const EPHEMERAL = 64;
const SYNC_PATHS = ["/v1/t2a_v2", "/v1/t2a_async_v2", "/v1/files/upload"];
/** Exactly `n` characters, with no whitespace at either end (texts are trimmed). */
const text = (n: number) => `${"Narrate me. ".repeat(Math.ceil(n / 12)).slice(0, n - 1)}.`;

let h: Harness;
let storage: Storage;
const ledger = () => createUsageLedger(budgetStoreFor(storage));

const admin = () => h.discord.fixtures.users.admin.id;
const member = () => h.discord.fixtures.users.member.id;
const channel = () => h.discord.fixtures.channels.text.id;
const paidCalls = () => h.minimax.requests.filter((r) => SYNC_PATHS.includes(r.path)).length;
const creates = () => h.minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").length;
const isEphemeral = (m: FakeMessage) => ((m.flags ?? 0) & EPHEMERAL) === EPHEMERAL;

async function settings(options: Record<string, OptionValue>) {
  await applySettings(h.discord, options, { user: admin() });
}

async function resetSettings() {
  await h.discord
    .dispatchCommand({ name: "settings reset", user: admin(), options: {} })
    .waitForResponse((m) => m.content.length > 0);
}

function command(name: string, options: Record<string, OptionValue>, user = member()) {
  return h.discord.dispatchCommand({ name, user, channelId: channel(), options });
}

const answer = (handle: ReturnType<typeof command>) => handle.waitForResponse((m) => m.content.length > 0);
const jobIdIn = (content: string) => /job `([^`]+)`/.exec(content)?.[1];

/** The members' usage is counted per UTC day: each test starts from a fresh server and fresh members. */
async function freshMembers(): Promise<[string, string]> {
  return [
    h.discord.addMember({ username: `m${Date.now()}a` }),
    h.discord.addMember({ username: `m${Date.now()}b` }),
  ];
}

beforeAll(async () => {
  h = await startHarness({
    env: { SYNC_MAX_CHARS: "500", SPEAK_COOLDOWN_SECONDS: "0" },
    minimax: { asyncProcessingMs: 150 },
  });
  // The bot's own SQLite file, opened beside it (WAL): to read budgets and plant other servers' records.
  storage = await createStorage(`sqlite://${join(h.dataDir, "bot.sqlite")}`);
});
afterAll(async () => {
  await storage?.close();
  await h?.close();
});
afterEach(async () => {
  await resetSettings();
});

describe("budgets hold on every way of spending characters", () => {
  it("a long /speak and a /narrate over the member's daily budget are refused before any call; one within is served", async () => {
    const [who] = await freshMembers();
    await settings({ user_daily_chars: 600 });
    const before = paidCalls();

    const longSpeak = await answer(command("speak", { text: text(900) }, who));
    expect(isEphemeral(longSpeak)).toBe(true);
    expect(longSpeak.content).toMatch(/That needs 900 characters, but your daily budget has 600 of 600/);
    expect(longSpeak.content).toMatch(/resets <t:\d+:R>/);

    const narrate = await answer(command("narrate", { text: text(900) }, who));
    expect(isEphemeral(narrate)).toBe(true);
    expect(narrate.content).toMatch(/your daily budget has 600 of 600 characters left/);
    expect(paidCalls()).toBe(before);

    const within = await answer(command("narrate", { text: text(550) }, who));
    const jobId = jobIdIn(within.content);
    expect(jobId).toBeDefined();
    await waitFor(() => creates() > 0 && paidCalls() > before, 10_000, "the narration's task");

    // 550 of 600 are now held: a second one of 100 no longer fits.
    const over = await answer(command("narrate", { text: text(100) }, who));
    expect(over.content).toMatch(/50 of 600 characters left/);
  });

  it("two concurrent narrations that together exceed the server's budget: exactly one is accepted", async () => {
    const [a, b] = await freshMembers();
    // What the server already used today, so that 700 more fit once but not twice.
    const guild = h.discord.fixtures.guild.id;
    const { guild: used } = await ledger().summary(guild, a, {});
    await settings({ guild_daily_chars: used.day + 1000 });

    const before = creates();
    const replies = await Promise.all([
      answer(command("narrate", { text: text(700) }, a)),
      answer(command("narrate", { text: text(700) }, b)),
    ]);
    const accepted = replies.filter((r) => jobIdIn(r.content) !== undefined);
    const refused = replies.filter((r) => /server's daily budget/.test(r.content));
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    await waitFor(() => creates() === before + 1, 10_000, "one task");
    await new Promise((r) => setTimeout(r, 300));
    expect(creates()).toBe(before + 1);
  });

  it("Retry of a failed narration is refused when the budget is spent, and charges nothing", async () => {
    const [who] = await freshMembers();
    await settings({ user_daily_chars: 700 });
    h.minimax.inject({ kind: "taskFailed" });
    const started = await answer(command("narrate", { text: text(600) }, who));
    const jobId = jobIdIn(started.content)!;
    const status = () =>
      h.discord.messagesIn(channel()).find((m) => JSON.stringify(m.embeds).includes(`job ${jobId}`));
    await waitFor(() => JSON.stringify(status()?.embeds ?? []).includes("Failed"), 20_000, "failed");
    // MiniMax charged for the failed task: 600 of 700 are used, so a retry of 600 does not fit.
    const before = creates();
    const retry = await answer(
      h.discord.dispatchComponent({ customId: `jobs:retry:${jobId}`, message: status()!.id, user: who }),
    );
    expect(isEphemeral(retry)).toBe(true);
    expect(retry.content).toMatch(/100 of 700 characters left/);
    await new Promise((r) => setTimeout(r, 300));
    expect(creates()).toBe(before);

    // Within the budget again, the same button works.
    await settings({ user_daily_chars: 5000 });
    const again = await answer(
      h.discord.dispatchComponent({ customId: `jobs:retry:${jobId}`, message: status()!.id, user: who }),
    );
    expect(again.content).toMatch(/queued again/);
    await waitFor(() => creates() === before + 1, 10_000, "the retried task");
  });

  it("an approved request over the requester's budget fails with the reason, and no task is created", async () => {
    const [who] = await freshMembers();
    await settings({
      user_daily_chars: 200,
      requests_channel: { channel: channel() },
      narration_channel: { channel: channel() },
      approval_required: true,
    });
    const submitted = await answer(command("request submit", { title: "Too long", text: text(600) }, who));
    const id = /Request `([^`]+)`/.exec(submitted.content)![1]!;
    const card = h.discord
      .messagesIn(channel())
      .find((m) => JSON.stringify(m.embeds).includes(`request ${id}`))!;
    const before = creates();
    const ack = await h.discord
      .dispatchComponent({ customId: `request:approve:${id}`, message: card.id, user: admin() })
      .waitForAck();
    expect(ack.type).toBe(9);
    await answer(
      h.discord.dispatchModalSubmit({
        customId: `request:approve:${id}`,
        user: admin(),
        channelId: channel(),
        fields: { reason: "" },
      }),
    );
    await waitFor(
      () => JSON.stringify(h.discord.message(card.id)?.embeds ?? []).includes("budget"),
      10_000,
      "the card showing the budget refusal",
    );
    expect(creates()).toBe(before);
  });

  it("a voice clip is refused over budget before synthesis", async () => {
    const [who] = await freshMembers();
    await settings({ user_daily_chars: 10 });
    h.discord.setVoiceState(who, h.discord.fixtures.channels.voice.id);
    const before = paidCalls();
    const reply = await answer(
      command("speak", { text: "This is more than ten characters.", play: true }, who),
    );
    expect(reply.content).toMatch(/your daily budget has 10 of 10 characters left/);
    await new Promise((r) => setTimeout(r, 200));
    expect(paidCalls()).toBe(before);
    h.discord.setVoiceState(who, null);
  });
});

describe("narrations are for servers", () => {
  it("Discord does not offer a server's commands in DMs", () => {
    for (const name of ["speak", "narrate"]) {
      expect(() =>
        h.discord.dispatchCommand({ name, user: member(), guildId: null, options: { text: "hi" } }),
      ).toThrow(/not registered/);
    }
  });

  it("the definitions say where each is offered: /narrate in servers only, /speak also as a member's own app", () => {
    const defs = h.discord.registeredCommands(h.discord.fixtures.guild.id);
    expect(defs.find((d) => d.name === "narrate")?.contexts).toEqual([0]);
    expect(defs.find((d) => d.name === "speak")?.contexts).toEqual([0, 1, 2]);
    expect(defs.find((d) => d.name === "speak")?.integration_types).toEqual([0, 1]);
  });
});

describe("server boundaries", () => {
  const OTHER_GUILD = "999999999999999999";

  it("a moderator here cannot cancel or read a narration of another server", async () => {
    const [who] = await freshMembers();
    // A job of server A (its id is public: it is in the status footer); the admin moderates this server.
    const jobs = createJobStore(storage.keyv("jobs"));
    const t = Date.now();
    const job = await jobs.put({
      id: jobs.newId(),
      state: "processing",
      requesterId: who,
      guildId: OTHER_GUILD,
      channelId: "999999999999999998",
      input: { kind: "text", text: text(300) },
      settings: { model: "speech-2.5-turbo-preview", voiceId: "Wise_Woman", format: "mp3" },
      chars: 300,
      provider: "minimax",
      taskId: "1",
      createdAt: t,
      updatedAt: t,
      attempts: 0,
      retries: 0,
      polls: 0,
      nextAt: t + 3_600_000,
    });
    for (const sub of ["jobs show", "jobs cancel"]) {
      const reply = await answer(command(sub, { id: job.id }, admin()));
      expect(reply.content).toMatch(/no (narration )?job/);
    }
    expect((await jobs.get(job.id))?.state).toBe("processing");
    // Its requester still can read it.
    const own = await answer(command("jobs show", { id: job.id }, who));
    expect(own.content).toContain(job.id);
  });

  it("request buttons of another server's request are refused", async () => {
    const [who] = await freshMembers();
    await settings({ requests_channel: { channel: channel() }, approval_required: true });
    const submitted = await answer(command("request submit", { title: "Elsewhere", text: text(300) }, who));
    const id = /Request `([^`]+)`/.exec(submitted.content)![1]!;
    const card = h.discord
      .messagesIn(channel())
      .find((m) => JSON.stringify(m.embeds).includes(`request ${id}`))!;
    await createRequestStore(storage.keyv("requests")).update(id, (r) => r && { ...r, guildId: OTHER_GUILD });
    for (const action of ["approve", "reject", "upvote"]) {
      const reply = await answer(
        h.discord.dispatchComponent({ customId: `request:${action}:${id}`, message: card.id, user: admin() }),
      );
      expect(reply.content).toMatch(/no narration request/);
    }
  });

  it("/narrate channel: needs the member's own permission to post there", async () => {
    const [who] = await freshMembers();
    const target = h.discord.fixtures.channels.text2.id;
    h.discord.setMemberPermissions(target, who, { deny: ["AttachFiles"] });
    const before = paidCalls();
    const reply = await answer(command("narrate", { text: text(600), channel: { channel: target } }, who));
    expect(reply.content).toMatch(
      /You cannot have a narration posted in <#\d+>: you are missing Attach Files/,
    );
    expect(paidCalls()).toBe(before);
    h.discord.setMemberPermissions(target, who, {});
  });
});
