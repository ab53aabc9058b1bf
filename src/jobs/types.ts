import { z } from "zod";
import { SpeechSettingsSchema } from "../speech/types.ts";
import { recordStates } from "../storage/record-kit.ts";
import { DroppedInputSchema, JobInputSchema } from "../text/narration-input.ts";

/**
 * Long-text narration jobs: records stored in Keyv, moved through their states by the runner, and
 * published to Discord through a `JobPublisher` (so this folder knows nothing of discord.js).
 *
 * queued → submitted → processing → downloading → posting → done, or failed / cancelled / expired.
 */

export const JOB_STATES = [
  "queued",
  "submitted",
  "processing",
  "downloading",
  "posting",
  "done",
  "failed",
  "cancelled",
  "expired",
] as const;
export const {
  schema: JobStateSchema,
  final: FINAL_STATES,
  isFinal,
} = recordStates(JOB_STATES, ["done", "failed", "cancelled", "expired"]);
export type JobState = z.infer<typeof JobStateSchema>;

/** A stored job's input: what to narrate, or the marker left once it was dropped. */
export const JobRecordInputSchema = z.discriminatedUnion("kind", [
  ...JobInputSchema.options,
  DroppedInputSchema,
]);

/**
 * One run of a multi-voice story: a speaker's consecutive lines, synthesised as one task in their
 * voice. Its text is not stored here: it is found again by parsing the job's script (its input), which
 * is dropped with the input when the job ends. Each run has its own two-phase submit (`submitKey`
 * stored before the paid call), so a restart never sends a run twice.
 */
export const StoryRunSchema = z.object({
  speaker: z.string().min(1),
  voiceId: z.string().min(1).max(256),
  chars: z.number().int().nonnegative(),
  submitKey: z.string().optional(),
  taskId: z.string().optional(),
  /** From the create response; the query's file id replaces it. */
  fileId: z.string().optional(),
  usageCharacters: z.number().int().nonnegative().optional(),
  /** The task finished (its result file is known). */
  ready: z.boolean().optional(),
});
export type StoryRun = z.infer<typeof StoryRunSchema>;

export const StorySchema = z.object({ runs: z.array(StoryRunSchema).min(1) });
export type Story = z.infer<typeof StorySchema>;

export const JobRecordSchema = z.object({
  id: z.string(),
  state: JobStateSchema,
  title: z.string().optional(),
  requesterId: z.string(),
  guildId: z.string().nullable(),
  /** Where the status message and the result go. */
  channelId: z.string(),
  statusMessageId: z.string().optional(),
  input: JobRecordInputSchema,
  settings: SpeechSettingsSchema,
  /** Characters of the text (billing is the provider's `usage_characters` when it reports it). */
  chars: z.number().int().nonnegative(),
  usageCharacters: z.number().int().nonnegative().optional(),
  provider: z.string(),
  taskId: z.string().optional(),
  /**
   * Stored before the paid call (createTask, or the synthesis of a provider without an async API):
   * a job that has it but no result may have been paid for, so it is never sent again blindly.
   */
  submitKey: z.string().optional(),
  /** The ledger hold of this attempt's characters (settled or released when the job ends). */
  holdId: z.string().optional(),
  /** How many times the job was started again (each attempt has its own hold). */
  retries: z.number().int().nonnegative().default(0),
  /** The result file MiniMax named in the query (may differ from the create response's). */
  resultFileId: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  submittedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** Attempts of the current step (reset when the state changes). */
  attempts: z.number().int().nonnegative().default(0),
  polls: z.number().int().nonnegative().default(0),
  /** When a status query last answered "processing" (ms epoch): with the answer "success" it dates the finish. */
  seenProcessingAt: z.number().optional(),
  /** When the task was expected to finish, if the poll plan had an estimate at the submit (ms epoch). */
  expectedAt: z.number().optional(),
  /** When the runner should next look at this job (ms epoch). */
  nextAt: z.number().default(0),
  lastError: z.object({ kind: z.string(), message: z.string() }).optional(),
  /** Messages the result was posted as; set once posting completed. */
  resultMessageIds: z.array(z.string()).optional(),
  /** Upload limit of the destination, for sizing the audio parts. */
  uploadLimit: z.number().int().positive().optional(),
  /** A multi-voice story: one task per run, joined into one file (see src/jobs/story-steps.ts). */
  story: StorySchema.optional(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

export interface ResultFile {
  name: string;
  data: Buffer;
  contentType: string;
}

/** How jobs reach the outside world; the Discord implementation lives in src/discord. */
export interface JobPublisher {
  /** Posts the status message for a new job and returns its id. */
  postStatus(job: JobRecord): Promise<string>;
  /** Edits the status message to the job's current state (best effort; never throws). */
  updateStatus(job: JobRecord): Promise<void>;
  /**
   * Posts the result. Must be idempotent for one job: a second call after a crash must not post the
   * result twice (Discord's nonce with enforce_nonce, or a lookup of what was already posted).
   * Returns the ids of the messages that carry the result.
   */
  postResult(job: JobRecord, files: ResultFile[], text: string): Promise<string[]>;
}
