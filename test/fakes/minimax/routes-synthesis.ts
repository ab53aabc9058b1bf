import { createTask, type FakeTask } from "./async-tasks.ts";
import { baseRespError, errorReply, invalidParams, okReply } from "./codes.ts";
import { inputCharacters } from "./files.ts";
import { markVoiceUsed } from "./routes-voice-design.ts";
import { sseReply } from "./sse.ts";
import type { RouteContext, RouteHandler } from "./state.ts";
import { renderSpeech } from "./synth.ts";
import { validateAsync, validateSync } from "./validation.ts";

/** `POST /v1/t2a_v2` and `POST /v1/t2a_async_v2`, which share one RPM window. */

const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  flac: "audio/flac",
  pcm: "application/octet-stream",
};

/** The async file-input limit (API reference: "< 100,000 characters"; the guide's 1M is not trusted). */
export const ASYNC_FILE_MAX_CHARS = 100_000; // exclusive

function publish(ctx: RouteContext, key: string, contentType: string, body: Buffer, audio = false): string {
  const { state } = ctx;
  state.storage.put(key, { contentType, open: () => body });
  const moved = audio ? state.faults.take(ctx.record.path, ["downloadUrl"]) : undefined;
  return state.storage.sign(moved?.base ?? state.baseUrl, key, state.opts.urlTtlMs);
}

export const t2aV2: RouteHandler = (ctx) => {
  const { state, record, trace } = ctx;
  if (!state.synthesisWindow.tryAcquire()) return errorReply(baseRespError(1002), trace);
  const validated = validateSync(record.json ?? record.body.toString("utf8"), (id) => state.voiceIds.has(id));
  if (!validated.ok) return errorReply(validated.error, trace);
  const params = validated.params;
  markVoiceUsed(state, params.voiceId);
  const real = renderSpeech(params.text!, params, state.opts);
  const swapped = state.faults.take(record.path, ["audioBody"]);
  const rendered = swapped ? { ...real, audio: swapped.body } : real;
  const subtitleFile = params.subtitles
    ? publish(ctx, `subtitles/${trace}.json`, "application/json", Buffer.from(JSON.stringify(rendered.cues)))
    : undefined;

  if (params.mode === "stream") {
    const take = <K extends "streamError" | "streamNoFinal" | "streamDone" | "crlf">(kind: K) =>
      state.faults.take(record.path, [kind]);
    const error = take("streamError");
    return sseReply(
      rendered,
      {
        chunkCount: state.opts.sseChunkCount,
        chunkBytes: state.opts.sseChunkBytes,
        delayMs: state.opts.sseChunkDelayMs,
        excludeAggregatedAudio: params.excludeAggregatedAudio,
        channels: params.channels,
        subtitleFile,
      },
      trace,
      {
        ...(error ? { error } : {}),
        noFinal: take("streamNoFinal") !== undefined,
        done: take("streamDone") !== undefined,
        crlf: take("crlf") !== undefined,
      },
    );
  }

  const audio =
    params.outputFormat === "url"
      ? publish(
          ctx,
          `audio/tts-${trace}.${params.format}`,
          CONTENT_TYPES[params.format]!,
          rendered.audio,
          true,
        )
      : rendered.audio.toString("hex");
  const data: Record<string, unknown> = { audio, status: 2, ced: "" };
  if (subtitleFile) data.subtitle_file = subtitleFile;
  return okReply({ data, extra_info: rendered.extraInfo }, trace);
};

export const t2aAsyncV2: RouteHandler = (ctx) => {
  const { state, record, trace } = ctx;
  if (!state.synthesisWindow.tryAcquire()) return errorReply(baseRespError(1002), trace);
  const validated = validateAsync(record.json ?? record.body.toString("utf8"), (id) =>
    state.voiceIds.has(id),
  );
  if (!validated.ok) return errorReply(validated.error, trace);
  const params = validated.params;

  let inputs: FakeTask["inputs"];
  if (params.textFileId !== undefined) {
    const file = state.files.get(params.textFileId);
    if (!file?.inputs)
      return errorReply(invalidParams(`text_file_id: file ${params.textFileId} not found`), trace);
    if (inputCharacters(file.inputs) >= ASYNC_FILE_MAX_CHARS) {
      return errorReply(
        invalidParams(`text_file_id: text too long (max ${ASYNC_FILE_MAX_CHARS - 1})`),
        trace,
      );
    }
    inputs = file.inputs;
  } else {
    inputs = [{ folder: undefined, fields: { content: params.text! } }];
  }

  const failure = state.faults.take(record.path, ["taskFailed", "taskExpired"]);
  const outcome =
    failure?.kind === "taskFailed" ? "Failed" : failure?.kind === "taskExpired" ? "Expired" : "Success";
  const task = createTask(params, inputs, inputCharacters(inputs), outcome, state.opts.now());
  state.tasks.set(task.task_id, task);
  state.results.set(task.result_file_id, task);
  return okReply(
    {
      task_id: task.task_id,
      task_token: task.task_token,
      file_id: task.file_id,
      usage_characters: task.usage_characters,
    },
    trace,
  );
};
