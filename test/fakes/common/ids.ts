import { randomBytes, randomUUID } from "node:crypto";

/** MiniMax trace ids are 32 lowercase hex characters. */
export function traceId(): string {
  return randomBytes(16).toString("hex");
}

export function requestId(): string {
  return randomUUID();
}

/**
 * MiniMax task and file ids are ~14-digit integers (e.g. 95157322514444). Kept below 2^53 so they
 * stay exact in JSON numbers, and random enough that ids from different fakes never collide by luck.
 */
export function numericId(): number {
  return 90_000_000_000_000 + Math.floor(Math.random() * 9_000_000_000_000);
}
