import { createWriteStream } from "node:fs";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { basename, dirname, extname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { audioDurationMs } from "../audio/duration.ts";
import { configSecrets, loadConfig, loadConfigOrExit } from "../config.ts";
import { createLogger } from "../logger.ts";
import { createProvider } from "../providers/create-provider.ts";
import { runAsyncSynthesis } from "../speech/async-run.ts";
import { describeTtsError, TtsError } from "../speech/errors.ts";
import { MINIMAX_LIMITS } from "../speech/models.ts";
import type { SpeechRequest, SubtitleSegment, TtsProvider } from "../speech/types.ts";
import { synthesizeLong } from "../text/long-text.ts";
import { toSrt } from "../text/subtitles.ts";
import { decodeTextFile, formatBytes, TextFileError } from "../text/text-file.ts";
import { parseSpeakArgs, type SpeakArgs, USAGE } from "./args.ts";

/** The most a --file may hold: MiniMax's text_file_id limit is 100,000 characters (≤ 4 bytes each). */
const MAX_FILE_BYTES = 400_000;

/** A problem to report in one line, without a stack trace. */
class CliError extends Error {}

interface Written {
  path: string;
  bytes: number;
  durationMs: number | undefined;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const config = loadConfigOrExit(() => loadConfig({ requireDiscordToken: false }));
  const parsed = parseSpeakArgs(argv, { model: config.tts.model, voice: config.tts.defaultVoice });
  if (!parsed.ok) {
    err(`${parsed.error}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.args.help) {
    out(USAGE);
    return 0;
  }
  // `npm run` changes into the project folder; relative paths mean the folder the user typed the command in.
  const here = process.env.INIT_CWD ?? process.cwd();
  const args: SpeakArgs = {
    ...parsed.args,
    out: resolve(here, parsed.args.out),
    input:
      parsed.args.input.kind === "file"
        ? { kind: "file", path: resolve(here, parsed.args.input.path) }
        : parsed.args.input,
  };
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    secrets: configSecrets(config),
    destination: process.stderr,
  });
  const { provider, close } = createProvider(config, logger);
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort(new Error("interrupted")));
  try {
    let text: string;
    let fileBytes: Buffer | undefined;
    if (args.input.kind === "file") {
      fileBytes = await readInputFile(args.input.path);
      text = decodeTextFile(fileBytes, { maxBytes: MAX_FILE_BYTES });
    } else {
      text = args.input.text;
    }
    const req: SpeechRequest = { ...args.settings, text };
    const long =
      args.mode === "async" || (args.mode === "auto" && [...text].length > config.tts.syncMaxChars);
    const started = performance.now();
    if (args.mode === "stream") {
      await runStream(provider, req, args, abort.signal, started);
    } else if (long) {
      await runLong(provider, req, args, fileBytes, abort.signal);
    } else {
      const result = await provider.synthesize(req, { signal: abort.signal });
      const w = await writeAtomic(args.out, result.audio, result.durationMs ?? measure(result.audio, req));
      summary(w, result.usageCharacters, result.traceId, performance.now() - started);
    }
    return 0;
  } catch (e) {
    if (e instanceof TtsError) {
      err(`Error: ${describeTtsError(e)}`);
      const detail = [
        e.code !== undefined ? `code ${e.code}` : undefined,
        e.statusMsg ? `"${e.statusMsg}"` : undefined,
        e.httpStatus !== undefined ? `HTTP ${e.httpStatus}` : undefined,
        e.traceId ? `trace id ${e.traceId}` : undefined,
      ].filter(Boolean);
      if (detail.length > 0) err(`       (${detail.join(", ")})`);
      return 1;
    }
    if (e instanceof TextFileError || e instanceof CliError) {
      err(`Error: ${e.message}`);
      return 1;
    }
    if (abort.signal.aborted) {
      err("Interrupted.");
      return 130;
    }
    logger.error({ err: e }, "unexpected error");
    err(`Error: ${(e as Error).message}`);
    return 1;
  } finally {
    await close();
  }
}

/** Checks the size before reading, so a huge file is refused without being loaded. */
async function readInputFile(path: string): Promise<Buffer> {
  try {
    const { size } = await stat(path);
    if (size > MAX_FILE_BYTES) {
      throw new TextFileError(
        `${path} is ${formatBytes(size)}; the limit is ${formatBytes(MAX_FILE_BYTES)}.`,
      );
    }
    return await readFile(path);
  } catch (e) {
    if (e instanceof TextFileError) throw e;
    throw new TextFileError(
      `Cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

async function runStream(
  provider: TtsProvider,
  req: SpeechRequest,
  args: SpeakArgs,
  signal: AbortSignal,
  started: number,
): Promise<void> {
  if (!provider.stream) {
    throw new CliError(`The ${provider.name} provider cannot stream; run without --stream.`);
  }
  const tmp = join(dirname(args.out), `.${basename(args.out)}.part`);
  let firstChunkMs: number | undefined;
  const gen = provider.stream(req, { signal });
  let summaryInfo: Awaited<ReturnType<typeof gen.next>>["value"] | undefined;
  // Written chunk by chunk so a long clip starts landing on disk at the first audio.
  async function* chunks() {
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        summaryInfo = next.value;
        return;
      }
      firstChunkMs ??= performance.now() - started;
      yield next.value;
    }
  }
  await pipeline(chunks, createWriteStream(tmp));
  await rename(tmp, args.out);
  const s = summaryInfo as Exclude<typeof summaryInfo, Buffer | undefined>;
  const audio = await readFile(args.out);
  summary(
    { path: args.out, bytes: audio.length, durationMs: s?.durationMs ?? measure(audio, req) },
    s?.usageCharacters,
    s?.traceId,
    performance.now() - started,
  );
  if (firstChunkMs !== undefined) out(`  first audio after ${Math.round(firstChunkMs)} ms`);
}

async function runLong(
  provider: TtsProvider,
  req: SpeechRequest,
  args: SpeakArgs,
  fileBytes: Buffer | undefined,
  signal: AbortSignal,
): Promise<void> {
  const started = performance.now();
  if (!provider.async) {
    err(`The ${provider.name} provider has no async API: synthesizing in chunks…`);
    const long = await synthesizeLong(provider, req, {
      signal,
      onProgress: (p: { done: number; total: number }) => err(`  chunk ${p.done}/${p.total}`),
    });
    const w = await writeAtomic(args.out, long.result.audio, long.result.durationMs);
    const srt = await writeSubtitles(args.out, long.subtitles);
    summary(w, long.result.usageCharacters, long.result.traceId, performance.now() - started);
    out(`  subtitles: ${srt}`);
    return;
  }
  const api = provider.async;
  const chars = [...req.text].length;
  if (chars > MINIMAX_LIMITS.asyncFileMaxChars) {
    throw new CliError(
      `The text has ${chars} characters; the long-text API takes at most ${MINIMAX_LIMITS.asyncFileMaxChars}.`,
    );
  }
  // Inline text is limited to 50,000 characters; longer texts travel as an uploaded file.
  const upload =
    fileBytes ?? (chars > MINIMAX_LIMITS.asyncTextMaxChars ? Buffer.from(req.text, "utf8") : undefined);
  const input = upload
    ? {
        fileId: await api.uploadText(
          upload,
          args.input.kind === "file" ? basename(args.input.path) : "input.txt",
          { signal },
        ),
      }
    : { text: req.text };
  const run = await runAsyncSynthesis(api, input, req, {
    signal,
    initialDelayMs: 500,
    onProgress: (p) => err(`  task ${p.taskId}: ${p.status} (${(p.elapsedMs / 1000).toFixed(1)} s)`),
  });
  const parts = run.result.parts;
  if (parts.length === 0) throw new CliError("The speech service returned an empty result.");
  for (const [i, part] of parts.entries()) {
    const path = parts.length === 1 ? args.out : numbered(args.out, i + 1);
    const extra = part.extra as { audio_length?: unknown } | undefined;
    const reported = typeof extra?.audio_length === "number" ? extra.audio_length : undefined;
    const w = await writeAtomic(path, part.audio, reported ?? measure(part.audio, req));
    summary(
      w,
      i === 0 ? run.created.usageCharacters : undefined,
      run.created.traceId,
      performance.now() - started,
    );
    if (part.subtitles) out(`  subtitles: ${await writeSubtitles(path, part.subtitles)}`);
  }
  out(`  task ${run.created.taskId}, ${run.polls} poll${run.polls === 1 ? "" : "s"}`);
}

function numbered(path: string, n: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${n}${ext}`;
}

async function writeSubtitles(audioPath: string, segments: SubtitleSegment[]): Promise<string> {
  const ext = extname(audioPath);
  const path = `${audioPath.slice(0, audioPath.length - ext.length)}.srt`;
  await writeAtomic(path, Buffer.from(toSrt(segments), "utf8"), undefined);
  return path;
}

/** Write beside the target and rename, so an interrupted run never leaves a half file under the real name. */
async function writeAtomic(path: string, data: Buffer, durationMs: number | undefined): Promise<Written> {
  const tmp = join(dirname(path), `.${basename(path)}.part`);
  await writeFile(tmp, data);
  await rename(tmp, path);
  return { path, bytes: data.length, durationMs };
}

function measure(audio: Buffer, req: SpeechRequest): number | undefined {
  try {
    return audioDurationMs(audio, req.format, {
      sampleRate: req.sampleRate ?? 32000,
      channels: req.channels ?? 1,
    });
  } catch {
    return undefined;
  }
}

function summary(
  w: Written,
  billed: number | undefined,
  traceId: string | undefined,
  elapsedMs: number,
): void {
  const duration = w.durationMs !== undefined ? `${(w.durationMs / 1000).toFixed(2)} s` : "unknown duration";
  out(`Wrote ${w.path}`);
  out(`  duration: ${duration}`);
  out(`  size: ${formatBytes(w.bytes)} (${w.bytes} bytes)`);
  out(`  characters billed: ${billed ?? "not reported"}`);
  out(`  trace id: ${traceId ?? "none"}`);
  out(`  took ${Math.round(elapsedMs)} ms`);
}

process.exitCode = await main(process.argv.slice(2));
