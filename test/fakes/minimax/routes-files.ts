import { buildTar, maliciousTarChunks } from "../audio/tar.ts";
import { bufferReply, type Reply } from "../common/http.ts";
import { numericId } from "../common/ids.ts";
import { type FakeTask, resultEntries, taskStatus } from "./async-tasks.ts";
import { baseRespError, errorReply, invalidParams, okReply } from "./codes.ts";
import { fileObject, parseUpload } from "./files.ts";
import type { MiniMaxState, RouteHandler } from "./state.ts";

/** Async query, the file API (retrieve, retrieve_content, upload) and result downloads. */

/** Ids arrive as query strings or JSON numbers/strings; MiniMax ids are positive integers. */
function parseId(value: unknown): number | undefined {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function timing(state: MiniMaxState) {
  return {
    now: state.opts.now,
    asyncProcessingMs: state.opts.asyncProcessingMs,
    asyncPollsUntilDone: state.opts.asyncPollsUntilDone,
  };
}

export const queryTask: RouteHandler = ({ state, record, trace }) => {
  if (!state.queryWindow.tryAcquire()) return errorReply(baseRespError(1002), trace);
  const body = record.json as { task_id?: unknown } | undefined;
  const taskId = parseId(record.method === "POST" ? body?.task_id : record.query.task_id);
  if (taskId === undefined) return errorReply(invalidParams("task_id: required integer"), trace);
  const task = state.tasks.get(taskId);
  if (!task) return errorReply(invalidParams(`task_id: task ${taskId} not found`), trace);
  const status = taskStatus(task, timing(state), true);
  return okReply({ task_id: task.task_id, status, file_id: task.result_file_id }, trace);
};

/** A result file exists once its task has succeeded (without counting as a poll). */
function readyResult(state: MiniMaxState, fileId: number): FakeTask | undefined {
  const task = state.results.get(fileId);
  return task && taskStatus(task, timing(state), false) === "Success" ? task : undefined;
}

function resultTar(state: MiniMaxState, task: FakeTask): Buffer {
  return buildTar(resultEntries(task, state.opts));
}

/** The bytes of a result download: the real archive, or the hostile one a `tar` fault asks for. */
function resultBody(state: MiniMaxState, task: FakeTask, path: string): Buffer | Iterable<Buffer> {
  const fault = state.faults.take(path, ["tar"]);
  if (!fault) return resultTar(state, task);
  return maliciousTarChunks(fault.variant, resultEntries(task, state.opts), fault);
}

function storageKey(task: FakeTask): string {
  return `t2a_async/${task.result_file_id}.tar`;
}

export const retrieveFile: RouteHandler = ({ state, record, trace }) => {
  const fileId = parseId(record.query.file_id);
  if (fileId === undefined) return errorReply(invalidParams("file_id: required integer"), trace);
  const input = state.files.get(fileId);
  if (input) return okReply({ file: fileObject(input) }, trace);
  const task = readyResult(state, fileId);
  if (!task) return errorReply(invalidParams(`file_id: file ${fileId} not found`), trace);
  const tar = resultTar(state, task);
  const key = storageKey(task);
  if (!state.storage.has(key)) {
    state.storage.put(key, {
      contentType: "application/x-tar",
      open: (path) => resultBody(state, task, path),
    });
  }
  return okReply(
    {
      file: {
        file_id: task.result_file_id,
        bytes: state.opts.resultBytes === "zero" ? 0 : tar.length,
        created_at: Math.floor(task.created_at / 1000),
        filename: `${task.result_file_id}.tar`,
        purpose: "t2a_async",
        download_url: state.storage.sign(
          state.faults.take(record.path, ["downloadUrl"])?.base ?? state.baseUrl,
          key,
          state.opts.downloadUrlTtlMs,
        ),
      },
    },
    trace,
  );
};

export const retrieveContent: RouteHandler = ({ state, record, trace }): Reply => {
  const fileId = parseId(record.query.file_id);
  if (fileId === undefined) return errorReply(invalidParams("file_id: required integer"), trace);
  const headers = { "Trace-Id": trace };
  const input = state.files.get(fileId);
  if (input) return bufferReply(200, "application/octet-stream", input.content, headers);
  const task = readyResult(state, fileId);
  if (!task) return errorReply(invalidParams(`file_id: file ${fileId} not found`), trace);
  const body = resultBody(state, task, record.path);
  if (Buffer.isBuffer(body)) return bufferReply(200, "application/octet-stream", body, headers);
  return {
    kind: "stream",
    status: 200,
    headers: { "Content-Type": "application/octet-stream", ...headers },
    chunks: body,
  };
};

export const uploadFile: RouteHandler = ({ state, record, trace }) => {
  const parsed = parseUpload(record, numericId(), Math.floor(state.opts.now() / 1000));
  if (!parsed.ok) return errorReply(parsed.error, trace);
  state.files.set(parsed.file.file_id, parsed.file);
  return okReply({ file: fileObject(parsed.file) }, trace);
};
