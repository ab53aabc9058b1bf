import { billFinal, type JobLedger } from "./billing.ts";
import { isFinal, type JobRecord } from "./types.ts";

/**
 * At start-up: holds that a crash left behind. A job's hold follows the job (billed when it ended,
 * released when the job was never stored, kept while it runs). Any other hold (a `/speak` or a voice
 * clip) older than `staleMs` was cut off mid-request; the provider may have been paid, so it is
 * settled at what it reserved, the conservative side for the operator.
 */

export interface ReconcileDeps {
  ledger: JobLedger & { holds(before: number): Promise<{ id: string; chars: number; createdAt: number }[]> };
  getJob(id: string): Promise<JobRecord | undefined>;
  now?: () => number;
  /** Non-job holds younger than this may belong to a request still in flight (another process). */
  staleMs?: number;
  /** A job hold younger than this may be a job being created right now. */
  jobGraceMs?: number;
}

export interface ReconcileReport {
  billed: number;
  released: number;
  kept: number;
}

/** `job:<id>` or `job:<id>:r<n>` → the job id. */
export function jobIdOfHold(holdId: string): string | undefined {
  const m = /^job:([^:]+)(?::r\d+)?$/.exec(holdId);
  return m?.[1];
}

export async function reconcileHolds(deps: ReconcileDeps): Promise<ReconcileReport> {
  const now = deps.now ?? Date.now;
  const report: ReconcileReport = { billed: 0, released: 0, kept: 0 };
  const jobGrace = deps.jobGraceMs ?? 10 * 60_000;
  for (const hold of await deps.ledger.holds(now() - jobGrace)) {
    const jobId = jobIdOfHold(hold.id);
    if (jobId === undefined) {
      if (hold.createdAt > now() - (deps.staleMs ?? 3_600_000)) {
        report.kept++;
        continue;
      }
      await deps.ledger.settle(hold.id, hold.chars);
      report.billed++;
      continue;
    }
    const job = await deps.getJob(jobId);
    if (!job) {
      // Reserved, then the job was never stored: nothing was sent anywhere.
      await deps.ledger.release(hold.id);
      report.released++;
    } else if (job.holdId !== hold.id) {
      // An earlier attempt's hold that a crash kept from being settled: that attempt may have been paid.
      await deps.ledger.settle(hold.id, hold.chars);
      report.billed++;
    } else if (isFinal(job.state)) {
      await billFinal(job, deps.ledger);
      report.billed++;
    } else {
      report.kept++;
    }
  }
  return report;
}
