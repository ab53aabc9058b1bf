import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeAimlApi, startFakeAimlApi } from "./aimlapi/server.ts";
import { toneFrequencyFor } from "./audio/tone.ts";
import {
  bodyError,
  decodeFlac,
  decodeMp3,
  dominantFrequency,
  getJson,
  type Json,
  postJson,
} from "./test-helpers.ts";

let api: FakeAimlApi;
beforeAll(async () => {
  api = await startFakeAimlApi();
});
afterAll(() => api.close());
beforeEach(() => api.reset());

const TEXT = "Hello from the gateway, speaking through MiniMax.";
const body = (over: Record<string, unknown> = {}) => ({
  model: "minimax/speech-2.5-turbo-preview",
  text: TEXT,
  ...over,
});
const tts = (payload: unknown, key?: string | null) => postJson(`${api.url}/v1/tts`, payload, { key });

function expectErrorShape(json: Json, status: number): void {
  expect(json).toEqual({
    message: expect.any(String),
    path: "/v1/tts",
    requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    statusCode: status,
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });
}

describe("POST /v1/tts response modes", () => {
  it("json-object (default): audio.url to a fetchable mp3, plus credits used", async () => {
    const res = await tts(body());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const json = await res.json();
    expect(json.audio.url).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/moose\/audio%2Ftts-[0-9a-f-]+\.mp3\?Expires=\d+&OSSAccessKeyId=/,
    );
    expect(json.meta.usage.credits_used).toBeGreaterThan(0);
    expect(json.meta.usage.usd_spent).toBeCloseTo(json.meta.usage.credits_used * 0.0000005, 10);
    const audio = Buffer.from(await (await fetch(json.audio.url)).arrayBuffer());
    const decoded = await decodeMp3(audio);
    expect(decoded).toMatchObject({ sampleRate: 32000, channels: 1 });
    // The default voice is Wise_Woman.
    expect(dominantFrequency(decoded.samples.subarray(8000, 40000), 32000)).toBeCloseTo(
      toneFrequencyFor("Wise_Woman"),
      -1,
    );
  });

  it("json-string: audio is the URL itself", async () => {
    const stringy = await startFakeAimlApi({ responseMode: "json-string" });
    try {
      const json = await (await postJson(`${stringy.url}/v1/tts`, body())).json();
      expect(typeof json.audio).toBe("string");
      expect((await fetch(json.audio)).status).toBe(200);
      expect(json.meta.usage).toBeDefined();
    } finally {
      await stringy.close();
    }
  });

  it("binary: the audio bytes in the body, labelled audio/wav whatever the format", async () => {
    const binary = await startFakeAimlApi({ responseMode: "binary" });
    try {
      const res = await postJson(
        `${binary.url}/v1/tts`,
        body({ audio_setting: { format: "flac", sample_rate: 22050 } }),
      );
      expect(res.headers.get("content-type")).toBe("audio/wav");
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(bytes.toString("ascii", 0, 4)).toBe("fLaC");
      expect((await decodeFlac(bytes)).sampleRate).toBe(22050);
      const mp3 = await postJson(`${binary.url}/v1/tts`, body());
      expect(mp3.headers.get("content-type")).toBe("audio/wav");
      await decodeMp3(Buffer.from(await mp3.arrayBuffer()));
    } finally {
      await binary.close();
    }
  });

  it("accepts every gateway model id and the neutral emotion", async () => {
    for (const model of [
      "speech-2.5-hd-preview",
      "speech-2.6-turbo",
      "speech-2.6-hd",
      "speech-2.8-turbo",
      "speech-2.8-hd",
    ]) {
      const res = await tts(
        body({ model: `minimax/${model}`, voice_setting: { voice_id: "Calm_Woman", emotion: "neutral" } }),
      );
      expect(res.status, model).toBe(200);
    }
  });
});

describe("POST /v1/tts errors", () => {
  it("missing or wrong key → 401 in the error shape", async () => {
    for (const key of [null, "wrong"]) {
      const res = await tts(body(), key);
      expect(res.status).toBe(401);
      const json = await res.json();
      expectErrorShape(json, 401);
      expect(json.message).toMatch(/^This request requires a valid API key/);
    }
  });

  it.each([
    [
      "MiniMax model name without prefix",
      { model: "speech-2.6-hd" },
      /model: Invalid enum value\. Expected 'minimax\//,
    ],
    ["a model the gateway lacks", { model: "minimax/speech-02-hd" }, /model/],
    ["empty text", { text: "" }, /text/],
    ["5,001 characters", { text: "a".repeat(5001) }, /text/],
    ["stream: true", { stream: true }, /stream/],
    [
      "calm (MiniMax's name)",
      { voice_setting: { voice_id: "Wise_Woman", emotion: "calm" } },
      /emotion: Invalid enum value.*received 'calm'/,
    ],
    ["whisper", { voice_setting: { voice_id: "Wise_Woman", emotion: "whisper" } }, /emotion/],
    ["vol below 0.01", { voice_setting: { voice_id: "Wise_Woman", vol: 0.001 } }, /vol/],
    ["wav format", { audio_setting: { format: "wav" } }, /format/],
    ["a 65-character voice id", { voice_setting: { voice_id: "x".repeat(65) } }, /voice_id/],
    ["pronunciation_dict without tone", { pronunciation_dict: {} }, /tone/],
  ])("%s → 400 Body validation error", async (_name, over, detail) => {
    const res = await tts(body(over));
    expect(res.status).toBe(400);
    const json = await res.json();
    expectErrorShape(json, 400);
    expect(json.message).toMatch(/^Body validation error: /);
    expect(json.message).toMatch(detail);
  });

  it("an unknown voice passes the gateway schema but fails upstream → 500", async () => {
    const res = await tts(body({ voice_setting: { voice_id: "Not_A_Voice" } }));
    expect(res.status).toBe(500);
    expectErrorShape(await res.json(), 500);
  });

  it("creditsLeft: spends credits, then 403", async () => {
    const poor = await startFakeAimlApi({ creditsLeft: 10 });
    try {
      expect((await postJson(`${poor.url}/v1/tts`, body())).status).toBe(200);
      expect(poor.creditsLeft).toBeLessThanOrEqual(0);
      const res = await postJson(`${poor.url}/v1/tts`, body());
      expect(res.status).toBe(403);
      const json = await res.json();
      expect(json.statusCode).toBe(403);
      expect(json.message).toMatch(/credits/);
    } finally {
      await poor.close();
    }
  });

  it("other paths and methods → 404 JSON", async () => {
    const res = await getJson(`${api.url}/v1/tts`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      statusCode: 404,
      path: "/v1/tts",
      message: "Cannot GET /v1/tts",
    });
    expect((await postJson(`${api.url}/v1/t2a_v2`, body())).status).toBe(404);
  });
});

describe("AI/ML faults", () => {
  it.each([
    [429, "Too Many Requests"],
    [500, "Internal server error"],
    [502, "Bad Gateway"],
    [503, "Service Unavailable"],
    [504, "Generation timeout"],
  ])("http %i → the error shape with %s", async (status, message) => {
    api.inject({ kind: "http", status });
    const res = await tts(body());
    expect(res.status).toBe(status);
    const json = await res.json();
    expectErrorShape(json, status);
    expect(json.message).toBe(message);
    expect((await tts(body())).status).toBe(200);
  });

  it("latency, timeout and truncate", async () => {
    api.inject({ kind: "latency", ms: 200 });
    const started = performance.now();
    await tts(body());
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);

    api.inject({ kind: "timeout" });
    await expect(
      fetch(`${api.url}/v1/tts`, { method: "POST", body: "{}", signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({ name: "TimeoutError" });

    api.inject({ kind: "truncate" });
    const res = await tts(body());
    expect(res.status).toBe(200);
    expect(await bodyError(res)).toBeDefined();
  });

  it("faults can target the audio download route", async () => {
    const json = await (await tts(body())).json();
    api.inject({ kind: "http", status: 503, route: "/moose/" });
    expect((await fetch(json.audio.url)).status).toBe(503);
    expect((await fetch(json.audio.url)).status).toBe(200);
  });
});
