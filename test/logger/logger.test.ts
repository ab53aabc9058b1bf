import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";

function collect() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe("logger redaction", () => {
  const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.discord.token-value";
  const key = "sk-api-0123456789abcdef";

  it("redacts tokens, API keys and Authorization headers in structured fields", () => {
    const { lines, destination } = collect();
    const log = createLogger({ level: "info", destination });
    log.info(
      {
        token,
        apiKey: key,
        headers: { authorization: `Bearer ${key}` },
        request: { headers: { authorization: `Bot ${token}` } },
        config: { discord: { token }, minimax: { apiKey: key } },
        env: { MINIMAX_API_KEY: key, DISCORD_TOKEN: token },
      },
      "hello",
    );
    const out = lines.join("");
    expect(out).toContain("hello");
    expect(out).toContain("[Redacted]");
    expect(out).not.toContain(token);
    expect(out).not.toContain(key);
  });

  it("scrubs configured secrets and bearer values that appear inside strings", () => {
    const { lines, destination } = collect();
    const log = createLogger({ level: "info", destination, secrets: [token, key] });
    log.error({ err: new Error(`request failed with key ${key}`) }, `token was ${token}`);
    log.warn(`header Authorization: Bearer abcdefghijklmnop`);
    const out = lines.join("");
    expect(out).not.toContain(token);
    expect(out).not.toContain(key);
    expect(out).not.toContain("abcdefghijklmnop");
    expect(out).toContain("request failed with key [Redacted]");
  });

  it("respects the level", () => {
    const { lines, destination } = collect();
    const log = createLogger({ level: "warn", destination });
    log.info("quiet");
    log.warn("loud");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).msg).toBe("loud");
  });
});
