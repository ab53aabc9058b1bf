import { randomBytes } from "node:crypto";
import type { TarEntry } from "../audio/tar.ts";
import { numericId } from "../common/ids.ts";
import type { AsyncInput } from "./files.ts";
import type { AsyncProcessingTime } from "./options.ts";
import { renderSpeech } from "./synth.ts";
import type { SynthesisParams } from "./validation.ts";

/**
 * Async tasks: created → `Processing` for a while → a final status. Status is computed when
 * asked (from the clock or the poll count) rather than by timers, so nothing runs in the background
 * and a test clock can move time forward.
 */

export type TaskStatus = "Processing" | "Success" | "Failed" | "Expired";

export interface FakeTask {
  task_id: number;
  /** The id returned by the create call. */
  file_id: number;
  /** The id the query reports (and the result tar has) — deliberately different, as live. */
  result_file_id: number;
  task_token: string;
  created_at: number;
  polls: number;
  /** Where the task ends up once it stops processing. */
  outcome: Exclude<TaskStatus, "Processing">;
  params: SynthesisParams;
  inputs: AsyncInput[];
  usage_characters: number;
  /** The result archive's entries, rendered on first use. */
  result?: TarEntry[];
  /** How long this task processes, when the fake's option is a function (fixed on first use). */
  processing_ms?: number;
}

export interface TaskTiming {
  now: () => number;
  asyncProcessingMs: number | AsyncProcessingTime;
  asyncPollsUntilDone: number | undefined;
}

/** How long the task reports `Processing` (by the clock). */
export function taskProcessingMs(task: FakeTask, processing: number | AsyncProcessingTime): number {
  if (typeof processing === "number") return processing;
  task.processing_ms ??= processing({ chars: task.usage_characters, taskId: task.task_id });
  return task.processing_ms;
}

/** Looks like the JWT MiniMax returns; nothing checks it. */
function taskToken(taskId: number): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  return `${part({ alg: "RS256", typ: "JWT" })}.${part({ task_id: taskId })}.${randomBytes(32).toString("base64url")}`;
}

export function createTask(
  params: SynthesisParams,
  inputs: AsyncInput[],
  usageCharacters: number,
  outcome: FakeTask["outcome"],
  now: number,
): FakeTask {
  const taskId = numericId();
  return {
    task_id: taskId,
    file_id: taskId,
    result_file_id: numericId(),
    task_token: taskToken(taskId),
    created_at: now,
    polls: 0,
    outcome,
    params,
    inputs,
    usage_characters: usageCharacters,
  };
}

/** The status a query reports; `poll` counts this call as one poll. */
export function taskStatus(task: FakeTask, timing: TaskTiming, poll: boolean): TaskStatus {
  if (poll) task.polls++;
  const processing =
    timing.asyncPollsUntilDone !== undefined
      ? task.polls <= timing.asyncPollsUntilDone
      : timing.now() - task.created_at < taskProcessingMs(task, timing.asyncProcessingMs);
  return processing ? "Processing" : task.outcome;
}

const FIELD_ORDER = ["title", "content", "extra"] as const;

/**
 * The result archive: per text, `<field>-<id>.<fmt>` audio, `.titles` cues and `.extra`
 * info. Zip input gets a folder per member; its ids carry the member number so basenames stay unique.
 */
export function resultEntries(task: FakeTask, render: { msPerChar: number; maxAudioMs: number }): TarEntry[] {
  if (task.result) return task.result;
  const mtime = Math.floor(task.created_at / 1000);
  const entries: TarEntry[] = [];
  for (const input of task.inputs) {
    const dir = input.folder === undefined ? "" : `${input.folder}/`;
    const id = input.folder === undefined ? `${task.task_id}` : `${task.task_id}-${input.folder}`;
    if (dir) entries.push({ name: dir, type: "directory", mtime });
    for (const field of FIELD_ORDER) {
      const text = input.fields[field];
      if (!text) continue;
      const clip = renderSpeech(text, task.params, render);
      const extra = { ...clip.extraInfo, vol: task.params.vol };
      const stem = `${dir}${field}-${id}`;
      entries.push(
        { name: `${stem}.${clip.format}`, content: clip.audio, mtime },
        { name: `${stem}.titles`, content: Buffer.from(JSON.stringify(clip.cues)), mtime },
        { name: `${stem}.extra`, content: Buffer.from(JSON.stringify(extra)), mtime },
      );
    }
  }
  task.result = entries;
  return entries;
}
