import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
    [["--text", "x", "--speed", "7"], 2, /--speed \(0.5 to 2\)[\s\S]*Usage: npm run speak/],
    [["--bogus"], 2, /Unknown option '--bogus'/],
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

  it("reports a provider refusal with its code and trace id", async () => {
    minimax.inject({ kind: "baseResp", code: 1026, msg: "input new_sensitive", route: "/v1/t2a_v2" });
    const r = await run(speakEntry, ["--text", "something", "--out", join(dir, "n.mp3")], env, dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused this text/);
    expect(r.stderr).toMatch(/code 1026, "input new_sensitive", .*trace id [0-9a-f]{32}/);
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
