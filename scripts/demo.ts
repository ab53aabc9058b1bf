import { mkdir } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Stack, startStack } from "./demo/stack.ts";
import { type DemoContext, STEPS } from "./demo/steps.ts";

/**
 * `npm run demo`: the whole bot at work with no Discord account, no MiniMax key and no internet. It
 * starts the fake Discord (with its voice server), the fake MiniMax and the bot (the real createApp),
 * plays a member's short script, prints what the member would see, and saves every file the bot
 * posted (plus what the voice channel heard) to a folder.
 */

export const USAGE = `Usage: npm run demo [-- [--out <dir>] [--verbose]]

Runs the bot against local fake Discord and MiniMax servers (no token, key or internet needed) and
plays a member's script: /speak, a voice message, a long text narrated as a job, and /speak play:true
in a voice channel. It prints what the member would see and saves every audio file and subtitle the
bot posted, plus the audio the voice channel heard (WAV), to the output folder.

  --out <dir>   where to save the files (default: demo-output)
  --verbose     also print the bot's own log lines (debug level) on stderr
  --help        show this help`;

export interface DemoIo {
  /** One line of the demo's story (stdout). */
  out(line: string): void;
  /** Errors and, with --verbose, the bot's logs (stderr). */
  err(line: string): void;
  /** Where a relative --out is resolved from, and what printed paths are relative to. */
  cwd: string;
}

const processIo: DemoIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
};

/** Runs the demo; resolves with the exit code (0 when every step worked). Never calls process.exit. */
export async function main(argv: readonly string[], io: DemoIo = processIo): Promise<number> {
  let args: { out: string; verbose: boolean; help: boolean };
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        out: { type: "string", short: "o", default: "demo-output" },
        verbose: { type: "boolean", short: "v", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
      strict: true,
    });
    args = { out: values.out, verbose: values.verbose, help: values.help };
  } catch (error) {
    io.err(`demo: ${error instanceof Error ? error.message : String(error)}`);
    io.err(USAGE);
    return 2;
  }
  if (args.help) {
    io.out(USAGE);
    return 0;
  }

  const outDir = resolve(io.cwd, args.out);
  const shownOut = displayPath(io.cwd, outDir);
  const started = performance.now();
  const files: string[] = [];
  const done: string[] = [];
  let stack: Stack | undefined;
  let current = `creating the output folder ${shownOut}`;
  try {
    await mkdir(outDir, { recursive: true });
    current = "starting the fake Discord, the fake MiniMax and the bot";
    io.out("Starting the fake Discord (with its voice server), the fake MiniMax and the bot…");
    stack = await startStack(args.verbose ? { verboseLog: io.err } : {});
    io.out(
      `The bot is logged in to the fake Discord as "${stack.discord.fixtures.bot.username}" in the server ` +
        `"${stack.discord.fixtures.guild.name}" (${secondsSince(started)}).`,
    );
    io.out(
      `  fake Discord: ${stack.discord.baseUrl} · fake MiniMax: ${stack.minimax.url} · output: ${shownOut}`,
    );
    const ctx: DemoContext = { stack, outDir, say: (line) => io.out(line), files };
    for (const [i, step] of STEPS.entries()) {
      current = `step ${i + 1} (${step.title})`;
      io.out("");
      io.out(`${i + 1}. ${step.title}`);
      const stepStarted = performance.now();
      await step.run(ctx);
      done.push(step.title);
      io.out(`  ✓ done in ${secondsSince(stepStarted)}`);
    }
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const bot = stack?.lastBotProblem();
    io.err(
      `demo failed at ${current}: ${reason}${bot ? ` (the bot logged: ${bot})` : ""}` +
        (args.verbose ? "" : "; run with --verbose for the bot's logs"),
    );
    await stack?.close();
    return 1;
  }
  await stack.close();

  io.out("");
  io.out(`Summary: all ${done.length} steps worked in ${secondsSince(started)}.`);
  for (const [i, title] of done.entries()) io.out(`  ✓ ${i + 1}. ${title}`);
  io.out(`Files saved in ${shownOut}:`);
  for (const name of files) io.out(`  ${name}`);
  return 0;
}

function secondsSince(start: number): string {
  return `${((performance.now() - start) / 1000).toFixed(1)} s`;
}

function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? `${rel}/` : `${path}/`;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exitCode = code;
  // Everything was closed; if some handle still holds the process, do not hang the terminal.
  setTimeout(() => {
    process.stderr.write("demo: something was still running after shutdown; exiting anyway\n");
    process.exit(code);
  }, 5000).unref();
}
