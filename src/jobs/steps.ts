import { describeTtsError, TtsError } from "../speech/errors.ts";
import type { AsyncTaskStatus, AsyncTtsApi, TtsProvider } from "../speech/types.ts";
import { synthesizeLong } from "../text/long-text.ts";
import { parseScript } from "../text/script.ts";
import { offsetSubtitles } from "../text/subtitles.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { billFinal, type JobLedger } from "./billing.ts";
import type { PendingResults } from "./pending-results.ts";
import type { BackoffTiming, PollPlan } from "./poll-plan.ts";
import {
  type AudioPiece,
  buildResultFiles,
  creditText,
  DEFAULT_UPLOAD_LIMIT,
  type ProducedResult,
} from "./result-files.ts";
import type { JobStore } from "./store.ts";
import { joinStory, type StoryRunAudio } from "./story-result.ts";
import {
  isFinal,
  type JobPublisher,
  type JobRecord,
  type JobState,
  type Story,
  type StoryRun,
} from "./types.ts";

/**
 * One step of a job: what the runner does for each state, and how a failure maps onto the record.
 * Steps return the next record and never persist; the runner stores it before anything else happens.
 */

export interface JobLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface QueryInfo {
  jobId: string;
  taskId: string;
  status: AsyncTaskStatus;
  polls: number;
  sinceSubmitMs: number;
}

export interface StepTiming extends BackoffTiming {
  /** A task still processing after this long is given up on. */
  maxProcessingMs: number;
  maxAttempts: number;
  maxUnexpectedAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export interface StepDeps {
  provider: TtsProvider;
  publisher: JobPublisher;
  logger: JobLogger;
  now: () => number;
  random: () => number;
  timing: StepTiming;
  /** When to query a submitted task (the expected finish), and what finished tasks teach about it. */
  plan: PollPlan;
  /**
   * Results in hand between `downloading` (or a synchronous synthesis) and `posting`. The audio is
   * not stored: after a restart the posting step downloads it again (the URL lives 9 h).
   */
  pending: PendingResults;
  /**
   * Paid calls that returned but whose new state is not stored yet (the store failed): the next
   * attempt uses the answer in hand instead of paying again. Lost with the process, on purpose.
   */
  paid: Map<string, PaidCall>;
  /** Jobs whose submit key this process stored: only those may make the paid call. */
  submitting: Set<string>;
  onQuery: (info: QueryInfo) => void;
  newKey?: () => string;
}

/** `run`: the story run the task is for (a story makes one paid call per run). */
type PaidCall = { kind: "task"; taskId: string; fileId?: string; usageCharacters?: number; run?: number };

/** A finished job's text is not kept; starting it again needs the text again. */
const DROPPED_MESSAGE = "The text of this narration is no longer kept; please start a new one.";

/** Told to members when a job was interrupted in the middle of its paid call. */
export const INTERRUPTED_MESSAGE =
  "The bot stopped while this narration was being sent to the speech service. It was not sent again, " +
  "so it is not paid for twice; press Retry to start it over.";

/** A reason to fail that the step itself found, with its message written for people. */
export class JobFailure extends Error {
  readonly kind: string;
  constructor(kind: string, message: string) {
    super(message);
    this.name = "JobFailure";
    this.kind = kind;
  }
}

/** Into a new state: the attempt counter starts over and the last problem is history. */
function moveTo(job: JobRecord, state: JobState, deps: StepDeps, patch: Partial<JobRecord> = {}): JobRecord {
  const now = deps.now();
  const next: JobRecord = { ...job, nextAt: now, ...patch, state, attempts: 0, lastError: undefined };
  if (state === "done" || state === "failed" || state === "cancelled" || state === "expired") {
    next.finishedAt = now;
  }
  return next;
}

function end(
  job: JobRecord,
  state: "failed" | "expired",
  error: { kind: string; message: string },
  deps: StepDeps,
) {
  return { ...moveTo(job, state, deps), lastError: error };
}

/** What `runStep` needs besides the step's own dependencies: where the job lives and is billed. */
export interface StepRun {
  store: JobStore;
  ledger: JobLedger;
  deps: StepDeps;
  /** Called after every stored state change, before the status message is updated. */
  onChange?: (job: JobRecord) => void;
  /** Called when a step is about to run (counters). */
  onStep?: () => void;
}

/**
 * One step of one stored job, whichever backend schedules it (the embedded runner or the BullMQ
 * workers): the job is re-read, advanced by one step, billed if it ended, and stored before anything
 * else happens. Returns the job as stored afterwards (undefined when it is gone). A job that is final,
 * or not due yet, is returned as it is. Rejects only when the store itself fails.
 */
export async function runStep(id: string, run: StepRun, signal: AbortSignal): Promise<JobRecord | undefined> {
  const { store, deps } = run;
  // Re-read every time: the job may have been cancelled or retried since it was scheduled.
  const job = await store.get(id);
  if (!job || isFinal(job.state) || job.nextAt > deps.now()) return job;
  run.onStep?.();
  let next: JobRecord;
  try {
    next = await advance(job, deps, signal);
  } catch (err) {
    // Aborted by stop() (resume later from the stored state) or by a cancel (already stored).
    if (signal.aborted) return store.get(id);
    next = afterError(job, err, deps);
  }
  // What is owed is recorded before the state that depends on it; settling twice bills once.
  if (isFinal(next.state)) await billFinal(next, run.ledger);
  const stored = await store.update(id, (current) =>
    !current || isFinal(current.state)
      ? undefined
      : { ...next, statusMessageId: next.statusMessageId ?? current.statusMessageId },
  );
  if (!stored) return store.get(id);
  if (stored.state !== job.state) {
    run.onChange?.(stored);
    await deps.publisher.updateStatus(stored).catch((err: unknown) => {
      deps.logger.warn({ jobId: id, err }, "could not update a job's status message");
    });
  }
  return stored;
}

/** The fixed backoff (the poll plan before any speed is known, and the benchmark's baseline). */
export { pollDelay } from "./poll-plan.ts";

export function advance(job: JobRecord, deps: StepDeps, signal: AbortSignal): Promise<JobRecord> {
  const api = deps.provider.async;
  switch (job.state) {
    case "queued":
      if (api && job.story) return submitStoryRun(job, job.story, api, deps, signal);
      return api ? submit(job, api, deps, signal) : download(job, deps, signal);
    case "submitted":
    case "processing":
      if (job.story) return pollStoryRun(job, job.story, needAsync(deps), deps, signal);
      return poll(job, needAsync(deps), deps, signal);
    case "downloading":
      return download(job, deps, signal);
    case "posting":
      return post(job, deps, signal);
    default:
      return Promise.resolve(job);
  }
}

function needAsync(deps: StepDeps): AsyncTtsApi {
  if (!deps.provider.async) {
    throw new JobFailure(
      "invalid",
      "This narration was started with a speech service that is no longer configured.",
    );
  }
  return deps.provider.async;
}

async function submit(
  job: JobRecord,
  api: AsyncTtsApi,
  deps: StepDeps,
  signal: AbortSignal,
): Promise<JobRecord> {
  const { input } = job;
  if (input.kind === "dropped") throw new JobFailure("invalid", DROPPED_MESSAGE);
  if (input.kind === "file" && !input.uploadedFileId) {
    if (!input.contentBase64)
      throw new JobFailure("invalid", "The file to narrate is missing; please start again.");
    const fileId = await api.uploadText(Buffer.from(input.contentBase64, "base64"), input.fileName, {
      signal,
    });
    // Its own step, stored at once: the upload is not repeated, and the bytes leave the store.
    return moveTo(job, "queued", deps, {
      input: { kind: "file", fileName: input.fileName, uploadedFileId: fileId },
    });
  }
  // Recorded (and stored by the runner) before the paid call, so that a job found later with a key
  // and no task is known to have possibly been paid for.
  if (job.submitKey === undefined) return markSubmitting(job, deps);
  let created = deps.paid.get(job.id);
  if (!created) {
    if (!deps.submitting.has(job.id)) throw new JobFailure("interrupted", INTERRUPTED_MESSAGE);
    const source = input.kind === "text" ? { text: input.text } : { fileId: input.uploadedFileId! };
    const task = await api.createTask(source, job.settings, { signal });
    created = { kind: "task", ...task };
    deps.paid.set(job.id, created);
  }
  const now = deps.now();
  const submitted: JobRecord = {
    ...job,
    taskId: created.taskId,
    // The query's file id wins later; this one is the fallback if the query names none.
    resultFileId: created.fileId,
    usageCharacters: created.usageCharacters ?? job.usageCharacters,
    submittedAt: now,
    polls: 0,
    seenProcessingAt: undefined,
  };
  const expectedMs = deps.plan.expectedMs(submitted);
  return moveTo(submitted, "submitted", deps, {
    nextAt: now + deps.plan.firstDelay(submitted),
    expectedAt: expectedMs === undefined ? undefined : now + Math.round(expectedMs),
  });
}

/** The first half of a paid step: a key stored on the job, and this process's note that it set it. */
function markSubmitting(job: JobRecord, deps: StepDeps): JobRecord {
  const submitKey = deps.newKey?.() ?? `${job.id}.${job.retries}.${deps.now()}`;
  deps.submitting.add(job.id);
  return { ...job, submitKey, nextAt: deps.now() };
}

async function poll(
  job: JobRecord,
  api: AsyncTtsApi,
  deps: StepDeps,
  signal: AbortSignal,
): Promise<JobRecord> {
  if (!job.taskId) throw new JobFailure("invalid", "The job lost its task id; please start it again.");
  const query = await queryTask(job, job.taskId, api, deps, signal);
  const { state, polls, now } = query;
  switch (state.status) {
    case "processing":
      return stillProcessing(job, query, deps);
    case "success": {
      const resultFileId = state.fileId ?? job.resultFileId;
      if (!resultFileId) throw new JobFailure("upstream", NO_RESULT_FILE);
      deps.plan.finished(job, now);
      return moveTo(job, "downloading", deps, { polls, resultFileId });
    }
    case "failed":
      return end(
        job,
        "failed",
        {
          kind: "upstream",
          message: "The speech service could not narrate this text (its task failed).",
        },
        deps,
      );
    case "expired":
      return taskExpired(job, deps);
  }
}

/** One status query of a task, reported to `onQuery`; the poll step decides from its answer. */
async function queryTask(
  job: JobRecord,
  taskId: string,
  api: AsyncTtsApi,
  deps: StepDeps,
  signal: AbortSignal,
) {
  const state = await api.queryTask(taskId, { signal });
  const polls = job.polls + 1;
  const now = deps.now();
  const sinceSubmitMs = now - (job.submittedAt ?? job.createdAt);
  deps.onQuery({ jobId: job.id, taskId, status: state.status, polls, sinceSubmitMs });
  return { state, polls, now, sinceSubmitMs };
}

/** The task is still being worked on: asked again when the plan says, or given up on after too long. */
function stillProcessing(
  job: JobRecord,
  query: { polls: number; now: number; sinceSubmitMs: number },
  deps: StepDeps,
): JobRecord {
  const { polls, now, sinceSubmitMs } = query;
  if (sinceSubmitMs > deps.timing.maxProcessingMs) {
    const minutes = Math.round(sinceSubmitMs / 60_000);
    const message = `The speech service was still working on this after ${minutes} minutes; giving up.`;
    return end(job, "failed", { kind: "timeout", message }, deps);
  }
  return moveTo(job, "processing", deps, {
    polls,
    seenProcessingAt: now,
    nextAt: now + deps.plan.processing(job, now),
  });
}

/** The provider's task expired before its result was fetched: nothing more can come of it. */
function taskExpired(job: JobRecord, deps: StepDeps): JobRecord {
  const message = "The speech service's task expired before its result could be fetched.";
  return end(job, "expired", { kind: "expired", message }, deps);
}

const NO_RESULT_FILE = "The speech service finished but named no result file.";

/** A finished task's audio; a result without any is the provider's fault. */
async function fetchAudio(api: AsyncTtsApi, fileId: string, signal: AbortSignal) {
  const result = await api.fetchResult(fileId, { signal });
  if (result.parts.length === 0)
    throw new JobFailure("upstream", "The speech service's result held no audio.");
  return result;
}

/** A part's duration as the provider reports it (`extra.audio_length`, ms), when it does. */
function partMs(part: { extra?: Record<string, unknown> }): number | undefined {
  return typeof part.extra?.audio_length === "number" ? part.extra.audio_length : undefined;
}

function uploadLimit(job: JobRecord): number {
  return job.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
}

/** The narration's files: downloaded from the async result, or synthesised in chunks right now. */
async function produce(job: JobRecord, deps: StepDeps, signal: AbortSignal): Promise<ProducedResult> {
  if (job.story) return produceStory(job, job.story, deps, signal);
  const api = deps.provider.async;
  let pieces: AudioPiece[];
  let usageCharacters = job.usageCharacters;
  if (api) {
    if (!job.resultFileId)
      throw new JobFailure("invalid", "The job lost its result file id; please start it again.");
    const result = await fetchAudio(api, job.resultFileId, signal);
    pieces = result.parts.map((p) => ({
      audio: p.audio,
      format: p.format,
      subtitles: p.subtitles,
      durationMs: partMs(p),
    }));
  } else {
    const long = await synthesizeLong(deps.provider, { ...job.settings, text: textOf(job) }, { signal });
    const r = long.result;
    pieces = [
      {
        audio: r.audio,
        format: r.format,
        subtitles: long.subtitles,
        durationMs: r.durationMs,
        sampleRate: r.sampleRate,
        channels: r.channels,
      },
    ];
    usageCharacters = r.usageCharacters ?? usageCharacters;
  }
  return { ...buildResultFiles(job, pieces, uploadLimit(job)), usageCharacters };
}

/** Without an async API only text can be narrated; a `.txt` file is text too. */
function textOf(job: JobRecord): string {
  const { input } = job;
  if (input.kind === "text") return input.text;
  if (input.kind === "dropped") throw new JobFailure("invalid", DROPPED_MESSAGE);
  if (input.contentBase64 && input.fileName.toLowerCase().endsWith(".txt")) {
    return Buffer.from(input.contentBase64, "base64").toString("utf8");
  }
  throw new JobFailure(
    "invalid",
    `The file ${input.fileName} can only be narrated by MiniMax's long-text service.`,
  );
}

/** `downloading`, or `queued` for a provider without an async API (which goes straight to posting). */
async function download(job: JobRecord, deps: StepDeps, signal: AbortSignal): Promise<JobRecord> {
  if (!deps.provider.async && job.state === "queued") {
    // Synthesising is the paid call here: the same two halves as createTask.
    if (job.submitKey === undefined) return markSubmitting(job, deps);
    if (!deps.submitting.has(job.id) && !deps.pending.has(job.id)) {
      throw new JobFailure("interrupted", INTERRUPTED_MESSAGE);
    }
    const inHand = deps.pending.get(job.id);
    if (inHand) return moveTo(job, "posting", deps, { usageCharacters: inHand.usageCharacters });
  }
  const produced = await produce(job, deps, signal);
  deps.pending.set(job.id, produced);
  return moveTo(job, "posting", deps, { usageCharacters: produced.usageCharacters });
}

async function post(job: JobRecord, deps: StepDeps, signal: AbortSignal): Promise<JobRecord> {
  // Without an async API the audio cannot be fetched again, only paid for again: never do that.
  if (!deps.provider.async && !deps.pending.has(job.id)) {
    throw new JobFailure("interrupted", INTERRUPTED_MESSAGE);
  }
  const produced = deps.pending.get(job.id) ?? (await produce(job, deps, signal));
  // Kept until the post succeeds, so a retried post does not download again.
  deps.pending.set(job.id, produced);
  const ids = await deps.publisher.postResult(job, produced.files, creditText(job, produced.durationMs));
  deps.pending.delete(job.id);
  return moveTo(job, "done", deps, {
    resultMessageIds: ids,
    usageCharacters: produced.usageCharacters ?? job.usageCharacters ?? job.chars,
  });
}

/**
 * A multi-voice story (src/text/script.ts): one async task per run, each in its speaker's voice. Runs
 * are submitted one step at a time, in order, each with the same two halves as any paid call (its own
 * `submitKey` stored first); the job stays `queued` until every run has a task. Then their tasks are
 * queried in order, and the results are downloaded and joined into one file (src/jobs/story-result.ts).
 * Only the last run with a key can lack a task, so a restart finds at most that one, and fails the job
 * as interrupted rather than send it again.
 */
async function submitStoryRun(
  job: JobRecord,
  story: Story,
  api: AsyncTtsApi,
  deps: StepDeps,
  signal: AbortSignal,
): Promise<JobRecord> {
  const index = story.runs.findIndex((r) => r.taskId === undefined);
  const now = deps.now();
  if (index < 0) {
    const usage = story.runs.map((r) => r.usageCharacters);
    const submitted: JobRecord = {
      ...job,
      taskId: story.runs[0]!.taskId,
      usageCharacters: usage.every((u) => u !== undefined) ? usage.reduce((a, b) => a + b, 0) : undefined,
      submittedAt: now,
      polls: 0,
      seenProcessingAt: undefined,
    };
    return moveTo(submitted, "submitted", deps, { nextAt: now + deps.plan.firstDelay(submitted) });
  }
  const run = story.runs[index]!;
  const withRun = (patch: Partial<StoryRun>): Story => ({
    runs: story.runs.map((r, i) => (i === index ? { ...r, ...patch } : r)),
  });
  if (run.submitKey === undefined) {
    const marked = markSubmitting(job, deps);
    // The job's own key (set by the first run) tells billing the story may have been paid for.
    return {
      ...marked,
      submitKey: job.submitKey ?? marked.submitKey,
      story: withRun({ submitKey: marked.submitKey }),
    };
  }
  let created = deps.paid.get(job.id);
  if (created?.run !== index) created = undefined;
  if (!created) {
    if (!deps.submitting.has(job.id)) throw new JobFailure("interrupted", INTERRUPTED_MESSAGE);
    const text = storyScript(job).runs[index]?.text;
    if (text === undefined)
      throw new JobFailure("invalid", "The story's script changed; please start it again.");
    const task = await api.createTask({ text }, { ...job.settings, voiceId: run.voiceId }, { signal });
    created = { kind: "task", run: index, ...task };
    deps.paid.set(job.id, created);
  }
  const next: JobRecord = {
    ...job,
    story: withRun({
      taskId: created.taskId,
      fileId: created.fileId,
      usageCharacters: created.usageCharacters,
    }),
    nextAt: now,
  };
  return moveTo(next, "queued", deps, { nextAt: now });
}

async function pollStoryRun(
  job: JobRecord,
  story: Story,
  api: AsyncTtsApi,
  deps: StepDeps,
  signal: AbortSignal,
): Promise<JobRecord> {
  const index = story.runs.findIndex((r) => !r.ready);
  if (index < 0) return moveTo(job, "downloading", deps);
  const run = story.runs[index]!;
  if (!run.taskId) throw new JobFailure("invalid", "The story lost a task id; please start it again.");
  const query = await queryTask(job, run.taskId, api, deps, signal);
  const { state, polls, now } = query;
  switch (state.status) {
    case "processing":
      return stillProcessing(job, query, deps);
    case "success": {
      const fileId = state.fileId ?? run.fileId;
      if (!fileId) throw new JobFailure("upstream", NO_RESULT_FILE);
      const runs = story.runs.map((r, i) => (i === index ? { ...r, fileId, ready: true } : r));
      const last = runs.every((r) => r.ready);
      // The next run's task has been working meanwhile: ask about it at once.
      return moveTo(job, last ? "downloading" : "processing", deps, { polls, story: { runs }, nextAt: now });
    }
    case "failed":
      return end(
        job,
        "failed",
        {
          kind: "upstream",
          message: `The speech service could not narrate ${run.speaker}'s lines (turn ${index + 1}); its task failed.`,
        },
        deps,
      );
    case "expired":
      return taskExpired(job, deps);
  }
}

/** The story's runs with their texts, parsed again from the stored script. */
function storyScript(job: JobRecord) {
  const { input } = job;
  if (input.kind === "dropped") throw new JobFailure("invalid", DROPPED_MESSAGE);
  if (input.kind !== "text") throw new JobFailure("invalid", "A story's script is stored as text.");
  return parseScript(input.text);
}

/** Every run's audio (downloaded, or synthesised now without an async API), joined in order. */
async function produceStory(
  job: JobRecord,
  story: Story,
  deps: StepDeps,
  signal: AbortSignal,
): Promise<ProducedResult> {
  const script = storyScript(job);
  if (script.runs.length !== story.runs.length) {
    throw new JobFailure("invalid", "The story's script changed; please start it again.");
  }
  const api = deps.provider.async;
  const runs: StoryRunAudio[] = [];
  let usage: number | undefined = 0;
  for (const [i, run] of story.runs.entries()) {
    const text = script.runs[i]!.text;
    if (api) {
      if (!run.fileId)
        throw new JobFailure("invalid", "The story lost a result file id; please start it again.");
      const result = await fetchAudio(api, run.fileId, signal);
      let offset = 0;
      const subtitles = [];
      for (const part of result.parts) {
        subtitles.push(...offsetSubtitles(part.subtitles ?? [], offset));
        offset += partMs(part) ?? 0;
      }
      runs.push({
        speaker: run.speaker,
        text,
        clips: result.parts.map((p) => p.audio),
        format: result.parts[0]!.format,
        subtitles: result.parts.length === 1 ? result.parts[0]!.subtitles : subtitles,
      });
    } else {
      const long = await synthesizeLong(
        deps.provider,
        { ...job.settings, voiceId: run.voiceId, text },
        { signal },
      );
      const r = long.result;
      runs.push({
        speaker: run.speaker,
        text,
        clips: [r.audio],
        format: r.format,
        subtitles: long.subtitles,
        sampleRate: r.sampleRate,
        channels: r.channels,
      });
      usage = usage === undefined || r.usageCharacters === undefined ? undefined : usage + r.usageCharacters;
    }
  }
  let joined: ReturnType<typeof joinStory>;
  try {
    joined = joinStory(runs);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new JobFailure("upstream", `The story's parts could not be joined into one file (${reason}).`);
  }
  return {
    ...buildResultFiles(job, [joined], uploadLimit(job)),
    usageCharacters: api ? job.usageCharacters : (usage ?? job.usageCharacters),
  };
}

function retryLater(
  job: JobRecord,
  error: { kind: string; message: string },
  limit: number,
  rateLimited: boolean,
  deps: StepDeps,
): JobRecord {
  const attempts = job.attempts + 1;
  if (attempts >= limit) return end(job, "failed", error, deps);
  const t = deps.timing;
  const cap = Math.min(t.retryMaxMs, t.retryBaseMs * (rateLimited ? 4 : 1) * 2 ** (attempts - 1));
  // Half fixed, half jitter: a provider outage must not bring every job back in the same instant.
  const delay = Math.round(cap / 2 + (deps.random() * cap) / 2);
  return { ...job, attempts, nextAt: deps.now() + delay, lastError: error };
}

/** The record after a failed step: retried later, or ended with a reason people can read. */
export function afterError(job: JobRecord, err: unknown, deps: StepDeps): JobRecord {
  const where = { jobId: job.id, state: job.state, attempts: job.attempts };
  if (err instanceof TtsError) {
    const error = { kind: err.kind, message: describeTtsError(err) };
    deps.logger.warn({ ...where, kind: err.kind, code: err.code, err: err.message }, "job step failed");
    if (err.kind === "retryable")
      return retryLater(job, error, deps.timing.maxAttempts, err.rateLimited, deps);
    if (err.kind === "expired") return end(job, "expired", error, deps);
    return end(job, "failed", error, deps);
  }
  if (err instanceof JobFailure) {
    deps.logger.warn({ ...where, err: err.message }, "job failed");
    return end(job, "failed", { kind: err.kind, message: err.message }, deps);
  }
  if (err instanceof UserFacingError) {
    deps.logger.warn({ ...where, err: err.message }, "job failed");
    return end(job, "failed", { kind: "invalid", message: err.message }, deps);
  }
  deps.logger.error({ ...where, err }, "unexpected error in a job step");
  const attempts = job.attempts + 1;
  if (attempts >= deps.timing.maxUnexpectedAttempts) {
    return end(
      job,
      "failed",
      { kind: "unexpected", message: "The narration failed because of an unexpected error." },
      deps,
    );
  }
  return retryLater(
    job,
    { kind: "unexpected", message: "An unexpected error occurred; retrying." },
    Number.POSITIVE_INFINITY,
    false,
    deps,
  );
}
