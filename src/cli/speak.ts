import { createWriteStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { audioDurationMs } from "../audio/duration.ts";
import { type Config, configSecrets, loadConfig, loadConfigOrExit } from "../config.ts";
import { createLogger, type Logger } from "../logger.ts";
import { createProvider } from "../providers/create-provider.ts";
import { runAsyncSynthesis } from "../speech/async-run.ts";
import { TtsError } from "../speech/errors.ts";
import { MINIMAX_LIMITS } from "../speech/models.ts";
import type { SpeechRequest, SubtitleSegment, TtsProvider } from "../speech/types.ts";
import { synthesizeLong } from "../text/long-text.ts";
import { toSrt } from "../text/subtitles.ts";
import { decodeTextFile, formatBytes, TextFileError } from "../text/text-file.ts";
import { parseSpeakArgs, type SpeakArgs, speechSettings, USAGE } from "./args.ts";
import { type CliContext, checkApiHost, describeForCli } from "./messages.ts";
import { CliError, errnoText, PartFiles, prepareOutput } from "./output.ts";

/** The most a --file may hold: MiniMax's text_file_id limit is 100,000 characters (≤ 4 bytes each). */
const MAX_FILE_BYTES = 400_000;

interface Written {
  path: string;
  bytes: number;
  durationMs: number | undefined;
}

/** What a run needs once the flags, the configuration and the output path are settled. */
interface Run {
  provider: TtsProvider;
  req: SpeechRequest;
  out: string;
  input: SpeakArgs["input"];
  mode: SpeakArgs["mode"];
  fileBytes: Buffer | undefined;
  signal: AbortSignal;
  parts: PartFiles;
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  // Flags first, without any configuration: --help and flag mistakes need no API key.
  const parsed = parseSpeakArgs(argv);
  if (!parsed.ok) {
    err(`Error: ${parsed.error} (see --help)`);
    return 2;
  }
  if (parsed.command === "help") {
    out(USAGE);
    return 0;
  }
  const config = loadConfigOrExit(() => loadConfig({ requireDiscordToken: false }));
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    secrets: configSecrets(config),
    destination: process.stderr,
  });
  const abort = new AbortController();
  const parts = new PartFiles();
  process.once("SIGINT", () => {
    abort.abort(new Error("interrupted"));
    // A second Ctrl-C does not wait for the provider call to wind down.
    process.once("SIGINT", () => {
      parts.removeAllSync();
      err("Interrupted.");
      process.exit(130);
    });
  });
  const apiUrl = config.tts.provider === "aimlapi" ? config.aimlapi.apiUrl : config.minimax.apiUrl;
  const ctx: CliContext = {
    provider: config.tts.provider,
    apiUrl,
    voiceId: parsed.command === "speak" ? (parsed.args.settings.voiceId ?? config.tts.defaultVoice) : "",
  };
  let close: (() => Promise<void>) | undefined;
  try {
    // Everything that can be checked for free is checked before the first request.
    const prepared = parsed.command === "speak" ? await prepare(parsed.args, config, parts) : undefined;
    const dns = await checkApiHost(ctx, abort.signal);
    if (dns) throw new CliError(dns);
    const handle = createProvider(config, logger);
    close = handle.close;
    if (prepared === undefined) {
      await listVoices(handle.provider, abort.signal);
    } else {
      await speak({ ...prepared, provider: handle.provider, signal: abort.signal, parts }, config);
    }
    return 0;
  } catch (e) {
    await parts.removeAll();
    return report(e, abort.signal, ctx, logger);
  } finally {
    await close?.();
  }
}

/** Reads the input and settles the output path: free, and done before anything is sent. */
async function prepare(
  parsed: SpeakArgs,
  config: Config,
  parts: PartFiles,
): Promise<Omit<Run, "provider" | "signal">> {
  // `npm run` changes into the project folder; relative paths mean the folder the user typed the command in.
  const here = process.env.INIT_CWD ?? process.cwd();
  const settings = speechSettings(parsed, { model: config.tts.model, voice: config.tts.defaultVoice });
  let text: string;
  let fileBytes: Buffer | undefined;
  const input: SpeakArgs["input"] =
    parsed.input.kind === "file" ? { kind: "file", path: resolve(here, parsed.input.path) } : parsed.input;
  if (input.kind === "file") {
    fileBytes = await readInputFile(input.path);
    text = decodeTextFile(fileBytes, { maxBytes: MAX_FILE_BYTES });
  } else {
    text = input.text;
  }
  const req: SpeechRequest = { ...settings, text };
  const long = isLong(parsed.mode, text, config);
  const path = await prepareOutput({
    out: parsed.out,
    here,
    format: settings.format,
    companions: long ? (p) => [srtPath(p)] : undefined,
  });
  return { req, out: path, input, mode: parsed.mode, fileBytes, parts };
}

function isLong(mode: SpeakArgs["mode"], text: string, config: Config): boolean {
  return mode === "async" || (mode === "auto" && [...text].length > config.tts.syncMaxChars);
}

async function speak(run: Run, config: Config): Promise<void> {
  const started = performance.now();
  if (run.mode === "stream") {
    await runStream(run, started);
  } else if (isLong(run.mode, run.req.text, config)) {
    await runLong(run);
  } else {
    const result = await run.provider.synthesize(run.req, { signal: run.signal });
    const w = await writeAudio(
      run,
      run.out,
      result.audio,
      result.durationMs ?? measure(result.audio, run.req),
    );
    summary(w, result.usageCharacters, result.traceId, performance.now() - started);
  }
}

async function listVoices(provider: TtsProvider, signal: AbortSignal): Promise<void> {
  if (!provider.listVoices) {
    throw new CliError(
      `The ${provider.name} provider cannot list voices; see its documentation for the voice ids.`,
    );
  }
  const voices = await provider.listVoices({ signal });
  const width = Math.max(8, ...voices.map((v) => v.voiceId.length));
  for (const v of voices) {
    const name = v.name && v.name !== v.voiceId ? `  ${v.name}` : "";
    out(`${v.voiceId.padEnd(width)}  ${v.category}${name}`);
  }
  err(`${voices.length} voice${voices.length === 1 ? "" : "s"}; pass one with --voice ID.`);
}

/** The exit code for a failure, after saying it in one line (two for provider details). */
function report(e: unknown, signal: AbortSignal, ctx: CliContext, logger: Logger): number {
  if (signal.aborted) {
    err("Interrupted.");
    return 130;
  }
  if (e instanceof TtsError) {
    err(`Error: ${describeForCli(e, ctx)}`);
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
  logger.error({ err: e }, "unexpected error");
  err(`Error: ${(e as Error).message}`);
  return 1;
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

async function runStream(run: Run, started: number): Promise<void> {
  const { provider, req } = run;
  if (!provider.stream) {
    throw new CliError(`The ${provider.name} provider cannot stream; run without --stream.`);
  }
  let firstChunkMs: number | undefined;
  const gen = provider.stream(req, { signal: run.signal });
  let summaryInfo: Awaited<ReturnType<typeof gen.next>>["value"] | undefined;
  let bytes = 0;
  // Written chunk by chunk so a long clip starts landing on disk at the first audio.
  async function* chunks() {
    for (;;) {
      const next = await gen.next();
      if (next.done) {
        summaryInfo = next.value;
        return;
      }
      firstChunkMs ??= performance.now() - started;
      bytes += next.value.length;
      yield next.value;
    }
  }
  const part = run.parts.open(run.out);
  try {
    await pipeline(chunks, createWriteStream(part));
  } catch (e) {
    // A provider failure is reported as such; only a failing disk is said as a write error.
    if (e instanceof TtsError || run.signal.aborted || (e as NodeJS.ErrnoException).code === undefined)
      throw e;
    throw new CliError(`Cannot write ${run.out}: ${errnoText(e)}`);
  }
  await run.parts.commit(part, run.out);
  const s = summaryInfo as Exclude<typeof summaryInfo, Buffer | undefined>;
  const durationMs = s?.durationMs ?? measure(await readFile(run.out), req);
  summary({ path: run.out, bytes, durationMs }, s?.usageCharacters, s?.traceId, performance.now() - started);
  if (firstChunkMs !== undefined) out(`  first audio after ${Math.round(firstChunkMs)} ms`);
}

async function runLong(run: Run): Promise<void> {
  const { provider, req, signal } = run;
  const started = performance.now();
  if (!provider.async) {
    err(`The ${provider.name} provider has no async API: synthesizing in chunks…`);
    const long = await synthesizeLong(provider, req, {
      signal,
      onProgress: (p: { done: number; total: number }) => err(`  chunk ${p.done}/${p.total}`),
    });
    const w = await writeAudio(run, run.out, long.result.audio, long.result.durationMs);
    const srt = await writeSubtitles(run, run.out, long.subtitles);
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
    run.fileBytes ?? (chars > MINIMAX_LIMITS.asyncTextMaxChars ? Buffer.from(req.text, "utf8") : undefined);
  const input = upload
    ? {
        fileId: await api.uploadText(
          upload,
          run.input.kind === "file" ? basename(run.input.path) : "input.txt",
          { signal },
        ),
      }
    : { text: req.text };
  const task = await runAsyncSynthesis(api, input, req, {
    signal,
    initialDelayMs: 500,
    onProgress: (p) => err(`  task ${p.taskId}: ${p.status} (${(p.elapsedMs / 1000).toFixed(1)} s)`),
  });
  const parts = task.result.parts;
  if (parts.length === 0) throw new CliError("The speech service returned an empty result.");
  for (const [i, part] of parts.entries()) {
    const path = parts.length === 1 ? run.out : numbered(run.out, i + 1);
    const extra = part.extra as { audio_length?: unknown } | undefined;
    const reported = typeof extra?.audio_length === "number" ? extra.audio_length : undefined;
    const w = await writeAudio(run, path, part.audio, reported ?? measure(part.audio, req));
    summary(
      w,
      i === 0 ? task.created.usageCharacters : undefined,
      task.created.traceId,
      performance.now() - started,
    );
    if (part.subtitles) out(`  subtitles: ${await writeSubtitles(run, path, part.subtitles)}`);
  }
  out(`  task ${task.created.taskId}, ${task.polls} poll${task.polls === 1 ? "" : "s"}`);
}

function numbered(path: string, n: number): string {
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${n}${ext}`;
}

function srtPath(audioPath: string): string {
  const ext = extname(audioPath);
  return `${audioPath.slice(0, audioPath.length - ext.length)}.srt`;
}

async function writeSubtitles(run: Run, audioPath: string, segments: SubtitleSegment[]): Promise<string> {
  const path = srtPath(audioPath);
  await run.parts.write(path, Buffer.from(toSrt(segments), "utf8"));
  return path;
}

/** Through a `.part` file and a rename, so an interrupted run never leaves a half file under the real name. */
async function writeAudio(
  run: Run,
  path: string,
  data: Buffer,
  durationMs: number | undefined,
): Promise<Written> {
  await run.parts.write(path, data);
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

// `npm run speak -- --list-voices | head` closes the pipe early: that is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
