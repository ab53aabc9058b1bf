import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { freePort } from "../../scripts/redis-server.ts";
import { STORAGE_UNAVAILABLE_MESSAGE } from "../../src/discord/reply.ts";
import { type FakeDiscord, type InteractionHandle, startFakeDiscord } from "../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { type RedisServer, startRedisServer } from "../storage/redis-server.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/**
 * How the bot fails: storage that cannot be opened at start-up, a crash (an uncaught exception or an
 * unhandled rejection), and Redis going away while it runs — where every command must still get an
 * answer inside Discord's 3 seconds and /healthz must say what is wrong.
 */

const ENTRY = fileURLToPath(new URL("../../src/index.ts", import.meta.url));

interface BotProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** `npm start` as a real process, like `spawnBot`, with stderr captured and extra node flags. */
function startBot(opts: {
  discord: FakeDiscord;
  minimax: FakeMiniMax;
  cwd: string;
  env?: Record<string, string>;
  nodeArgs?: string[];
}): BotProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ENTRY], {
    cwd: opts.cwd,
    env: {
      PATH: process.env.PATH ?? "",
      DISCORD_TOKEN: opts.discord.botToken,
      DISCORD_API_URL: opts.discord.apiUrl,
      DISCORD_GUILD_ID: opts.discord.fixtures.guild.id,
      MINIMAX_API_URL: opts.minimax.url,
      MINIMAX_API_KEY: "proc-key",
      LOG_LEVEL: "info",
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, stdout: () => out, stderr: () => err, exited };
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Lines a person reads on stderr (Node's own warnings aside). */
const stderrLines = (text: string) =>
  text.split("\n").filter((l) => l.trim() !== "" && !/Warning|--trace-warnings/.test(l));

describe("the bot as a process", () => {
  let discord: FakeDiscord;
  let minimax: FakeMiniMax;
  let dir: string;
  let bot: BotProcess | undefined;

  beforeAll(async () => {
    minimax = await startFakeMiniMax({ apiKey: "proc-key" });
    discord = await startFakeDiscord();
    dir = await mkdtemp(join(tmpdir(), "bot-fail-"));
  });
  afterEach(() => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill("SIGKILL");
    bot = undefined;
  });
  afterAll(async () => {
    await discord?.close();
    await minimax?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 1 with one clear line when Redis cannot be reached at start-up", async () => {
    bot = startBot({ discord, minimax, cwd: dir, env: { STORAGE_URL: "redis://127.0.0.1:1" } });
    expect(await bot.exited).toBe(1);
    const lines = stderrLines(bot.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("STORAGE_URL=redis://127.0.0.1:1");
    expect(lines[0]).toMatch(/ECONNREFUSED/);
    expect(bot.stderr()).not.toMatch(/\n\s+at /);
    expect(bot.stdout()).not.toMatch(/\n\s+at |"stack"/);
  }, 20_000);

  it("exits 1 with one clear line when the SQLite file cannot be created", async () => {
    // A regular file where a folder should be: not creatable even for root.
    const blocker = join(dir, "blocker");
    await writeFile(blocker, "not a folder");
    const url = `sqlite://${join(blocker, "bot.sqlite")}`;
    bot = startBot({ discord, minimax, cwd: dir, env: { STORAGE_URL: url } });
    expect(await bot.exited).toBe(1);
    const lines = stderrLines(bot.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`STORAGE_URL=${url}`);
    expect(bot.stderr()).not.toMatch(/\n\s+at /);
    expect(bot.stdout()).not.toMatch(/"stack"/);
  });

  /** On SIGUSR2 the preloaded snippet crashes the process the way `CRASH` says. */
  const CRASH_ON_SIGNAL =
    "data:text/javascript," +
    encodeURIComponent(
      `process.on("SIGUSR2", () => {
        if (process.env.CRASH === "throw") setImmediate(() => { throw new Error("test: thrown and not caught"); });
        else Promise.reject(new Error("test: rejected and not handled"));
      });`,
    );

  for (const [kind, msg, errMessage] of [
    ["reject", "unhandled promise rejection; shutting down", "test: rejected and not handled"],
    ["throw", "uncaught exception; shutting down", "test: thrown and not caught"],
  ] as const) {
    it(`logs an ${kind === "throw" ? "uncaught exception" : "unhandled rejection"}, shuts down and exits 1`, async () => {
      discord.reset();
      const before = discord.gatewaySessions().length;
      bot = startBot({
        discord,
        minimax,
        cwd: dir,
        env: { CRASH: kind, STORAGE_URL: `sqlite://${join(dir, `${kind}.sqlite`)}` },
        nodeArgs: ["--import", CRASH_ON_SIGNAL],
      });
      await waitFor(() => discord.gatewaySessions().length > before, 15_000, "the bot's gateway session");
      await waitFor(
        () =>
          jsonLines(bot!.stdout()).some((l) => l.msg === "logged in to Discord") &&
          discord.registeredCommands(discord.fixtures.guild.id).length > 0,
        15_000,
        "login and registration",
      );
      // An interaction in flight when it crashes still gets its answer: the shutdown is the clean one.
      minimax.inject({ kind: "latency", ms: 1000, route: "/v1/t2a_v2" });
      const handle = discord.dispatchCommand({ name: "speak", options: { text: `Finish me (${kind}).` } });
      await handle.waitForAck();
      bot.child.kill("SIGUSR2");
      const answer = await handle.waitForResponse((m) => m.attachments.length > 0, 10_000);
      expect(answer.attachments).toHaveLength(1);
      expect(await bot.exited).toBe(1);
      const lines = jsonLines(bot.stdout());
      const fatal = lines.filter((l) => l.msg === msg);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ level: 60, err: { message: errMessage } });
      expect(String((fatal[0]?.err as { stack?: string } | undefined)?.stack)).toContain("test:");
      expect(lines.find((l) => l.msg === "interaction" && l.command === "speak")).toMatchObject({
        outcome: "ok",
      });
      expect(bot.stderr()).not.toContain("test:");
    }, 30_000);
  }
});

describe("Redis stopped while the bot runs", () => {
  let redis: RedisServer;
  let h: Harness;
  let metricsPort: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    metricsPort = await freePort();
    h = await startHarness({ env: { STORAGE_URL: redis.url, METRICS_PORT: String(metricsPort) } });
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  async function healthz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** The first accepted callback came within Discord's 3 s, and none was refused. */
  function answeredInTime(handle: InteractionHandle) {
    expect(handle.callbacks.length).toBeGreaterThan(0);
    expect(handle.callbacks.every((c) => c.accepted)).toBe(true);
    expect(handle.ackMs).toBeLessThan(3000);
  }

  const text = (handle: InteractionHandle) =>
    handle.waitForResponse((m) => m.content.length > 0 || m.embeds.length > 0, 10_000);

  it("answers every command in time, says storage is unavailable, reports it on /healthz, and recovers", async () => {
    const admin = h.discord.fixtures.users.admin.id;
    await vi.waitFor(async () => expect(await healthz()).toMatchObject({ status: 200 }), { timeout: 10_000 });
    expect((await healthz()).body).toMatchObject({ ok: true, discord: "ready", storage: "ok" });
    const before = await text(h.discord.dispatchCommand({ name: "jobs list", user: admin }));
    expect(before.content).toContain("no narration jobs");

    await redis.stop();

    const needStorage = {
      speak: h.discord.dispatchCommand({ name: "speak", user: admin, options: { text: "Hello there." } }),
      jobs: h.discord.dispatchCommand({ name: "jobs list", user: admin }),
      settings: h.discord.dispatchCommand({ name: "settings show", user: admin }),
      usage: h.discord.dispatchCommand({ name: "usage", user: admin }),
    };
    const voices = h.discord.dispatchCommand({ name: "voices", user: admin });
    for (const [name, handle] of Object.entries(needStorage)) {
      const answer = await text(handle);
      expect(answer.content, name).toBe(STORAGE_UNAVAILABLE_MESSAGE);
      expect(answer.flags & 64, name).toBe(64);
      answeredInTime(handle);
    }
    await text(voices);
    answeredInTime(voices);

    // The log has each failure with its error (logged once the answer was sent).
    const failures = () => h.logs.filter((l) => l.msg === "interaction" && l.outcome === "storage_error");
    await vi.waitFor(() => expect(failures()).toHaveLength(4));
    expect(
      failures()
        .map((l) => l.command)
        .sort(),
    ).toEqual(["jobs", "settings", "speak", "usage"]);
    for (const line of failures()) {
      expect(line).toMatchObject({
        level: 50,
        err: { type: "StorageError", message: expect.stringMatching(/^Redis/) },
      });
    }

    await vi.waitFor(
      async () =>
        expect(await healthz()).toEqual({
          status: 503,
          body: {
            status: "unavailable",
            ok: false,
            discord: "ready",
            storage: "down",
            shards: { "0": "ready" },
          },
        }),
      { timeout: 10_000, interval: 250 },
    );

    // Back on the same port (empty, no persistence): the client reconnects by itself.
    redis = await startRedisServer({ port: redis.port });
    await vi.waitFor(
      async () => {
        const answer = await text(h.discord.dispatchCommand({ name: "jobs list", user: admin }));
        expect(answer.content).toContain("no narration jobs");
      },
      { timeout: 20_000, interval: 500 },
    );
    await vi.waitFor(async () => expect((await healthz()).status).toBe(200), {
      timeout: 10_000,
      interval: 250,
    });
  }, 60_000);
});
