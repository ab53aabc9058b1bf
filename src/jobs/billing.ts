import { isFinal, type JobRecord } from "./types.ts";

/**
 * What a finished narration costs its member. A job is charged once its paid call may have reached
 * the provider (`submitKey` is stored before that call): MiniMax bills a task it accepted whether the
 * job then finishes, fails or is cancelled. A job that never got that far costs nothing.
 *
 * Billing happens *before* the final state is stored, so a crash in between bills again on the next
 * attempt, which the ledger ignores (a hold settles once): the charge is never lost nor doubled.
 */

export interface JobLedger {
  settle(holdId: string, chars: number): Promise<boolean>;
  release(holdId: string): Promise<boolean>;
}

/** Characters to bill for a job in a final state; 0 when nothing was paid. */
export function chargeOf(job: JobRecord): number {
  if (!isFinal(job.state)) return 0;
  if (job.state === "done") return job.usageCharacters ?? job.chars;
  // A story on the async API is paid run by run: only the runs whose task may have reached the provider.
  const sent = job.story?.runs.filter((r) => r.submitKey !== undefined || r.taskId !== undefined) ?? [];
  if (sent.length > 0) return sent.reduce((n, r) => n + (r.usageCharacters ?? r.chars), 0);
  return job.submitKey !== undefined || job.taskId !== undefined ? (job.usageCharacters ?? job.chars) : 0;
}

/** Settles (or releases) the job's hold for its final state. Idempotent; rejects when storage fails. */
export async function billFinal(job: JobRecord, ledger: JobLedger): Promise<void> {
  if (!job.holdId || !isFinal(job.state)) return;
  const charge = chargeOf(job);
  if (charge > 0) await ledger.settle(job.holdId, charge);
  else await ledger.release(job.holdId);
}
