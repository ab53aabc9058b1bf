import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { botPermissions, inviteUrl } from "../../src/discord/invite.ts";
import { type FakeDiscord, startFakeDiscord } from "../fakes/discord/index.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { waitFor } from "./harness.ts";

/**
 * What an operator sees: `npm start` under a supervisor (signals reach the bot, and nothing is left
 * running), a Node.js too old to run it, and the start-up failures they fix themselves — a refused
 * token, an unreachable DISCORD_API_URL, a privileged intent not enabled in the Developer Portal —
 * each one line on stderr that names what to change, and exit code 1.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const LAUNCHER = join(ROOT, "bin", "start.mjs");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

interface Proc {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function track(child: ChildProcess): Proc {
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Lines a person reads on stderr (Node's and npm's own warnings aside). */
const stderrLines = (text: string) =>
  text.split("\n").filter((l) => l.trim() !== "" && !/Warning|--trace-warnings|^npm warn/.test(l));

/** The bot's environment against the fakes: only PATH and HOME are inherited. */
function botEnv(discord: FakeDiscord, minimax: FakeMiniMax, dir: string, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? dir,
    DISCORD_TOKEN: discord.botToken,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: discord.fixtures.guild.id,
    MINIMAX_API_URL: minimax.url,
    MINIMAX_API_KEY: "op-key",
    STORAGE_URL: `sqlite://${join(dir, "bot.sqlite")}`,
    LOG_LEVEL: "info",
    ...extra,
  };
}

/** Every process below `pid` (Linux /proc), so a test can tell that none is left behind. */
function descendants(pid: number): { pid: number; cmdline: string }[] {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      byParent.set(ppid, [...(byParent.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: { pid: number; cmdline: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.shift()!) ?? []) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${child}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      } catch {
        // Gone meanwhile.
      }
      found.push({ pid: child, cmdline });
      queue.push(child);
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A zombie (exited, not yet reaped by its parent) is not running. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function healthzAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

describe("npm start under a supervisor", () => {
  let discord: FakeDiscord;
  let minimax: FakeMiniMax;
  let dir: string;
  let appDir: string;
  const leftovers = new Set<number>();

  beforeAll(async () => {
    minimax = await startFakeMiniMax({ apiKey: "op-key" });
    discord = await startFakeDiscord();
    dir = await mkdtemp(join(tmpdir(), "bot-op-"));
    // The project as npm sees it, minus any developer .env: its package.json, bin/ and node_modules/.
    appDir = join(dir, "app");
    await mkdir(appDir);
    await copyFile(join(ROOT, "package.json"), join(appDir, "package.json"));
    await symlink(join(ROOT, "bin"), join(appDir, "bin"));
    await symlink(join(ROOT, "node_modules"), join(appDir, "node_modules"));
  });
  afterEach(() => {
    for (const pid of leftovers) if (alive(pid)) process.kill(pid, "SIGKILL");
    leftovers.clear();
  });
  afterAll(async () => {
    await discord?.close();
    await minimax?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** `npm start` in its own process group (like a service), and the bot's node process under it. */
  async function startNpm(name: string) {
    const metricsPort = await freePort();
    const before = discord.gatewaySessions().length;
    const npm = track(
      spawn("npm", ["start"], {
        cwd: appDir,
        env: botEnv(discord, minimax, dir, {
          METRICS_PORT: String(metricsPort),
          STORAGE_URL: `sqlite://${join(dir, `${name}.sqlite`)}`,
        }),
        stdio: ["ignore", "pipe", "pipe"],
        detached: true,
      }),
    );
    leftovers.add(npm.child.pid!);
    await waitFor(() => discord.gatewaySessions().length > before, 20_000, "the bot's gateway session");
    await waitFor(
      () => jsonLines(npm.stdout()).some((l) => l.msg === "invite the bot to a server with this URL"),
      10_000,
      "the invite URL in the log",
    );
    await expect.poll(() => healthzAnswers(metricsPort), { timeout: 10_000 }).toBe(true);
    const tree = descendants(npm.child.pid!);
    for (const p of tree) leftovers.add(p.pid);
    return { npm, tree, metricsPort };
  }

  it("runs the bot as npm's own child; SIGTERM to npm stops it cleanly and leaves no process behind", async () => {
    const { npm, tree, metricsPort } = await startNpm("sigterm");
    // `exec` in the script: no shell sits between npm and the bot, so npm's signal reaches the bot.
    expect(tree.map((p) => p.cmdline)).toEqual([expect.stringMatching(/node .*bin\/start\.mjs$/)]);

    const lines = jsonLines(npm.stdout());
    const invite = lines.find((l) => l.msg === "invite the bot to a server with this URL");
    expect(invite?.url).toBe(inviteUrl(discord.fixtures.application.id));
    expect(invite?.url).toBe(
      `https://discord.com/oauth2/authorize?client_id=${discord.fixtures.application.id}` +
        `&scope=bot+applications.commands&permissions=${botPermissions()}`,
    );

    const sentAt = Date.now();
    process.kill(npm.child.pid!, "SIGTERM");
    const { code, at } = await npm.exited;
    expect(code).toBe(0);
    expect(at - sentAt).toBeLessThan(5000);
    await expect.poll(() => tree.filter((p) => running(p.pid)), { timeout: 2000 }).toEqual([]);
    expect(await healthzAnswers(metricsPort)).toBe(false);
    const after = jsonLines(npm.stdout());
    expect(after.filter((l) => l.msg === "shutting down")).toMatchObject([{ signal: "SIGTERM" }]);
    expect(npm.stderr()).not.toMatch(/\n\s+at |npm error/);
  }, 40_000);

  it("Ctrl-C (SIGINT to the whole group, so the bot gets it twice) is one clean shutdown", async () => {
    const { npm, tree } = await startNpm("sigint");
    process.kill(-npm.child.pid!, "SIGINT");
    const { code } = await npm.exited;
    await expect.poll(() => tree.filter((p) => running(p.pid)), { timeout: 2000 }).toEqual([]);
    const lines = jsonLines(npm.stdout());
    expect(lines.filter((l) => l.msg === "shutting down")).toHaveLength(1);
    expect(lines.some((l) => l.msg === "signalled again while shutting down; exiting at once")).toBe(false);
    // npm exits with the bot's code: 0 after the graceful stop (130 would mean Node's default handler).
    expect(code).toBe(0);
  }, 40_000);
});

describe("a Node.js too old to run the bot", () => {
  const engines = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }
  ).engines.node;

  it("the launcher requires what package.json engines says", () => {
    const required = /const REQUIRED = "([\d.]+)"/.exec(readFileSync(LAUNCHER, "utf8"))?.[1];
    expect(engines).toBe(`>=${required}`);
  });

  it("gets one line that says which Node is needed and how to get it, and exit code 1", () => {
    // Node 24 posing as Node 20 (process.versions is redefined before the launcher reads it).
    const fakeOld =
      "data:text/javascript," +
      encodeURIComponent(
        'Object.defineProperty(process, "versions", { value: { ...process.versions, node: "20.11.1" } });',
      );
    const result = spawnSync(process.execPath, ["--import", fakeOld, LAUNCHER], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = stderrLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^This bot needs Node\.js 22\.19\.0 or newer, but it was started with Node\.js 20\.11\.1 /,
    );
    expect(lines[0]).toContain("`npm ci`");
    expect(lines[0]).toContain("https://nodejs.org");
  });

  const machineNode = "/usr/bin/node";
  const machineVersion = existsSync(machineNode)
    ? spawnSync(machineNode, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
    : "";
  const old = /^(\d+)\.(\d+)/.exec(machineVersion);
  const isOld = old !== null && (Number(old[1]) < 22 || (Number(old[1]) === 22 && Number(old[2]) < 19));

  it.skipIf(!isOld)(`the machine's own ${machineNode} (${machineVersion}) gets the same line`, () => {
    const result = spawnSync(machineNode, [LAUNCHER], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
    });
    expect(result.status).toBe(1);
    const lines = stderrLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`started with Node.js ${machineVersion} (${machineNode})`);
    expect(result.stderr).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|\n\s+at /);
  });
});

describe("start-up failures an operator fixes", () => {
  let minimax: FakeMiniMax;
  let dir: string;
  let bot: Proc | undefined;

  beforeAll(async () => {
    minimax = await startFakeMiniMax({ apiKey: "op-key" });
    dir = await mkdtemp(join(tmpdir(), "bot-op-fail-"));
  });
  afterEach(() => {
    if (bot && bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill("SIGKILL");
    bot = undefined;
  });
  afterAll(async () => {
    await minimax?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The launcher `npm start` runs, as a process, in an empty folder (so no .env is read). */
  function startBot(discord: FakeDiscord, env: Record<string, string>): Proc {
    return track(
      spawn(process.execPath, [LAUNCHER], {
        cwd: dir,
        env: botEnv(discord, minimax, dir, env),
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  }

  /** Exit 1, one line on stderr, no stack anywhere. */
  async function oneLine(proc: Proc): Promise<string> {
    const { code } = await proc.exited;
    expect(code).toBe(1);
    const lines = stderrLines(proc.stderr());
    expect(lines).toHaveLength(1);
    expect(proc.stderr()).not.toMatch(/\n\s+at /);
    expect(proc.stdout()).not.toMatch(/\n\s+at |"stack"/);
    return lines[0]!;
  }

  it("a token Discord refuses (401 on GET /gateway/bot) names DISCORD_TOKEN and where to get one", async () => {
    const discord = await startFakeDiscord();
    try {
      bot = startBot(discord, { DISCORD_TOKEN: "MTIz.not-the-token.xyz" });
      const line = await oneLine(bot);
      expect(line).toBe(
        "Discord refused DISCORD_TOKEN (401 Unauthorized): copy the bot token from the Developer Portal " +
          "(your application → Bot → Reset Token) into DISCORD_TOKEN.",
      );
      expect(discord.requests.find((r) => r.route === "/gateway/bot")).toBeDefined();
      expect(line).not.toContain("not-the-token");
    } finally {
      await discord.close();
    }
  });

  it("an unreachable DISCORD_API_URL (a closed port) names DISCORD_API_URL and its value", async () => {
    const discord = await startFakeDiscord();
    try {
      const apiUrl = `http://127.0.0.1:${await freePort()}/api`;
      bot = startBot(discord, { DISCORD_API_URL: apiUrl });
      const line = await oneLine(bot);
      expect(line).toMatch(
        new RegExp(
          `^Could not reach Discord at DISCORD_API_URL=${apiUrl.replaceAll(".", "\\.")} \\(connect ECONNREFUSED [^)]*\\): check DISCORD_API_URL `,
        ),
      );
    } finally {
      await discord.close();
    }
  });

  it("a DISCORD_API_URL that is not Discord's REST base names DISCORD_API_URL", async () => {
    const discord = await startFakeDiscord();
    try {
      // The fake's root without /api: GET /v10/gateway/bot is not a route there.
      bot = startBot(discord, { DISCORD_API_URL: discord.baseUrl });
      const line = await oneLine(bot);
      expect(line).toMatch(/^Discord at DISCORD_API_URL=http:\/\/127\.0\.0\.1:\d+ answered 404 Not Found/);
      expect(line).toContain("check DISCORD_API_URL (the REST base ending in /api");
    } finally {
      await discord.close();
    }
  });

  it("AUTO_READ=true without the Message Content intent enabled (gateway close 4014) says what to enable", async () => {
    const discord = await startFakeDiscord({ privilegedIntents: 0 });
    try {
      bot = startBot(discord, { AUTO_READ: "true" });
      const line = await oneLine(bot);
      expect(line).toBe(
        'Discord refused the privileged Message Content intent that AUTO_READ=true needs (gateway close 4014 "Disallowed intent(s)"): ' +
          "enable the Message Content intent in the Developer Portal (your application → Bot → Privileged Gateway Intents), or set AUTO_READ=false.",
      );
    } finally {
      await discord.close();
    }
  });

  it("the same application without AUTO_READ starts, since it asks for no privileged intent", async () => {
    const discord = await startFakeDiscord({ privilegedIntents: 0 });
    try {
      const before = discord.gatewaySessions().length;
      bot = startBot(discord, { AUTO_READ: "false" });
      await waitFor(() => discord.gatewaySessions().length > before, 20_000, "the gateway session");
      await waitFor(
        () => jsonLines(bot!.stdout()).some((l) => l.msg === "logged in to Discord"),
        10_000,
        "login",
      );
      bot.child.kill("SIGTERM");
      expect((await bot.exited).code).toBe(0);
      expect(stderrLines(bot.stderr())).toEqual([]);
    } finally {
      await discord.close();
    }
  }, 30_000);
});
