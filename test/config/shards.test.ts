import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.ts";

const base = { DISCORD_TOKEN: "discord-token-value", MINIMAX_API_KEY: "minimax-key-value" };

function shards(env: Record<string, string>) {
  return parseConfig({ ...base, ...env }, { requireDiscordToken: true }).shards;
}

function problem(env: Record<string, string>): string {
  try {
    parseConfig({ ...base, ...env }, { requireDiscordToken: true });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("SHARD_COUNT and SHARD_IDS", () => {
  it.each([
    [{}, { count: undefined, ids: undefined }],
    [
      { SHARD_COUNT: "", SHARD_IDS: "" },
      { count: undefined, ids: undefined },
    ],
    [{ SHARD_COUNT: "auto" }, { count: "auto", ids: undefined }],
    [{ SHARD_COUNT: "4" }, { count: 4, ids: undefined }],
    [
      { SHARD_COUNT: "4", SHARD_IDS: "2" },
      { count: 4, ids: [2] },
    ],
    [
      { SHARD_COUNT: "4", SHARD_IDS: " 3, 0 ,1" },
      { count: 4, ids: [0, 1, 3] },
    ],
    [
      { SHARD_COUNT: "auto", SHARD_IDS: "0,1,2,3" },
      { count: "auto", ids: [0, 1, 2, 3] },
    ],
  ] as const)("%j → %j", (env, expected) => {
    expect(shards(env)).toEqual(expected);
  });

  it.each([
    [{ SHARD_COUNT: "0" }, "SHARD_COUNT: must be auto or a whole number between 1 and 65535"],
    [{ SHARD_COUNT: "two" }, "SHARD_COUNT: must be auto or a whole number between 1 and 65535"],
    [{ SHARD_COUNT: "1.5" }, "SHARD_COUNT: must be auto or a whole number between 1 and 65535"],
    [{ SHARD_IDS: "0" }, "SHARD_IDS: needs SHARD_COUNT (the shards in all)"],
    [{ SHARD_COUNT: "2", SHARD_IDS: "0-1" }, "SHARD_IDS: must be a comma list of shard ids such as 0,1,2"],
    [{ SHARD_COUNT: "2", SHARD_IDS: "0,,1" }, "SHARD_IDS: must be a comma list of shard ids such as 0,1,2"],
    [{ SHARD_COUNT: "2", SHARD_IDS: "-1" }, "SHARD_IDS: must be a comma list of shard ids such as 0,1,2"],
    [{ SHARD_COUNT: "4", SHARD_IDS: "1,1" }, "SHARD_IDS: names a shard twice"],
    [
      { SHARD_COUNT: "2", SHARD_IDS: "1,2,3" },
      "SHARD_IDS: shard 2, 3 does not exist with SHARD_COUNT=2 (ids go from 0 to 1)",
    ],
  ])("%j is refused with one line that says why", (env, message) => {
    expect(problem(env)).toContain(message);
  });
});
