import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeMiniMax, startFakeMiniMax } from "./minimax/server.ts";
import { bodyError, postJson } from "./test-helpers.ts";

let mm: FakeMiniMax;
beforeAll(async () => {
  mm = await startFakeMiniMax();
});
afterAll(() => mm.close());
beforeEach(() => mm.reset());

const sync = () =>
  postJson(`${mm.url}/v1/t2a_v2`, {
    model: "speech-02-turbo",
    text: "Fault lines.",
    voice_setting: { voice_id: "Wise_Woman" },
  });
const voices = () => postJson(`${mm.url}/v1/get_voice`, { voice_type: "system" });

describe("MiniMax fault injection", () => {
  it("latency delays the answer", async () => {
    mm.inject({ kind: "latency", ms: 250 });
    const started = performance.now();
    expect((await (await sync()).json()).base_resp.status_code).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });

  it("http answers a 5xx with a small non-JSON body, `times` times, on the chosen route only", async () => {
    mm.inject({ kind: "http", status: 502, route: "/v1/t2a_v2", times: 2 });
    expect((await voices()).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await sync();
      expect(res.status).toBe(502);
      expect(res.headers.get("content-type")).toBe("text/html");
      expect(await res.text()).toContain("502 Bad Gateway");
    }
    expect((await sync()).status).toBe(200);
  });

  it("baseResp returns an HTTP 200 error body with the code's usual message (or a given one)", async () => {
    mm.inject({ kind: "baseResp", code: 1026 });
    mm.inject({
      kind: "baseResp",
      code: 2061,
      msg: "your current token plan not support model, speech-02-turbo",
    });
    const first = await (await sync()).json();
    expect(first.base_resp).toEqual({ status_code: 1026, status_msg: "input new_sensitive" });
    expect(first.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect((await (await sync()).json()).base_resp.status_msg).toBe(
      "your current token plan not support model, speech-02-turbo",
    );
    expect((await (await sync()).json()).base_resp.status_code).toBe(0);
  });

  it("timeout accepts the request and never answers; close() still returns promptly", async () => {
    const own = await startFakeMiniMax();
    own.inject({ kind: "timeout" });
    const pending = fetch(`${own.url}/v1/get_voice`, {
      method: "POST",
      headers: { Authorization: "Bearer test-key" },
      body: JSON.stringify({ voice_type: "system" }),
      signal: AbortSignal.timeout(300),
    });
    await expect(pending).rejects.toMatchObject({ name: "TimeoutError" });
    expect(own.requests.map((r) => r.path)).toEqual(["/v1/get_voice"]);

    own.inject({ kind: "timeout" });
    const hanging = fetch(`${own.url}/v1/get_voice`, { method: "POST", body: "{}" });
    while (own.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await own.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(hanging).rejects.toThrow();
  });

  it("truncate sends the headers and half the JSON, then drops the connection", async () => {
    mm.inject({ kind: "truncate" });
    const res = await sync();
    expect(res.status).toBe(200);
    expect(Number(res.headers.get("content-length"))).toBeGreaterThan(100);
    expect(await bodyError(res)).toBeDefined();
  });

  it("clearFaults drops pending faults", async () => {
    mm.inject({ kind: "http", status: 500, times: 5 });
    mm.clearFaults();
    expect((await sync()).status).toBe(200);
  });

  it("a 404 does not consume a fault", async () => {
    mm.inject({ kind: "http", status: 503 });
    expect((await fetch(`${mm.url}/nowhere`)).status).toBe(404);
    expect((await sync()).status).toBe(503);
  });
});
