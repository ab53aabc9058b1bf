import type { JobRunnerOptions } from "../../src/jobs/runner.ts";
import type { JobLogger } from "../../src/jobs/steps.ts";
import type { JobPublisher, JobRecord, ResultFile } from "../../src/jobs/types.ts";
import type { SpeechSettings } from "../../src/speech/types.ts";
import type { RecordKeyValue } from "../../src/storage/key-value.ts";

/** A Keyv-like map that stores JSON copies, as a real store serialises (no shared references). */
export class MemoryKv implements RecordKeyValue {
  readonly data = new Map<string, string>();
  async get(key: string): Promise<unknown> {
    const raw = this.data.get(key);
    return raw === undefined ? undefined : JSON.parse(raw);
  }
  async set(key: string, value: unknown): Promise<boolean> {
    this.data.set(key, JSON.stringify(value));
    return true;
  }
}

export interface PostedResult {
  ids: string[];
  files: ResultFile[];
  text: string;
}

/**
 * Records every call. postResult is idempotent per job as the contract demands; `crashAfterSend`
 * makes the next N calls "send" the result and then fail, as a connection dropped after Discord
 * accepted the message would.
 */
export class MemoryPublisher implements JobPublisher {
  readonly statuses: JobRecord[] = [];
  readonly posted = new Map<string, PostedResult>();
  readonly postCalls: string[] = [];
  crashAfterSend = 0;
  failStatus = false;

  async postStatus(job: JobRecord): Promise<string> {
    if (this.failStatus) throw new Error("missing access");
    return `status-${job.id}`;
  }

  async updateStatus(job: JobRecord): Promise<void> {
    this.statuses.push(job);
  }

  async postResult(job: JobRecord, files: ResultFile[], text: string): Promise<string[]> {
    this.postCalls.push(job.id);
    let result = this.posted.get(job.id);
    if (!result) {
      result = { ids: [`result-${job.id}`], files, text };
      this.posted.set(job.id, result);
    }
    if (this.crashAfterSend > 0) {
      this.crashAfterSend--;
      throw new Error("socket hang up after the message was sent");
    }
    return result.ids;
  }

  statesOf(jobId: string): string[] {
    return this.statuses.filter((j) => j.id === jobId).map((j) => j.state);
  }
}

export interface LogLine {
  level: "info" | "warn" | "error";
  obj: object;
  msg: string | undefined;
}

export function memoryLogger(): JobLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}

/** Small intervals so a whole job takes well under a second against the fake. */
export const FAST: JobRunnerOptions = {
  firstPollMs: 30,
  maxPollMs: 120,
  retryBaseMs: 10,
  retryMaxMs: 40,
  idleMs: 200,
  stopTimeoutMs: 2_000,
};

export const SETTINGS: SpeechSettings = { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" };

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 8_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * The job side of the budget ledger in memory: holds are taken by `reservation()`, and every settle
 * and release is recorded, so tests can see what a job was billed (and that it was billed once).
 */
export class MemoryLedger {
  readonly holds = new Map<string, number>();
  readonly settled = new Map<string, number>();
  readonly released = new Set<string>();
  failNext = 0;

  reservation(holdId: string, chars = 100) {
    this.holds.set(holdId, chars);
    return { holdId, release: async () => void (await this.release(holdId)) };
  }

  async settle(holdId: string, chars: number): Promise<boolean> {
    this.#maybeFail();
    if (!this.holds.delete(holdId)) return false;
    this.settled.set(holdId, chars);
    return true;
  }

  async release(holdId: string): Promise<boolean> {
    this.#maybeFail();
    if (!this.holds.delete(holdId)) return false;
    this.released.add(holdId);
    return true;
  }

  #maybeFail(): void {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("ledger unavailable");
    }
  }
}
