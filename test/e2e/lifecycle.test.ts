import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type FakeDiscord, startFakeDiscord } from "../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { type Harness, spawnBot, startHarness, waitFor } from "./harness.ts";

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;

describe("a restart on the same storage", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it("keeps the audio cache and personal defaults, and does not re-register unchanged commands", async () => {
    const admin = h.discord.fixtures.users.admin.id;
    const puts = () =>
      h.discord.requests.filter((r) => r.method === "PUT" && r.route.includes("/commands")).length;
    expect(puts()).toBe(1);
    await h.discord
      .dispatchCommand({ name: "voice set", user: admin, options: { voice: "Patient_Man" } })
      .waitForResponse();
    await h.discord
      .dispatchCommand({ name: "speak", user: admin, options: { text: "Remember me." } })
      .waitForResponse(hasFiles);
    const synthCalls = () => h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").length;
    expect(synthCalls()).toBe(1);

    await h.restart();

    expect(puts()).toBe(1);
    const again = await h.discord
      .dispatchCommand({ name: "speak", user: admin, options: { text: "Remember me." } })
      .waitForResponse(hasFiles);
    expect(synthCalls()).toBe(1);
    expect(again.content).toContain("Patient_Man");
  });

  it("registers the commands again when Discord lost them, whatever the stored hash says", async () => {
    const guild = h.discord.fixtures.guild.id;
    const names = () =>
      h.discord
        .registeredCommands(guild)
        .map((c) => c.name)
        .sort();
    const before = names();
    expect(before).toContain("speak");
    const commandCalls = () => h.discord.requests.filter((r) => r.route.includes("/commands"));
    const putsBefore = commandCalls().filter((r) => r.method === "PUT").length;

    // A wiped guild (or a new application): the storage still holds the hash of the registered set.
    h.discord.clearCommands(guild);
    expect(h.discord.registeredCommands(guild)).toEqual([]);
    await h.restart();

    expect(names()).toEqual(before);
    expect(commandCalls().filter((r) => r.method === "PUT")).toHaveLength(putsBefore + 1);
    const lastSync = () =>
      h.logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("application commands ")).at(-1);
    await expect
      .poll(lastSync)
      .toMatchObject({ reason: "different on Discord", missing: expect.arrayContaining(["speak"]) });
    // One GET of the guild's commands per start, with their localizations.
    const gets = commandCalls().filter((r) => r.method === "GET");
    expect(gets.at(-1)).toMatchObject({
      route: `/applications/${h.discord.fixtures.application.id}/guilds/${guild}/commands`,
      query: { with_localizations: "true" },
    });

    // And the next start finds them in place: one more GET, no PUT.
    const getsBefore = gets.length;
    await h.restart();
    await expect.poll(lastSync).toMatchObject({ msg: "application commands unchanged" });
    expect(commandCalls().filter((r) => r.method === "GET")).toHaveLength(getsBefore + 1);
    expect(commandCalls().filter((r) => r.method === "PUT")).toHaveLength(putsBefore + 1);
  });
});

describe("npm start as a process", () => {
  let discord: FakeDiscord;
  let minimax: FakeMiniMax;
  let dir: string;
  let bot: ChildProcess | undefined;
  let stdout = "";

  beforeAll(async () => {
    minimax = await startFakeMiniMax({ apiKey: "proc-key" });
    discord = await startFakeDiscord();
    dir = await mkdtemp(join(tmpdir(), "bot-proc-"));
  });
  afterAll(async () => {
    bot?.kill("SIGKILL");
    await discord?.close();
    await minimax?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("finishes the interaction in flight on SIGTERM, then exits cleanly", async () => {
    bot = spawnBot({
      discord,
      minimaxUrl: minimax.url,
      minimaxKey: "proc-key",
      cwd: dir,
      env: { LOG_LEVEL: "info" },
      stdout: "pipe",
    });
    bot.stdout!.on("data", (d) => {
      stdout += String(d);
    });
    await waitFor(
      () => discord.registeredCommands(discord.fixtures.guild.id).length > 0,
      15_000,
      "registration",
    );

    minimax.inject({ kind: "latency", ms: 1500, route: "/v1/t2a_v2" });
    const handle = discord.dispatchCommand({ name: "speak", options: { text: "Finish me before you go." } });
    await handle.waitForAck();
    const exited = once(bot, "exit");
    bot.kill("SIGTERM");

    const msg = await handle.waitForResponse(hasFiles, 10_000);
    expect(msg.attachments).toHaveLength(1);
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
    const lines = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.some((l) => l.msg === "shutting down")).toBe(true);
    const interaction = lines.find((l) => l.msg === "interaction" && l.command === "speak");
    expect(interaction).toMatchObject({ outcome: "ok", guild: discord.fixtures.guild.id });
    expect(typeof interaction?.latencyMs).toBe("number");
    expect(stdout).not.toContain(discord.botToken);
    expect(stdout).not.toContain("proc-key");
  });
});
