import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deployCommands } from "../../src/discord/deploy-commands.ts";
import type { CommandSyncState } from "../../src/discord/register-commands.ts";
import { createLogger } from "../../src/logger.ts";
import { startFakeDiscord } from "../fakes/discord/index.ts";

const APP = "111111111111111111";
const builderImport = JSON.stringify(import.meta.resolve("discord.js"));
const SCRIPT = fileURLToPath(new URL("../../src/discord/deploy-commands.ts", import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "deploy-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function stubRest() {
  const calls: string[] = [];
  let registered: unknown = [];
  return {
    calls,
    rest: {
      async get(route: `/${string}`) {
        calls.push(`GET ${route}`);
        return route === "/applications/@me" ? { id: APP, name: "TTS bot" } : registered;
      },
      async put(route: `/${string}`, options: { body: unknown }) {
        calls.push(`PUT ${route} ${(options.body as { name: string }[]).map((c) => c.name).join(",")}`);
        registered = options.body;
        return options.body;
      },
    },
  };
}

const logger = createLogger({ level: "silent" });

function memoryState(): CommandSyncState & { entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return { entries, get: async (k) => entries.get(k), set: async (k, v) => void entries.set(k, v) };
}

describe("deployCommands", () => {
  it("resolves the application, registers once, then finds the set up to date", async () => {
    const commands = join(dir, "commands");
    await import("node:fs/promises").then((fs) => fs.mkdir(commands));
    await writeFile(
      join(commands, "ping.ts"),
      `import { SlashCommandBuilder } from ${builderImport};
export default {
  data: new SlashCommandBuilder().setName("ping").setDescription("p"),
  async execute() {},
};`,
    );
    const { rest, calls } = stubRest();
    const state = memoryState();
    const opts = { rest, guildId: undefined, commandsDir: commands, state, logger, force: false };

    const first = await deployCommands(opts);
    expect(first).toMatchObject({
      changed: true,
      scope: "global",
      count: 1,
      applicationId: APP,
      names: ["ping"],
    });
    expect(calls).toEqual(["GET /applications/@me", `PUT /applications/${APP}/commands ping`]);
    expect(state.entries.has(`discord:commands:${APP}:global`)).toBe(true);

    const second = await deployCommands(opts);
    expect(second.changed).toBe(false);
    // The second run checks Discord's list (verify) but sends no PUT.
    expect(calls.slice(2)).toEqual(["GET /applications/@me", `GET /applications/${APP}/commands`]);

    expect((await deployCommands({ ...opts, force: true })).changed).toBe(true);
  });

  it("refuses to wipe every command when no command file is found, unless forced", async () => {
    const { rest, calls } = stubRest();
    const opts = {
      rest,
      guildId: undefined,
      commandsDir: dir,
      state: memoryState(),
      logger,
    };
    await expect(deployCommands({ ...opts, force: false })).rejects.toThrow(/would remove every command/);
    expect(calls).toEqual([]);
    expect((await deployCommands({ ...opts, force: true })).count).toBe(0);
  });
});

describe("npm run deploy-commands (process)", () => {
  // An empty working directory: no .env to pick up, so only the variables given here count.
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [SCRIPT, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", ...env },
      encoding: "utf8",
      timeout: 15_000,
    });

  it("prints the configuration problems like npm start and exits 1", () => {
    const result = run([], { DISCORD_API_URL: "not a url" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Invalid configuration");
    expect(result.stderr).toContain("DISCORD_TOKEN: required to run the bot");
    expect(result.stderr).toContain("DISCORD_API_URL: must be an http(s) URL");
    // The provider key is not needed to deploy commands, so it is not reported.
    expect(result.stderr).not.toContain("MINIMAX_API_KEY");
  });

  it("explains its usage and refuses unknown flags", () => {
    const help = run(["--help"], {});
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--force");
    const bad = run(["--frce"], {});
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("Unknown option");
  });
});

describe("npm run deploy-commands against the fake Discord", () => {
  /** Async, unlike spawnSync: the fake serves from this same process and must keep answering. */
  function run(
    args: string[],
    env: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [SCRIPT, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "", ...env },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("registers the real commands/ folder to the guild once, then only with --force", async () => {
    const fake = await startFakeDiscord();
    try {
      const guild = fake.fixtures.guild.id;
      const env = {
        DISCORD_TOKEN: fake.botToken,
        DISCORD_API_URL: fake.apiUrl,
        DISCORD_GUILD_ID: guild,
        LOG_LEVEL: "warn",
      };
      const puts = () => fake.requests.filter((r) => r.method === "PUT").length;

      const first = await run([], env);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(new RegExp(`^Registered \\d+ command\\(s\\) to guild ${guild}`));
      const registered = fake.registeredCommands(guild).map((c) => c.name);
      expect(registered).toContain("speak");
      expect(fake.registeredCommands()).toEqual([]);

      const second = await run([], env);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain("already up to date");
      expect(puts()).toBe(1);

      const forced = await run(["--force"], env);
      expect(forced.stdout).toMatch(/^Registered/);
      expect(puts()).toBe(2);
      expect(fake.internalErrors).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it("reports a rejected token without a stack trace", async () => {
    const fake = await startFakeDiscord();
    try {
      const result = await run([], {
        DISCORD_TOKEN: "wrong-token",
        DISCORD_API_URL: fake.apiUrl,
        STORAGE_URL: `sqlite://${join(dir, "bot.sqlite")}`,
      });
      expect(result.code).toBe(1);
      // The same line as `npm start` prints, behind what failed.
      expect(result.stderr).toBe(
        "Could not deploy the commands: Discord refused DISCORD_TOKEN (401 Unauthorized): copy the bot token " +
          "from the Developer Portal (your application → Bot → Reset Token) into DISCORD_TOKEN.\n",
      );
      expect(result.stderr).not.toContain("wrong-token");
    } finally {
      await fake.close();
    }
  });

  it("reports an unreachable DISCORD_API_URL in one line", async () => {
    const fake = await startFakeDiscord();
    const port = fake.port;
    await fake.close();
    const apiUrl = `http://127.0.0.1:${port}/api`;
    const result = await run([], {
      DISCORD_TOKEN: "any-token",
      DISCORD_API_URL: apiUrl,
      STORAGE_URL: `sqlite://${join(dir, "bot.sqlite")}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Could not deploy the commands: Could not reach Discord at DISCORD_API_URL=http:\/\/127\.0\.0\.1:\d+\/api \(connect ECONNREFUSED [^)]+\): check DISCORD_API_URL .*\n$/,
    );
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });
});
