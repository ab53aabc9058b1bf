import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createUsageLedger } from "../../src/settings/usage.ts";
import { createStorage } from "../../src/storage/storage.ts";
import { type FakeDiscord, type FakeMessage, startFakeDiscord } from "../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { spawnBot, waitFor } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/**
 * The bot as a real process, killed with SIGKILL inside each window of a narration's and a request's
 * life where money is at stake, then started again on the same storage. Whatever the window: at most
 * one MiniMax task per narration, the result posted at most once, and the member's characters
 * counted exactly once (no hold left behind).
 */

const CREATE = "/v1/t2a_async_v2";
const QUERY = "/v1/query/t2a_async_query_v2";
const LONG = "Every story has a beginning, a middle and an end. ".repeat(12).trim();
const CHARS = [...LONG].length;

let discord: FakeDiscord;
let minimax: FakeMiniMax;
let dir: string;
let bot: ChildProcess | undefined;

beforeAll(async () => {
  minimax = await startFakeMiniMax({ apiKey: "kill-key", asyncProcessingMs: 1500 });
  discord = await startFakeDiscord();
});
afterAll(async () => {
  await discord?.close();
  await minimax?.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bot-kill-"));
  minimax.reset();
});
afterEach(async () => {
  if (bot && bot.exitCode === null) {
    const exited = once(bot, "exit");
    bot.kill("SIGKILL");
    await exited;
  }
  bot = undefined;
  await rm(dir, { recursive: true, force: true });
});

const storageUrl = () => `sqlite://${join(dir, "bot.sqlite")}`;
const channelId = () => discord.fixtures.channels.text.id;
const creates = () => minimax.requests.filter((r) => r.path === CREATE).length;

async function start(): Promise<void> {
  const registered = discord.registeredCommands(discord.fixtures.guild.id).length;
  bot = spawnBot({
    discord,
    minimaxUrl: minimax.url,
    minimaxKey: "kill-key",
    cwd: dir,
    env: {
      SYNC_MAX_CHARS: "200",
      STORAGE_URL: storageUrl(),
      LOG_LEVEL: "warn",
      DOWNLOAD_ALLOW_LOOPBACK: "true",
    },
  });
  // The first start registers the commands; later ones find them unchanged, so wait for the gateway.
  if (registered === 0) {
    await waitFor(
      () => discord.registeredCommands(discord.fixtures.guild.id).length > 0,
      15_000,
      "registration",
    );
  } else {
    await waitFor(() => discord.gatewaySessions().some((s) => s.connected), 15_000, "the gateway session");
  }
}

async function kill(): Promise<void> {
  const running = bot!;
  const exited = once(running, "exit");
  running.kill("SIGKILL");
  await exited;
  await waitFor(() => discord.gatewaySessions().every((s) => !s.connected), 5_000, "the session to close");
}

async function settings(options: Record<string, unknown>) {
  await applySettings(discord, options as never, { channelId: channelId() });
}

async function narrate(): Promise<string> {
  const reply = await discord
    .dispatchCommand({ name: "narrate", channelId: channelId(), options: { text: LONG } })
    .waitForResponse((m) => m.content.includes("job `"), 10_000);
  return /job `([^`]+)`/.exec(reply.content)![1]!;
}

const resultOf = (jobId: string) => (m: FakeMessage) =>
  m.content.includes(`-# job ${jobId}`) && m.attachments.length > 0;
const statusOf = (jobId: string) =>
  discord.messagesIn(channelId()).find((m) => JSON.stringify(m.embeds).includes(`job ${jobId}`));

/** The member's characters today and the holds still open, read from the bot's own file. */
async function ledgerState(): Promise<{ used: number; holds: number }> {
  const storage = await createStorage(storageUrl());
  try {
    const ledger = createUsageLedger(budgetStoreFor(storage));
    const summary = await ledger.summary(discord.fixtures.guild.id, discord.fixtures.users.member.id, {});
    return { used: summary.user.day, holds: (await ledger.holds(Date.now() + 1)).length };
  } finally {
    await storage.close();
  }
}

describe("SIGKILL in every window of a narration", () => {
  it("during createTask: not sent again after the restart, failed with a reason, billed once", async () => {
    await start();
    minimax.inject({ kind: "latency", ms: 2500, route: CREATE });
    const jobId = await narrate();
    await waitFor(() => creates() === 1, 10_000, "the create call in flight");
    await kill();

    await start();
    await waitFor(
      () => JSON.stringify(statusOf(jobId)?.embeds ?? []).includes("Failed"),
      20_000,
      "the job to fail as interrupted",
    );
    expect(JSON.stringify(statusOf(jobId)!.embeds)).toMatch(/not paid for twice/);
    await new Promise((r) => setTimeout(r, 500));
    expect(creates()).toBe(1);
    // It may have reached MiniMax, so it counts, once.
    expect(await ledgerState()).toEqual({ used: CHARS, holds: 0 });
  });

  it("while MiniMax processes: resumed, posted once, billed once", async () => {
    await start();
    const jobId = await narrate();
    await waitFor(() => minimax.requests.some((r) => r.path === QUERY), 15_000, "the first query");
    await kill();

    await start();
    await discord.waitForMessage(resultOf(jobId), 30_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(discord.messagesIn(channelId()).filter(resultOf(jobId))).toHaveLength(1);
    expect(creates()).toBe(1);
    expect(await ledgerState()).toEqual({ used: CHARS, holds: 0 });
  });

  it("during the result download: downloaded again, posted once, billed once", async () => {
    await start();
    minimax.inject({ kind: "latency", ms: 3000, route: "/oss/" });
    minimax.inject({ kind: "latency", ms: 3000, route: "/v1/files/retrieve_content" });
    const jobId = await narrate();
    await waitFor(
      () =>
        minimax.requests.some((r) => r.path.startsWith("/oss/") || r.path === "/v1/files/retrieve_content"),
      20_000,
      "the download in flight",
    );
    await kill();

    await start();
    await discord.waitForMessage(resultOf(jobId), 30_000);
    await new Promise((r) => setTimeout(r, 800));
    expect(discord.messagesIn(channelId()).filter(resultOf(jobId))).toHaveLength(1);
    expect(creates()).toBe(1);
    expect(await ledgerState()).toEqual({ used: CHARS, holds: 0 });
  });
});

describe("SIGKILL while an approved request starts", () => {
  it("the request keeps one job: no second task, billed once", async () => {
    await start();
    await settings({
      requests_channel: { channel: channelId() },
      narration_channel: { channel: channelId() },
      approval_required: true,
    });
    const submitted = await discord
      .dispatchCommand({
        name: "request submit",
        channelId: channelId(),
        options: { title: "Kill me", text: LONG },
      })
      .waitForResponse((m) => m.content.length > 0);
    const id = /Request `([^`]+)`/.exec(submitted.content)![1]!;
    const card = discord
      .messagesIn(channelId())
      .find((m) => JSON.stringify(m.embeds).includes(`request ${id}`))!;
    minimax.inject({ kind: "latency", ms: 2500, route: CREATE });
    await discord
      .dispatchComponent({
        customId: `request:approve:${id}`,
        message: card.id,
        user: discord.fixtures.users.admin.id,
      })
      .waitForAck();
    discord.dispatchModalSubmit({
      customId: `request:approve:${id}`,
      user: discord.fixtures.users.admin.id,
      channelId: channelId(),
      fields: { reason: "" },
    });
    await waitFor(() => creates() === 1, 10_000, "the request's create call in flight");
    await kill();

    await start();
    await waitFor(
      () => /Failed|Done|failed|done/.test(JSON.stringify(discord.message(card.id)?.embeds ?? [])),
      30_000,
      "the request to end",
    );
    await new Promise((r) => setTimeout(r, 800));
    expect(creates()).toBe(1);
    expect(await ledgerState()).toEqual({ used: CHARS, holds: 0 });
  });
});
