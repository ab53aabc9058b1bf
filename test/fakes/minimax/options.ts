import type { MaliciousTarOptions, MaliciousTarVariant } from "../audio/tar.ts";
import type { CommonFault, FaultTarget } from "../common/faults.ts";
import type { RecordedRequest } from "../common/http.ts";
import type { SystemVoice } from "./voices.ts";

/** A task's processing time from what the task is: its billed characters and its id. */
export type AsyncProcessingTime = (task: { chars: number; taskId: number }) => number;

export interface FakeMiniMaxOptions {
  /** Loopback by default; the fake is never meant to be reachable from elsewhere. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The one key that authenticates (default `test-key`). */
  apiKey?: string;
  /** Any non-empty bearer token authenticates (the `npm run fake:tts` demo server). */
  acceptAnyKey?: boolean;
  /** Audio length per spoken character (default 60 ms); whitespace is free, `<#x#>` adds x s. */
  msPerChar?: number;
  /** Longest clip the fake renders (default 120 s), so a 50,000-character task stays cheap. */
  maxAudioMs?: number;
  /** Synthesis requests (t2a_v2 + t2a_async_v2 together) per sliding minute (default 60). */
  rpm?: number;
  /** Async queries per sliding second (default 10). */
  queryQps?: number;
  /**
   * How long a new task reports `Processing` (default 300 ms). Ignored when `asyncPollsUntilDone` is set.
   * A function gives each task its own time (say, proportional to its characters, with some noise); it is
   * called once per task, on the task's first status check.
   */
  asyncProcessingMs?: number | AsyncProcessingTime;
  /** Report `Processing` for this many queries of a task, then the final status. */
  asyncPollsUntilDone?: number;
  /** Lifetime of `/v1/files/retrieve` download URLs (default 9 h). */
  downloadUrlTtlMs?: number;
  /** Lifetime of `output_format: "url"` audio and subtitle URLs (default 24 h). */
  urlTtlMs?: number;
  /** `status:1` events per stream (default 4; fewer when the audio is tiny). */
  sseChunkCount?: number;
  /** Fixed hex-decoded bytes per `status:1` event instead of a count. */
  sseChunkBytes?: number;
  /** Pause between SSE events (default 5 ms), so "first audio before the last" is observable. */
  sseChunkDelayMs?: number;
  /** `file.bytes` in `/v1/files/retrieve` for results: the real size, or 0 as seen live (default "actual"). */
  resultBytes?: "actual" | "zero";
  /** Replace the built-in system voice catalog (ids, or full entries). */
  voices?: (string | SystemVoice)[];
  /** Clock for rate limits, task progress and URL expiry (default `Date.now`). */
  now?: () => number;
  /** Called for every request after it has been recorded (the demo server logs with it). */
  onRequest?: (record: RecordedRequest) => void;
}

export type ResolvedMiniMaxOptions = Required<
  Omit<FakeMiniMaxOptions, "asyncPollsUntilDone" | "sseChunkBytes" | "voices" | "onRequest">
> &
  Pick<FakeMiniMaxOptions, "asyncPollsUntilDone" | "sseChunkBytes" | "voices" | "onRequest">;

export function resolveOptions(opts: FakeMiniMaxOptions = {}): ResolvedMiniMaxOptions {
  return {
    host: "127.0.0.1",
    port: 0,
    apiKey: "test-key",
    acceptAnyKey: false,
    msPerChar: 60,
    maxAudioMs: 120_000,
    rpm: 60,
    queryQps: 10,
    asyncProcessingMs: 300,
    downloadUrlTtlMs: 9 * 3600_000,
    urlTtlMs: 24 * 3600_000,
    sseChunkCount: 4,
    sseChunkDelayMs: 5,
    resultBytes: "actual",
    now: Date.now,
    // An explicit `undefined` (e.g. from an env lookup) means "default", not "unset".
    ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
  };
}

/**
 * Faults beyond the common ones. Stream faults wait for the next streaming t2a_v2 request, `tar` for
 * the next result download, task faults for the next created task.
 */
export type MiniMaxFault =
  | CommonFault
  | ({ kind: "baseResp"; code: number; msg?: string } & FaultTarget)
  | ({ kind: "streamError"; code: number; msg?: string; afterChunks?: number } & FaultTarget)
  | ({ kind: "streamNoFinal" } & FaultTarget)
  | ({ kind: "streamDone" } & FaultTarget)
  | ({ kind: "crlf" } & FaultTarget)
  | ({ kind: "tar"; variant: MaliciousTarVariant } & MaliciousTarOptions & FaultTarget)
  | ({ kind: "taskFailed" } & FaultTarget)
  | ({ kind: "taskExpired" } & FaultTarget)
  /**
   * The next signed URL handed out on `route` (`/v1/t2a_v2` for url output, `/v1/files/retrieve` for
   * results) points at `base` (e.g. another server, a private address) instead of the fake itself.
   */
  | ({ kind: "downloadUrl"; base: string } & FaultTarget)
  /** Answer with a redirect to `location` (default 302) instead of the real answer. */
  | ({ kind: "redirect"; location: string; status?: number } & FaultTarget)
  /** The next t2a_v2 answer (hex, url or stream) carries these bytes as its audio. */
  | ({ kind: "audioBody"; body: Buffer } & FaultTarget)
  /** Immediate: every download URL issued so far answers 403 "Request has expired". */
  | { kind: "expireDownloads" };
