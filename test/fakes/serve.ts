import type { RecordedRequest } from "./common/http.ts";
import { startFakeAimlApi, startFakeMiniMax } from "./index.ts";

/**
 * `npm run fake:tts`: both fake TTS providers on fixed loopback ports, accepting any key, so the bot
 * and the CLI can be tried without an account. Ports come from FAKE_MINIMAX_PORT / FAKE_AIMLAPI_PORT
 * (0 = any free port; the lines printed below always show the real ones).
 */

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    console.error(`${name} must be a port number (0-65535), got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

function logLine(service: string) {
  return (r: RecordedRequest) => {
    const query = new URLSearchParams(r.query).toString();
    console.log(
      `${new Date(r.at).toISOString()} ${service} ${r.method} ${r.path}${query ? `?${query}` : ""}`,
    );
  };
}

const minimax = await startFakeMiniMax({
  port: port("FAKE_MINIMAX_PORT", 8701),
  acceptAnyKey: true,
  onRequest: logLine("minimax"),
});
const aimlapi = await startFakeAimlApi({
  port: port("FAKE_AIMLAPI_PORT", 8702),
  acceptAnyKey: true,
  onRequest: logLine("aimlapi"),
});

console.log(`Fake MiniMax listening on ${minimax.url}`);
console.log(`Fake AI/ML API listening on ${aimlapi.url}`);
console.log("");
console.log("Use MiniMax (any key works):");
console.log(`  MINIMAX_API_URL=${minimax.url} MINIMAX_API_KEY=any-key`);
console.log("Or the AI/ML API gateway:");
console.log(`  TTS_PROVIDER=aimlapi AIMLAPI_API_URL=${aimlapi.url} AIMLAPI_API_KEY=any-key`);
console.log("");

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  await Promise.all([minimax.close(), aimlapi.close()]);
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
