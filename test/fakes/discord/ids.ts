import { randomBytes } from "node:crypto";

/** Discord's epoch (2015-01-01T00:00:00Z): snowflakes count milliseconds from here. */
export const DISCORD_EPOCH_MS = 1_420_070_400_000;

/**
 * A snowflake generator: `(ms since the Discord epoch) << 22 | worker << 17 | process << 12 | increment`.
 * With `fixedStartMs` the ids are deterministic (fixtures keep the same ids in every run); otherwise
 * they follow the wall clock like Discord's. `worker` (0–31) keeps several fakes' ids apart.
 */
export function createSnowflakeGenerator(fixedStartMs?: number, worker = 1): () => string {
  let increment = 0;
  let lastMs = 0;
  let fixedMs = fixedStartMs;
  return () => {
    let ms: number;
    if (fixedMs !== undefined) {
      ms = fixedMs;
      fixedMs += 1;
    } else {
      ms = Math.max(Date.now(), lastMs);
    }
    if (ms === lastMs) increment = (increment + 1) & 0xfff;
    else increment = 0;
    lastMs = ms;
    const id =
      (BigInt(ms - DISCORD_EPOCH_MS) << 22n) |
      (BigInt(worker & 0x1f) << 17n) |
      (1n << 12n) |
      BigInt(increment);
    return id.toString();
  };
}

export function snowflakeTimestamp(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH_MS;
}

export function isSnowflake(value: unknown): value is string {
  return typeof value === "string" && /^\d{1,20}$/.test(value);
}

/** A bot token shaped like Discord's: base64(user id) . timestamp part . HMAC part. */
export function makeBotToken(botUserId: string): string {
  const head = Buffer.from(botUserId).toString("base64url");
  return `${head}.${randomBytes(4).toString("base64url")}.${randomBytes(27).toString("base64url")}`;
}

/** Interaction tokens look like base64url("interaction:<id>:<random>") and are long. */
export function makeInteractionToken(interactionId: string): string {
  return Buffer.from(`interaction:${interactionId}:${randomBytes(48).toString("base64url")}`).toString(
    "base64url",
  );
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}
