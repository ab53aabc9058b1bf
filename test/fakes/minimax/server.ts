import { bufferReply, type RecordedRequest, type Reply, sleep, startHttpFake } from "../common/http.ts";
import { traceId } from "../common/ids.ts";
import type { FakeTask } from "./async-tasks.ts";
import { baseRespError, errorReply } from "./codes.ts";
import type { StoredFile } from "./files.ts";
import { type FakeMiniMaxOptions, type MiniMaxFault, resolveOptions } from "./options.ts";
import { ROUTES } from "./routes.ts";
import type { DesignedVoice } from "./routes-voice-design.ts";
import { createState, type MiniMaxState, resetState } from "./state.ts";

/**
 * A local MiniMax speech API: same
 * routes, field names, quirks and error codes, with real audio, so clients are tested against the
 * protocol rather than against mocks of themselves.
 */

export type { FakeMiniMaxOptions, MiniMaxFault } from "./options.ts";

export interface FakeMiniMax {
  /** Base URL, e.g. `http://127.0.0.1:40123` — what `MINIMAX_API_URL` should be. */
  url: string;
  port: number;
  close(): Promise<void>;
  /** Every request received, in order (including downloads and 404s). */
  requests: RecordedRequest[];
  /** Async tasks by task id. */
  tasks: ReadonlyMap<number, FakeTask>;
  /** Uploaded files by file id. */
  files: ReadonlyMap<number, StoredFile>;
  /** Designed voices (voice_design) by voice id. */
  designedVoices: ReadonlyMap<string, DesignedVoice>;
  inject(fault: MiniMaxFault): void;
  clearFaults(): void;
  /** Forget requests, faults, tasks, files, issued URLs and rate-limit windows. */
  reset(): void;
}

const NOT_FOUND = bufferReply(404, "text/plain; charset=utf-8", "404 page not found");

/** Go-style gateway failures: a short non-JSON body, as a proxy in front of MiniMax would send. */
function httpFailure(status: number): Reply {
  const text = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
  }[status];
  const title = `${status} ${text ?? "Error"}`;
  return bufferReply(
    status,
    "text/html",
    `<html><head><title>${title}</title></head><body><h1>${title}</h1></body></html>\n`,
  );
}

/** Missing bearer → 1004; a key that is not ours → 2049, as a key for the other region gets. */
function authError(state: MiniMaxState, record: RecordedRequest) {
  const match = /^Bearer\s+(.+)$/i.exec(record.headers.authorization ?? "");
  const key = match?.[1]?.trim();
  if (!key) return baseRespError(1004);
  if (!state.opts.acceptAnyKey && key !== state.opts.apiKey) return baseRespError(2049);
  return undefined;
}

/** Faults that replace the answer before any route logic runs. */
async function preFaults(
  state: MiniMaxState,
  path: string,
  apiRoute: boolean,
  trace: string,
): Promise<Reply | undefined> {
  const latency = state.faults.take(path, ["latency"]);
  if (latency) await sleep(latency.ms);
  const fault = state.faults.take(
    path,
    apiRoute ? ["http", "timeout", "baseResp", "redirect"] : ["http", "timeout", "redirect"],
  );
  if (!fault) return undefined;
  if (fault.kind === "timeout") return { kind: "hang" };
  if (fault.kind === "redirect") {
    return bufferReply(fault.status ?? 302, "text/plain", `Redirecting to ${fault.location}`, {
      Location: fault.location,
    });
  }
  if (fault.kind === "http") return httpFailure(fault.status);
  return errorReply(baseRespError(fault.code, fault.msg), trace);
}

async function route(state: MiniMaxState, record: RecordedRequest): Promise<Reply> {
  const trace = traceId();
  const { path } = record;
  let reply: Reply;
  if (state.storage.owns(path)) {
    reply =
      (await preFaults(state, path, false, trace)) ?? state.storage.handle(record.method, path, record.query);
  } else {
    const handler = ROUTES[path]?.[record.method];
    if (!handler) return NOT_FOUND;
    const early = await preFaults(state, path, true, trace);
    if (early) {
      reply = early;
    } else {
      const denied = authError(state, record);
      if (denied) return errorReply(denied, trace);
      // Legacy GroupId: absent is fine, any value is accepted, but an empty one is a (misleading) 1008.
      if ("GroupId" in record.query && record.query.GroupId === "")
        return errorReply(baseRespError(1008), trace);
      reply = await handler({ state, record, trace });
    }
  }
  if (reply.kind !== "hang" && state.faults.take(path, ["truncate"])) reply = { ...reply, truncate: true };
  return reply;
}

export async function startFakeMiniMax(options: FakeMiniMaxOptions = {}): Promise<FakeMiniMax> {
  const opts = resolveOptions(options);
  const state = createState(opts);
  const http = await startHttpFake({
    host: opts.host,
    port: opts.port,
    onRequest: (record) => {
      state.requests.push(record);
      opts.onRequest?.(record);
    },
    route: (record) => route(state, record),
  });
  state.baseUrl = http.url;
  return {
    url: http.url,
    port: http.port,
    close: () => http.close(),
    requests: state.requests,
    tasks: state.tasks,
    files: state.files,
    designedVoices: state.designed,
    inject: (fault) => {
      if (fault.kind === "expireDownloads") state.storage.expireAll();
      else state.faults.add(fault);
    },
    clearFaults: () => state.faults.clear(),
    reset: () => resetState(state),
  };
}
