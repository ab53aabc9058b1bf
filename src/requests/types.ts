import { z } from "zod";
import { SpeakOptionsSchema } from "../speak/speak-options.ts";
import { recordStates } from "../storage/record-kit.ts";
import { DroppedInputSchema } from "../text/narration-input.ts";

/**
 * Community narration requests: a member asks for a narration, others upvote it, a moderator
 * approves or rejects it, and approved requests run as narration jobs in a fair queue.
 *
 * pending → approved → running → done | failed, or rejected / cancelled on the way.
 * With approval off, a submission starts as approved.
 */

export const REQUEST_STATES = [
  "pending",
  "approved",
  "rejected",
  "cancelled",
  "running",
  "done",
  "failed",
] as const;
export const {
  schema: RequestStateSchema,
  final: FINAL_REQUEST_STATES,
  isFinal: isFinalRequest,
} = recordStates(REQUEST_STATES, ["rejected", "cancelled", "done", "failed"]);
export type RequestState = z.infer<typeof RequestStateSchema>;

/** Largest stored input: the prepared file as base64 (2 MiB of bytes is ~2.8 M characters). */
export const MAX_REQUEST_INPUT_BASE64 = 3 * 1024 * 1024;

/** What to narrate, already checked by `prepareTextInput`/`prepareFileInput` at submission. */
export const RequestInputSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("text"), text: z.string().min(1).max(200_000) }),
  z.object({
    kind: z.literal("file"),
    fileName: z.string().min(1).max(200),
    /** The prepared bytes (BOM-less UTF-8 `.txt`, or the rebuilt `.zip`), base64. */
    contentBase64: z.string().min(1).max(MAX_REQUEST_INPUT_BASE64),
  }),
]);
export type RequestInput = z.infer<typeof RequestInputSchema>;

/** A stored request's input: what to narrate, or the marker left once the request ended. */
export const RequestRecordInputSchema = z.discriminatedUnion("kind", [
  ...RequestInputSchema.options,
  DroppedInputSchema,
]);

export const RequestOptionsSchema = SpeakOptionsSchema.omit({ text: true });

export const NarrationRequestRecordSchema = z.object({
  id: z.string(),
  guildId: z.string(),
  requesterId: z.string(),
  /** Display name at submission, for the credit in the narration's title. */
  requesterName: z.string().optional(),
  title: z.string().min(1).max(100),
  input: RequestRecordInputSchema,
  chars: z.number().int().nonnegative(),
  options: RequestOptionsSchema,
  uploadLimit: z.number().int().positive().optional(),
  state: RequestStateSchema,
  upvoters: z.array(z.string()).default([]),
  /** Who approved; absent when the guild does not require approval. */
  approverId: z.string().optional(),
  approverName: z.string().optional(),
  /** Who rejected (the approver field is for approvals only). */
  rejecterId: z.string().optional(),
  /** The moderator's reason for an approval or a rejection. */
  reason: z.string().max(1000).optional(),
  /** Where the card is (the requests channel at submission time). */
  cardChannelId: z.string().optional(),
  cardMessageId: z.string().optional(),
  /** Where the narration result goes (decided when the job starts). */
  narrationChannelId: z.string().optional(),
  jobId: z.string().optional(),
  /** Why it failed (a refused start or a failed job). */
  error: z.string().max(1000).optional(),
  resultMessageId: z.string().optional(),
  createdAt: z.number(),
  updatedAt: z.number(),
  approvedAt: z.number().optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
});
export type NarrationRequestRecord = z.infer<typeof NarrationRequestRecordSchema>;

/** Events the requester is told about (besides the card, which shows every change). */
export type RequestNotice = "approved" | "rejected" | "done" | "failed";

/** How requests reach Discord; the discord.js implementation is in src/discord/request-cards.ts. */
export interface RequestCards {
  /** Posts the card in `request.cardChannelId` and returns the message id. */
  post(request: NarrationRequestRecord): Promise<string>;
  /** Edits the card to the request's current state (best effort; never throws). */
  update(request: NarrationRequestRecord): Promise<void>;
  /** Tells the requester (a mention in the card's channel; best effort; never throws). */
  notify(request: NarrationRequestRecord, notice: RequestNotice): Promise<void>;
}
