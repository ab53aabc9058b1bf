import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAimlApi, type FakeMiniMax, startFakeAimlApi, startFakeMiniMax } from "../fakes/index.ts";

/** The CLI as a user runs it: a child process on the pinned Node, talking to the fakes over loopback. */

const root = fileURLToPath(new URL("../..", import.meta.url));
const speakEntry = join(root, "src/cli/speak.ts");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(entry: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(DISCORD_|MINIMAX_|AIMLAPI_|TTS_|SYNC_MAX|INIT_CWD|LOG_LEVEL)/.test(k),
    ),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [entry, ...args],
      { env: { ...clean, ...env }, cwd, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** As `run`, but with exactly `env` (no inherited variables at all). */
function runBare(args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [speakEntry, ...args],
      { env, cwd, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

/** Files left in `folder` that are half-written outputs. */
async function partFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((f) => f.endsWith(".part"));
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let minimax: FakeMiniMax;
let aiml: FakeAimlApi;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  minimax = await startFakeMiniMax({ apiKey: "cli-key", asyncProcessingMs: 200 });
  aiml = await startFakeAimlApi({ apiKey: "aiml-key" });
  dir = await mkdtemp(join(tmpdir(), "speak-cli-"));
  env = { MINIMAX_API_URL: minimax.url, MINIMAX_API_KEY: "cli-key", DOWNLOAD_ALLOW_LOOPBACK: "true" };
});
afterAll(async () => {
  await minimax.close();
  await aiml.close();
  await rm(dir, { recursive: true, force: true });
});

describe("npm run speak", () => {
  it("writes exactly the audio MiniMax returned, with the mapped fields in the request", async () => {
    minimax.reset();
    const out = join(dir, "x.mp3");
    const r = await run(
      speakEntry,
      ["--text", "Hello there", "--voice", "Calm_Woman", "--speed", "1.25", "--out", out],
      env,
      dir,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const synth = minimax.requests.filter((q) => q.path === "/v1/t2a_v2");
    expect(synth).toHaveLength(1);
    const body = synth[0]!.json as { model: string; text: string; voice_setting: Record<string, unknown> };
    expect(body.model).toBe("speech-2.5-turbo-preview");
    expect(body.text).toBe("Hello there");
    expect(body.voice_setting).toMatchObject({ voice_id: "Calm_Woman", speed: 1.25 });
    expect(synth[0]!.headers.authorization).toBe("Bearer cli-key");

    // The fake is deterministic: the same body gives the same audio.
    const again = await fetch(`${minimax.url}/v1/t2a_v2`, {
      method: "POST",
      headers: { authorization: "Bearer cli-key", "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await again.json()) as {
      data: { audio: string };
      extra_info: { usage_characters: number };
    };
    expect(await readFile(out)).toEqual(Buffer.from(json.data.audio, "hex"));
    expect(r.stdout).toMatch(/duration: \d+\.\d\d s/);
    expect(r.stdout).toMatch(/characters billed: 11\b/);
    expect(r.stdout).toMatch(/trace id: [0-9a-f]{32}/);
    expect(r.stdout).toMatch(new RegExp(`size: .*\\(${json.data.audio.length / 2} bytes\\)`));
  });

  it("runs the async flow and writes subtitles beside the audio", async () => {
    const out = join(dir, "long.mp3");
    const text = "First sentence here. Second one follows. And a third to finish.";
    const r = await run(
      speakEntry,
      ["--text", text, "--async", "--sample-rate", "24000", "--out", out],
      env,
      dir,
    );
    expect(r.code, r.stderr).toBe(0);
    const srt = await readFile(join(dir, "long.srt"), "utf8");
    expect(srt).toMatch(/^1\n00:00:00,000 --> 00:00:\d\d,\d{3}\nFirst sentence here\./);
    expect((await readFile(out)).subarray(0, 3).toString("latin1")).toMatch(/^(ID3|\xff)/);
    const created = minimax.requests.find((q) => q.path === "/v1/t2a_async_v2");
    const setting = (created?.json as { audio_setting?: Record<string, unknown> } | undefined)?.audio_setting;
    expect(setting).toMatchObject({ audio_sample_rate: 24000 });
    expect(setting).not.toHaveProperty("sample_rate");
  });

  it("sends a text over SYNC_MAX_CHARS through the async flow without being asked", async () => {
    minimax.reset();
    const out = join(dir, "auto.mp3");
    const text = "This text is longer than the configured limit for one synchronous request.";
    const r = await run(speakEntry, ["--text", text, "--out", out], { ...env, SYNC_MAX_CHARS: "40" }, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(minimax.requests.map((q) => q.path)).toContain("/v1/t2a_async_v2");
    expect(minimax.requests.map((q) => q.path)).not.toContain("/v1/t2a_v2");
    expect(r.stdout).toContain(join(dir, "auto.srt"));
  });

  it("uploads a --file for the async flow and passes it as an integer text_file_id", async () => {
    minimax.reset();
    const input = join(dir, "story.txt");
    await writeFile(input, "\ufeffOnce upon a time. The end.");
    const r = await run(speakEntry, ["--file", input, "--async", "--out", join(dir, "story.mp3")], env, dir);
    expect(r.code, r.stderr).toBe(0);
    const upload = minimax.requests.find((q) => q.path === "/v1/files/upload");
    expect(upload?.multipart?.fields.purpose).toBe("t2a_async_input");
    const created = minimax.requests.find((q) => q.path === "/v1/t2a_async_v2")?.json as {
      text_file_id?: unknown;
    };
    expect(typeof created.text_file_id).toBe("number");
  });

  it("refuses an oversized --file before reading it", async () => {
    const big = join(dir, "big.txt");
    await writeFile(big, "a".repeat(500_000));
    const r = await run(speakEntry, ["--file", big], env, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/big\.txt is 488\.3 KiB; the limit is/);
  });

  it("streams with the AI/ML API refused, and speaks through it without streaming", async () => {
    const aenv = {
      TTS_PROVIDER: "aimlapi",
      AIMLAPI_API_URL: aiml.url,
      AIMLAPI_API_KEY: "aiml-key",
      DOWNLOAD_ALLOW_LOOPBACK: "true",
    };
    const refused = await run(
      speakEntry,
      ["--text", "hi", "--stream", "--out", join(dir, "s.mp3")],
      aenv,
      dir,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot stream/);
    const ok = await run(speakEntry, ["--text", "Hello gateway", "--out", join(dir, "g.mp3")], aenv, dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(aiml.requests.filter((q) => q.path === "/v1/tts").at(-1)?.json).toMatchObject({
      model: "minimax/speech-2.5-turbo-preview",
      text: "Hello gateway",
    });
  });

  it.each([
    [["--text", "x", "--speed", "7"], 2, /^Error: --speed \(0.5 to 2\): invalid value \(see --help\)\n$/],
    [["--bogus"], 2, /^Error: unknown option --bogus \(see --help\)\n$/],
    [
      ["--text", "x", "--model", "speech-2.8-hd", "--emotion", "whisper"],
      1,
      /Emotion "whisper" is not supported by speech-2.8-hd/,
    ],
    [["--file", "does-not-exist.txt"], 1, /Cannot read .*does-not-exist.txt: ENOENT/],
  ])("refuses %j with a clear message", async (args, code, message) => {
    const before = minimax.requests.length;
    const r = await run(speakEntry, args, env, dir);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(minimax.requests.length).toBe(before);
  });

  it("reports an unknown voice with what the CLI offers, not the bot's /voices", async () => {
    const r = await run(
      speakEntry,
      ["--text", "hi", "--voice", "No_Such_Voice", "--out", join(dir, "v.mp3")],
      env,
      dir,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: The voice "No_Such_Voice" does not exist or is not available to this account: list voices with --list-voices\.\n/,
    );
    expect(r.stderr).not.toContain("/voices");
    const list = await run(speakEntry, ["--list-voices"], env, dir);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^Wise_Woman\s+system/m);
    expect(list.stderr).toMatch(/^\d+ voices; pass one with --voice ID\.\n$/);
  });

  it("reports a provider refusal with its code and trace id", async () => {
    minimax.inject({ kind: "baseResp", code: 1026, msg: "input new_sensitive", route: "/v1/t2a_v2" });
    const r = await run(speakEntry, ["--text", "something", "--out", join(dir, "n.mp3")], env, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused this text/);
    expect(r.stderr).toMatch(/code 1026, "input new_sensitive", .*trace id [0-9a-f]{32}/);
  });
});

describe("npm run speak: flags and help", () => {
  it.each([["--help"], ["-h"]])("%s works with an empty environment", async (flag) => {
    const r = await runBare([flag], {}, dir);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Usage: npm run speak -- --text "Hello there"/);
    expect(r.stdout).toContain("--list-voices");
    expect(r.stdout).toContain("out/speech-<date>-<time>.<format>");
  });

  it("refuses a bad flag in one line, with no configuration needed, exit 2", async () => {
    const r = await runBare(["--text", "hi", "--sped", "1.2"], {}, dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("Error: unknown option --sped (did you mean --speed?) (see --help)\n");
  });

  it.each([
    [
      ["--text", "hi", "--out", "x.wav", "--format", "mp3"],
      /does not match --format mp3: name it x\.mp3, or use --format wav/,
    ],
    [["--text", "hi", "--out", "x.ogg"], /must end in \.mp3, \.wav, \.flac, \.pcm/],
    [["--text", "hi", "--out", "some/folder/"], /is a folder; give a file name/],
    [["--text"], /--text needs a value/],
    [["Hello"], /unexpected argument "Hello"/],
  ])("refuses %j in one line ending in see --help, exit 2, nothing sent", async (args, message) => {
    const before = minimax.requests.length;
    const r = await run(speakEntry, args, env, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^Error: [^\n]* \(see --help\)\n$/);
    expect(minimax.requests.length).toBe(before);
  });
});

describe("npm run speak: the output path", () => {
  it("refuses a missing folder in one line before any request", async () => {
    minimax.reset();
    const missing = join(dir, "no-such-folder");
    const r = await run(speakEntry, ["--text", "Hello there", "--out", join(missing, "x.mp3")], env, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: The folder ${missing} does not exist; create it first or choose another --out\n`,
    );
    expect(r.stdout).toBe("");
    expect(minimax.requests).toEqual([]);
    expect(existsSync(missing)).toBe(false);
  });

  it("refuses a relative missing folder, resolved against where the command was typed", async () => {
    minimax.reset();
    const r = await run(
      speakEntry,
      ["--text", "Hello", "--out", "nowhere/x.mp3"],
      { ...env, INIT_CWD: dir },
      root,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Error: The folder ${join(dir, "nowhere")} does not exist; create it first or choose another --out\n`,
    );
    expect(minimax.requests).toEqual([]);
  });

  it("refuses --out naming a folder before any request, leaving no .part", async () => {
    minimax.reset();
    const folder = join(dir, "a-folder");
    await mkdir(folder, { recursive: true });
    for (const out of [folder, join(dir, "a-folder.mp3")]) {
      if (out.endsWith(".mp3")) await mkdir(out, { recursive: true });
      const r = await run(speakEntry, ["--text", "Hello there", "--out", out], env, dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `^Error: ${out.replaceAll(".", "\\.")} is a folder; give a file name, e\\.g\\. --out .*speech\\.mp3\\n$`,
        ),
      );
    }
    expect(minimax.requests).toEqual([]);
    expect(await partFiles(dir)).toEqual([]);
    expect(await partFiles(folder)).toEqual([]);
  });

  it("refuses a name without extension, and a subtitle path that is a folder, before any request", async () => {
    minimax.reset();
    const bare = await run(speakEntry, ["--text", "Hello", "--out", join(dir, "noext")], env, dir);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toBe(
      `Error: --out ${join(dir, "noext")} has no extension: name it ${join(dir, "noext")}.mp3\n`,
    );
    await mkdir(join(dir, "taken.srt"), { recursive: true });
    const srt = await run(
      speakEntry,
      ["--text", "Hello", "--async", "--out", join(dir, "taken.mp3")],
      env,
      dir,
    );
    expect(srt.code).toBe(1);
    expect(srt.stderr).toMatch(/taken\.srt is a folder/);
    expect(minimax.requests).toEqual([]);
  });

  it.each([
    ["an error event after two chunks", { kind: "streamError", code: 1000, afterChunks: 2 } as const],
    ["a connection cut mid-body", { kind: "truncate", route: "/v1/t2a_v2" } as const],
  ])("leaves no .part and no output after %s while streaming", async (_label, fault) => {
    minimax.reset();
    const folder = await mkdtemp(join(dir, "mid-"));
    minimax.inject(fault);
    const r = await run(
      speakEntry,
      [
        "--text",
        "A sentence long enough for several chunks of audio.",
        "--stream",
        "--out",
        join(folder, "s.mp3"),
      ],
      env,
      dir,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(minimax.requests.some((q) => q.path === "/v1/t2a_v2")).toBe(true);
    expect(await readdir(folder)).toEqual([]);
  });

  it("removes the .part on Ctrl-C and exits 130", async () => {
    minimax.reset();
    const folder = await mkdtemp(join(dir, "sigint-"));
    const out = join(folder, "s.mp3");
    minimax.inject({ kind: "latency", ms: 5000, route: "/v1/t2a_v2" });
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !/^(DISCORD_|MINIMAX_|AIMLAPI_|TTS_|SYNC_MAX|INIT_CWD|LOG_LEVEL)/.test(k),
      ),
    );
    const child = spawn(process.execPath, [speakEntry, "--text", "Hello there", "--stream", "--out", out], {
      env: { ...clean, ...env },
      cwd: dir,
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += String(d);
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await waitFor(() => minimax.requests.some((q) => q.path === "/v1/t2a_v2"), "the synthesis request");
    await waitFor(async () => (await partFiles(folder)).length === 1, "the .part file");
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toBe("Interrupted.\n");
    expect(await readdir(folder)).toEqual([]);
  });

  it("writes to out/speech-<date>-<time>.mp3 under the folder the command was typed in by default", async () => {
    minimax.reset();
    const typedIn = await mkdtemp(join(dir, "typed-"));
    const r = await run(speakEntry, ["--text", "Hello there"], { ...env, INIT_CWD: typedIn }, root);
    expect(r.code, r.stderr).toBe(0);
    const written = /^Wrote (.*)$/m.exec(r.stdout)?.[1];
    expect(written).toMatch(new RegExp(`^${typedIn}/out/speech-\\d{8}-\\d{6}\\.mp3$`));
    expect((await readFile(written!)).length).toBeGreaterThan(0);
    expect(await readdir(typedIn)).toEqual(["out"]);
    expect(existsSync(join(root, "speech.mp3"))).toBe(false);

    // A second run in the same second does not overwrite the first; --format picks the extension.
    const again = await run(speakEntry, ["--text", "Hello there", "--format", "wav"], env, typedIn);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^Wrote ${typedIn}/out/speech-\\d{8}-\\d{6}(-2)?\\.wav$`, "m"));
  });

  it("takes the format from the --out extension", async () => {
    minimax.reset();
    const r = await run(speakEntry, ["--text", "Hello", "--out", join(dir, "ext.flac")], env, dir);
    expect(r.code, r.stderr).toBe(0);
    const body = minimax.requests.find((q) => q.path === "/v1/t2a_v2")?.json as {
      audio_setting: { format: string };
    };
    expect(body.audio_setting.format).toBe("flac");
    expect((await readFile(join(dir, "ext.flac"))).subarray(0, 4).toString("latin1")).toBe("fLaC");
  });
});

describe("npm run speak: network failures", () => {
  it("says a name that does not resolve plainly, at once, without calling it temporary", async () => {
    const t0 = Date.now();
    const r = await run(
      speakEntry,
      ["--text", "Hello", "--out", join(dir, "dns.mp3")],
      { MINIMAX_API_URL: "http://nonexistent.invalid", MINIMAX_API_KEY: "cli-key" },
      dir,
    );
    expect(r.code).toBe(1);
    // ENOTFOUND normally; a machine without any resolver answers EAI_AGAIN, said as "right now".
    expect(r.stderr).toMatch(
      /^Error: Could not resolve nonexistent\.invalid( right now \([^)]*\))?: check MINIMAX_API_URL and your network(, then try again)?\.\n$/,
    );
    expect(r.stderr).not.toMatch(/temporary problem/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(existsSync(join(dir, "dns.mp3"))).toBe(false);
  });
});

describe("npm start", () => {
  it("fails fast without DISCORD_TOKEN, naming it and .env.example, without a stack trace", async () => {
    const t0 = Date.now();
    const r = await run(join(root, "src/index.ts"), [], { MINIMAX_API_KEY: "k-123456" }, dir);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("DISCORD_TOKEN");
    expect(r.stderr).toContain(".env.example");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });
});
