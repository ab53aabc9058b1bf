import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { fetchJson } from "./test-helpers.ts";

const SERVE = fileURLToPath(new URL("./serve.ts", import.meta.url));

it("npm run fake:tts starts both fakes accepting any key, logs requests and stops on SIGTERM", async () => {
  const child = spawn(process.execPath, [SERVE], {
    env: { ...process.env, FAKE_MINIMAX_PORT: "0", FAKE_AIMLAPI_PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  try {
    while (!out.includes("AIMLAPI_API_KEY=")) {
      if (child.exitCode !== null) throw new Error(`serve exited early: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const minimax = /MINIMAX_API_URL=(\S+) MINIMAX_API_KEY=\S+/.exec(out)?.[1];
    const aimlapi = /TTS_PROVIDER=aimlapi AIMLAPI_API_URL=(\S+) AIMLAPI_API_KEY=\S+/.exec(out)?.[1];
    expect(minimax).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(aimlapi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const voices = await fetchJson(`${minimax}/v1/get_voice`, {
      method: "POST",
      headers: { Authorization: "Bearer whatever-you-like" },
      body: JSON.stringify({ voice_type: "system" }),
    });
    expect((await voices.json()).base_resp.status_code).toBe(0);
    const tts = await fetch(`${aimlapi}/v1/tts`, {
      method: "POST",
      headers: { Authorization: "Bearer anything", "Content-Type": "application/json" },
      body: JSON.stringify({ model: "minimax/speech-2.6-turbo", text: "hi" }),
    });
    expect(tts.status).toBe(200);
    while (!out.includes("aimlapi POST /v1/tts")) await new Promise((r) => setTimeout(r, 20));
    expect(out).toMatch(/Z minimax POST \/v1\/get_voice\n/);
  } finally {
    child.kill("SIGTERM");
  }
  const code = child.exitCode ?? (await once(child, "exit"))[0];
  expect(code).toBe(0);
});
