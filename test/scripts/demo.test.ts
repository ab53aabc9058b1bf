import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OggOpusDecoder } from "ogg-opus-decoder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NARRATION_TEXT, PLAY_TEXT, SPEAK_TEXT, VOICE_MESSAGE_TEXT } from "../../scripts/demo/steps.ts";
import { main } from "../../scripts/demo.ts";
import { parseWav } from "../../src/audio/wav.ts";
import { durationForText } from "../fakes/audio/tone.ts";
import { decodeMp3 } from "../fakes/test-helpers.ts";

/**
 * `npm run demo` as a member would run it: a real process (so a handle left open would show as a hang
 * or as the safety-net line on stderr), then the files it saved, decoded with the e2e tests' decoders.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DEMO = join(ROOT, "scripts", "demo.ts");
/** The fake MiniMax's default: 60 ms of tone per spoken character. */
const MS_PER_CHAR = 60;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function runDemo(args: string[], timeoutMs = 40_000): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [DEMO, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the demo did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

let out: string;
let run: Run;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), "demo-test-"));
  run = await runDemo(["--out", out]);
}, 45_000);

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe("npm run demo", () => {
  it("exits 0 on its own, quickly, with nothing on stderr", () => {
    expect(run.stderr, run.stdout).toBe("");
    expect(run.code).toBe(0);
    expect(run.ms).toBeLessThan(30_000);
  });

  it("names each step, what the member saw, and the folder", () => {
    const lines = run.stdout.split("\n");
    for (const step of [
      /^1\. \/speak text:"Hello from the demo" voice:\S+ → an mp3 attachment$/,
      /^2\. \/speak format:voice → a native voice message$/,
      /^3\. a long \/speak \(over SYNC_MAX_CHARS\) → a narration job/,
      /^4\. \/speak play:true in a voice channel → the bot joins and plays; then \/leave$/,
    ]) {
      expect(lines.some((l) => step.test(l))).toBe(true);
    }
    expect(run.stdout).toMatch(/bot replies: 🔊 `\w+` · \d+\.\d s · 19 characters/);
    expect(run.stdout).toMatch(/📎 speech\.mp3 · [\d.]+ KB · [\d.]+ s/);
    expect(run.stdout).toMatch(/📎 voice-message\.ogg · [\d.]+ KB · [\d.]+ s · with waveform/);
    expect(run.stdout).toMatch(/Narration queued \(job `[^`]+`, \d+ characters\)/);
    expect(run.stdout).toMatch(/status message in #general: ⏳ Queued/);
    expect(run.stdout).toMatch(/status message in #general: ✅ Done/);
    expect(run.stdout).toMatch(/📎 \S+\.srt · .* subtitle cues/);
    expect(run.stdout).toMatch(/bot replies: 🔊 Speaking in #Voice/);
    expect(run.stdout).toMatch(/the fake voice server decoded [\d.]+ s of audio; the clip MiniMax served is/);
    expect(run.stdout).toMatch(/✓ it matches the clip/);
    expect(run.stdout).toMatch(/bot replies: Left #Voice/);
    expect(run.stdout).toMatch(/^Summary: all 4 steps worked/m);
    expect(run.stdout).toContain(`Files saved in ${out}/:`);
  });

  it("saves the /speak mp3, and it decodes to the text's length", async () => {
    const decoded = await decodeMp3(await readFile(join(out, "1-speech.mp3")));
    expect(Math.abs(decoded.durationMs - durationForText(SPEAK_TEXT, MS_PER_CHAR))).toBeLessThan(100);
  });

  it("saves the voice message as Ogg/Opus, mono 48 kHz, of the text's length", async () => {
    const ogg = await readFile(join(out, "2-voice-message.ogg"));
    expect(ogg.subarray(0, 4).toString("latin1")).toBe("OggS");
    const decoder = new OggOpusDecoder();
    await decoder.ready;
    try {
      const decoded = await decoder.decodeFile(ogg);
      expect(decoded.sampleRate).toBe(48_000);
      expect(decoded.channelData).toHaveLength(1);
      const ms = (decoded.samplesDecoded / decoded.sampleRate) * 1000;
      expect(Math.abs(ms - durationForText(VOICE_MESSAGE_TEXT, MS_PER_CHAR))).toBeLessThan(60);
    } finally {
      decoder.free();
    }
  });

  it("saves the narration's audio and its subtitles, which cover it", async () => {
    const files = await readdir(out);
    const mp3 = files.find((f) => f.startsWith("3-") && f.endsWith(".mp3"));
    const srt = files.find((f) => f.startsWith("3-") && f.endsWith(".srt"));
    expect(mp3).toBeDefined();
    expect(srt).toBeDefined();
    const expectedMs = durationForText(NARRATION_TEXT, MS_PER_CHAR);
    const decoded = await decodeMp3(await readFile(join(out, mp3!)));
    expect(Math.abs(decoded.durationMs - expectedMs)).toBeLessThan(200);
    const cues = (await readFile(join(out, srt!), "utf8")).trim().split(/\n\n+/);
    expect(cues.length).toBeGreaterThan(1);
    const lastEnd = /--> (\d\d):(\d\d):(\d\d),(\d\d\d)/.exec(cues.at(-1)!);
    expect(lastEnd).not.toBeNull();
    const [, h, m, s, ms] = lastEnd!.map(Number);
    const endMs = ((h! * 60 + m!) * 60 + s!) * 1000 + ms!;
    expect(Math.abs(endMs - expectedMs)).toBeLessThan(500);
  });

  it("saves what the voice channel heard as a 48 kHz stereo WAV as long as the clip", async () => {
    const wav = parseWav(await readFile(join(out, "4-voice-channel.wav")));
    expect(wav).toMatchObject({ sampleRate: 48_000, channels: 2, bitsPerSample: 16 });
    const ms = (wav.data.length / 4 / 48_000) * 1000;
    const expected = durationForText(PLAY_TEXT, MS_PER_CHAR);
    expect(Math.abs(ms - expected) / expected).toBeLessThan(0.1);
  });

  it("saves nothing else", async () => {
    expect((await readdir(out)).sort()).toEqual([
      "1-speech.mp3",
      "2-voice-message.ogg",
      "3-narration.mp3",
      "3-narration.srt",
      "4-voice-channel.wav",
    ]);
  });
});

describe("the demo's main function", () => {
  const capture = () => {
    const io = { stdout: [] as string[], stderr: [] as string[] };
    return {
      io,
      sink: { out: (l: string) => io.stdout.push(l), err: (l: string) => io.stderr.push(l), cwd: ROOT },
    };
  };

  it("--help explains it in a few lines and exits 0", async () => {
    const { io, sink } = capture();
    expect(await main(["--help"], sink)).toBe(0);
    const text = io.stdout.join("\n");
    expect(text).toMatch(/^Usage: npm run demo/);
    expect(text).toMatch(/--out <dir>/);
    expect(text).toMatch(/no token, key or internet/);
    expect(text.split("\n").length).toBeLessThan(15);
  });

  it("refuses an unknown flag with the reason and the usage, exit 2", async () => {
    const { io, sink } = capture();
    expect(await main(["--colour"], sink)).toBe(2);
    expect(io.stderr[0]).toMatch(/^demo: .*--colour/);
    expect(io.stderr.join("\n")).toMatch(/Usage: npm run demo/);
  });

  it("fails with one clear line when the output folder cannot be made", async () => {
    const dir = await mkdtemp(join(tmpdir(), "demo-fail-"));
    try {
      const file = join(dir, "not-a-folder");
      await writeFile(file, "x");
      const { io, sink } = capture();
      expect(await main(["--out", join(file, "sub")], sink)).toBe(1);
      expect(io.stderr).toHaveLength(1);
      expect(io.stderr[0]).toMatch(/^demo failed at creating the output folder .*not-a-folder\/sub/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
