import { setTimeout as sleepFor } from "node:timers/promises";
import { ExpiredError, UpstreamError } from "./errors.ts";
import type { AsyncResult, AsyncTaskCreated, AsyncTaskStatus, AsyncTtsApi, SpeechSettings } from "./types.ts";

/**
 * Runs one async (long-text) synthesis in the foreground: create, poll until it settles, fetch the
 * result. The bot's persistent job system does the same over stored records; this is the simple
 * in-process form for the CLI.
 */

export interface AsyncProgress {
  status: AsyncTaskStatus | "created" | "downloading";
  taskId: string;
  elapsedMs: number;
  polls: number;
}

export interface AsyncRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: AsyncProgress) => void;
  /** First poll delay; each poll while processing waits `backoff` times longer, up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  backoff?: number;
  /** Give up after this long (MiniMax keeps results 9 h; a task should finish within minutes). */
  timeoutMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export interface AsyncRunResult {
  created: AsyncTaskCreated;
  result: AsyncResult;
  polls: number;
}

/** The next poll delay: grows geometrically while a task is processing, capped. Pure for testing. */
export function nextPollDelay(current: number, opts: { backoff: number; maxDelayMs: number }): number {
  return Math.min(opts.maxDelayMs, Math.round(current * opts.backoff));
}

export async function runAsyncSynthesis(
  api: AsyncTtsApi,
  input: { text: string } | { fileId: string },
  settings: SpeechSettings,
  opts: AsyncRunOptions = {},
): Promise<AsyncRunResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number, signal?: AbortSignal) => sleepFor(ms, undefined, { signal }));
  const backoff = opts.backoff ?? 1.5;
  const maxDelayMs = opts.maxDelayMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 60 * 60_000;
  const started = now();
  const created = await api.createTask(input, settings, { signal: opts.signal });
  const report = (status: AsyncProgress["status"], polls: number) =>
    opts.onProgress?.({ status, taskId: created.taskId, elapsedMs: now() - started, polls });
  report("created", 0);

  let delay = opts.initialDelayMs ?? 1000;
  let polls = 0;
  for (;;) {
    await sleep(delay, opts.signal);
    const state = await api.queryTask(created.taskId, { signal: opts.signal });
    polls++;
    report(state.status, polls);
    if (state.status === "success") {
      const fileId = state.fileId ?? created.fileId;
      if (!fileId) {
        throw new UpstreamError("The task succeeded but named no result file", { provider: "minimax" });
      }
      report("downloading", polls);
      const result = await api.fetchResult(fileId, { signal: opts.signal });
      return { created, result, polls };
    }
    if (state.status === "failed") {
      throw new UpstreamError(`The speech service reported that task ${created.taskId} failed`, {
        provider: "minimax",
      });
    }
    if (state.status === "expired") {
      throw new ExpiredError(`Task ${created.taskId} expired before its result was fetched`, {
        provider: "minimax",
      });
    }
    if (now() - started > timeoutMs) {
      throw new UpstreamError(
        `Task ${created.taskId} was still processing after ${Math.round(timeoutMs / 1000)} s`,
        {
          provider: "minimax",
        },
      );
    }
    delay = nextPollDelay(delay, { backoff, maxDelayMs });
  }
}
