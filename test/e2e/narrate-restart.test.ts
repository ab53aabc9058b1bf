import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeDiscord, type FakeMessage, startFakeDiscord } from "../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { spawnBot, waitFor } from "./harness.ts";

/**
 * The bot as a real process, killed with SIGKILL while MiniMax is still processing its task, then
 * started again on the same storage: the result must be posted, and only once.
 */

const LONG = "Every story has a beginning, a middle and an end. ".repeat(30).trim();

describe("a narration job across a SIGKILL", () => {
  let discord: FakeDiscord;
  let minimax: FakeMiniMax;
  let dir: string;
  let bot: ChildProcess | undefined;

  beforeAll(async () => {
    minimax = await startFakeMiniMax({ apiKey: "kill-key", asyncProcessingMs: 4000 });
    discord = await startFakeDiscord();
    dir = await mkdtemp(join(tmpdir(), "bot-kill-"));
  });
  afterAll(async () => {
    bot?.kill("SIGKILL");
    await discord?.close();
    await minimax?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const startBot = () =>
    spawnBot({
      discord,
      minimaxUrl: minimax.url,
      minimaxKey: "kill-key",
      cwd: dir,
      env: { SYNC_MAX_CHARS: "200", STORAGE_URL: `sqlite://${join(dir, "bot.sqlite")}`, LOG_LEVEL: "warn" },
    });

  it("posts the result exactly once after the restart", async () => {
    bot = startBot();
    await waitFor(
      () => discord.registeredCommands(discord.fixtures.guild.id).length > 0,
      15_000,
      "registration",
    );
    const channelId = discord.fixtures.channels.text.id;
    const handle = discord.dispatchCommand({ name: "speak", channelId, options: { text: LONG } });
    const reply = await handle.waitForResponse((m) => m.content.includes("job `"), 10_000);
    const jobId = /job `([^`]+)`/.exec(reply.content)![1]!;

    // Killed while the task is processing: created, queried at least once, not finished.
    await waitFor(
      () => minimax.requests.some((r) => r.path === "/v1/query/t2a_async_query_v2"),
      15_000,
      "the first status query",
    );
    const exited = once(bot, "exit");
    bot.kill("SIGKILL");
    await exited;
    const isResult = (m: FakeMessage) => m.content.includes(`-# job ${jobId}`);
    expect(discord.messagesIn(channelId).filter(isResult)).toHaveLength(0);
    const created = minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").length;

    bot = startBot();
    await discord.waitForMessage(isResult, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(discord.messagesIn(channelId).filter(isResult)).toHaveLength(1);
    // The task was resumed, not created again (which would be billed twice).
    expect(minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").length).toBe(created);
  });
});
