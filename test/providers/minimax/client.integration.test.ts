import { zipSync } from "fflate";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import { MiniMaxClient, type MiniMaxClientOptions } from "../../../src/providers/minimax/client.ts";
import { toSyncBody } from "../../../src/providers/minimax/request-body.ts";
import { readAudioStream } from "../../../src/providers/minimax/sse.ts";
import {
  AuthError,
  ContentRefusedError,
  ExpiredError,
  InvalidInputError,
  RetryableError,
  TtsError,
  UpstreamError,
} from "../../../src/speech/errors.ts";
import type { SpeechRequest, SpeechSettings, StreamSummary } from "../../../src/speech/types.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../../fakes/minimax/server.ts";
import { decodeMp3 } from "../../fakes/test-helpers.ts";

/** Real HTTP on loopback against the fake MiniMax (test/fakes/minimax), with the real client. */

const KEY = "test-key";
const SETTINGS: SpeechSettings = { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" };
const REQ: SpeechRequest = { ...SETTINGS, text: "The quick brown fox jumps over the lazy dog." };
const LONG_TEXT = "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen.";

let mm: FakeMiniMax;
const clients: MiniMaxClient[] = [];

/** Fast retries, and limiters wide enough that only the limiter tests ever wait. */
function client(over: Partial<MiniMaxClientOptions> = {}): MiniMaxClient {
  const c = new MiniMaxClient({
    apiKey: KEY,
    baseUrl: mm.url,
    // The fake's signed URLs are http://127.0.0.1: allowed for tests only.
    downloads: { allowLoopback: true },
    retry: { retries: 3, baseMs: 5, maxMs: 40 },
    limiters: {
      synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
    },
    ...over,
  });
  clients.push(c);
  return c;
}

const apiCalls = (path: string) => mm.requests.filter((r) => r.path === path);

async function drain(
  gen: AsyncGenerator<Buffer, StreamSummary, void>,
): Promise<{ chunks: Buffer[]; summary: StreamSummary }> {
  const chunks: Buffer[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return { chunks, summary: next.value };
    chunks.push(next.value);
  }
}

async function caught(promise: Promise<unknown>): Promise<TtsError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(TtsError);
    return err as TtsError;
  }
  throw new Error("expected a TtsError");
}

async function untilDone(c: MiniMaxClient, taskId: string) {
  for (;;) {
    const state = await c.queryAsyncTask(taskId);
    if (state.status !== "processing") return state;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  mm = await startFakeMiniMax({ apiKey: KEY, rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 60 });
});
afterAll(() => mm.close());
beforeEach(() => mm.reset());
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe("MiniMaxClient against the fake MiniMax", () => {
  describe("sync t2a_v2", () => {
    it("synthesizes hex audio that decodes, with bearer auth and the expected body", async () => {
      const out = await client().synthesize(REQ);
      const decoded = await decodeMp3(out.audio);
      expect(out.extraInfo?.audio_length).toBeGreaterThan(0);
      expect(Math.abs(decoded.durationMs - out.extraInfo!.audio_length!)).toBeLessThan(100);
      expect(out.traceId).toMatch(/^[0-9a-f]{32}$/);

      const [call] = apiCalls("/v1/t2a_v2");
      expect(call!.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(call!.headers["content-type"]).toBe("application/json");
      expect(call!.query).toEqual({});
      expect(call!.json).toEqual(toSyncBody(REQ, { stream: false, outputFormat: "hex" }));
    });

    it("downloads url output without sending the key, giving the same bytes as hex", async () => {
      const c = client();
      const hex = await c.synthesize(REQ);
      const url = await c.synthesize(REQ, { outputFormat: "url" });
      expect(url.audio).toEqual(hex.audio);
      expect(url.audioUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/oss\//);
      const download = mm.requests.find((r) => r.path.startsWith("/oss/"))!;
      expect(download.headers.authorization).toBeUndefined();
    });

    it("bounds url-output downloads by bodyLimits.audioDownload", async () => {
      const err = await caught(
        client({ bodyLimits: { audioDownload: 4000 } }).synthesize(REQ, { outputFormat: "url" }),
      );
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.message).toMatch(/larger than the 4000-byte limit/);
      expect(mm.requests.filter((r) => r.path.startsWith("/oss/"))).toHaveLength(1);
    });

    it("refuses an unsupported option before any request", async () => {
      const err = await caught(client().synthesize({ ...REQ, model: "speech-2.8-hd", emotion: "whisper" }));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(mm.requests).toHaveLength(0);
    });
  });

  describe("streaming t2a_v2", () => {
    it("yields exactly the audio bytes, incrementally, with no aggregated repeat", async () => {
      const c = client();
      const sync = await c.synthesize(REQ);
      const { chunks, summary } = await drain(c.stream(REQ));
      expect(chunks.length).toBeGreaterThan(1);
      expect(Buffer.concat(chunks)).toEqual(sync.audio);
      expect(summary).toMatchObject({ bytes: sync.audio.length, durationMs: sync.extraInfo?.audio_length });
      expect(summary.traceId).toMatch(/^[0-9a-f]{32}$/);
      const body = apiCalls("/v1/t2a_v2")[1]!.json as Record<string, unknown>;
      expect(body).toMatchObject({ stream: true, stream_options: { exclude_aggregated_audio: true } });
      expect(body).not.toHaveProperty("output_format");
    });

    it("carries a pronunciation dictionary in the streaming body, as in sync and async", async () => {
      const c = client();
      const tone = ["omg/oh my god", "处理/(chu3)(li3)"];
      await drain(c.stream({ ...REQ, pronunciation: tone }));
      await c.synthesize({ ...REQ, pronunciation: tone });
      await c.createAsyncTask({ text: REQ.text }, { ...SETTINGS, pronunciation: tone });
      const bodies = [...apiCalls("/v1/t2a_v2"), ...apiCalls("/v1/t2a_async_v2")].map(
        (r) => r.json as { stream?: boolean; pronunciation_dict?: unknown },
      );
      expect(bodies.map((b) => b.stream ?? false)).toEqual([true, false, false]);
      for (const b of bodies) expect(b.pronunciation_dict).toEqual({ tone });
    });

    it("never doubles audio when the server repeats the whole clip in its final event", async () => {
      const sync = await client().synthesize(REQ);
      // Raw request with the default stream_options, so the final event carries the aggregate.
      const res = await request(`${mm.url}/v1/t2a_v2`, {
        method: "POST",
        headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        body: JSON.stringify(toSyncBody(REQ, { stream: true, excludeAggregated: false })),
      });
      const { chunks, summary } = await drain(readAudioStream(res.body));
      expect(Buffer.concat(chunks)).toEqual(sync.audio);
      expect(summary.bytes).toBe(sync.audio.length);
    });

    it.each(["crlf", "streamDone"] as const)("reads a stream with the %s quirk", async (kind) => {
      const c = client();
      const sync = await c.synthesize(REQ);
      mm.inject({ kind, route: "/v1/t2a_v2" });
      expect(Buffer.concat((await drain(c.stream(REQ))).chunks)).toEqual(sync.audio);
    });

    it("retries an error that arrives before any audio", async () => {
      const c = client();
      mm.inject({ kind: "streamError", code: 1002, afterChunks: 0 });
      const { chunks } = await drain(c.stream(REQ));
      expect(chunks.length).toBeGreaterThan(0);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(2);
    });

    it("throws a mid-stream error after the audio it already gave, without retrying", async () => {
      mm.inject({ kind: "streamError", code: 1026, afterChunks: 1 });
      const gen = client().stream(REQ);
      const first = await gen.next();
      expect(first.done).toBe(false);
      const err = await caught(gen.next());
      expect(err).toBeInstanceOf(ContentRefusedError);
      expect(err.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    });

    it("reports a stream without its final event as truncated (retryable)", async () => {
      mm.inject({ kind: "streamNoFinal" });
      const err = await caught(drain(client().stream(REQ)));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toMatch(/truncated/);
    });

    it("parses a plain JSON error on the stream route", async () => {
      mm.inject({ kind: "baseResp", code: 2013, msg: "invalid params, voice_setting" });
      const err = await caught(drain(client().stream(REQ)));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.statusMsg).toBe("invalid params, voice_setting");
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    });

    it("closes the connection when the consumer stops early", async () => {
      const c = client();
      for await (const _chunk of c.stream(REQ)) break;
      // The pool is still usable afterwards.
      expect((await c.synthesize(REQ)).audio.length).toBeGreaterThan(0);
    });
  });

  describe("async t2a", () => {
    it("creates, polls, retrieves, downloads and unpacks a result", async () => {
      const c = client();
      const created = await c.createAsyncTask({ text: LONG_TEXT }, { ...SETTINGS, sampleRate: 24000 });
      expect(created.taskId).toMatch(/^\d+$/);
      expect(created.usageCharacters).toBe(LONG_TEXT.length);
      const body = apiCalls("/v1/t2a_async_v2")[0]!.json as { audio_setting: Record<string, unknown> };
      expect(body.audio_setting).toEqual({ format: "mp3", audio_sample_rate: 24000, channel: 1 });

      const done = await untilDone(c, created.taskId);
      expect(done.status).toBe("success");
      expect(done.fileId).not.toBe(created.fileId);

      const result = await c.fetchAsyncResult(done.fileId!);
      expect(result.parts).toHaveLength(1);
      const [part] = result.parts;
      expect(part!.name).toBe(`content-${created.taskId}.mp3`);
      expect(part!.format).toBe("mp3");
      expect((await decodeMp3(part!.audio)).sampleRate).toBe(24000);
      expect(part!.subtitles!.length).toBeGreaterThan(0);
      expect(part!.extra).toMatchObject({ audio_sample_rate: 24000 });
      expect(apiCalls("/v1/files/retrieve_content")).toHaveLength(0);
    });

    it("uploads a zip (purpose before file) and synthesizes it by text_file_id", async () => {
      const c = client();
      const zip = Buffer.from(
        zipSync({
          "1.json": Buffer.from(JSON.stringify({ title: "Part one", content: "The first part." })),
          "2.json": Buffer.from(JSON.stringify({ content: "The second part." })),
        }),
      );
      const file = await c.uploadFile(zip, "book.zip");
      expect(file).toMatchObject({ filename: "book.zip", purpose: "t2a_async_input" });

      const upload = apiCalls("/v1/files/upload")[0]!;
      expect(upload.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
      const raw = upload.body.toString("latin1");
      expect(raw.indexOf('name="purpose"')).toBeLessThan(raw.indexOf('name="file"'));
      expect(upload.multipart?.files[0]?.content).toEqual(zip);

      const created = await c.createAsyncTask({ fileId: file.fileId }, SETTINGS);
      expect((apiCalls("/v1/t2a_async_v2")[0]!.json as Record<string, unknown>).text_file_id).toBe(
        Number(file.fileId),
      );
      const done = await untilDone(c, created.taskId);
      const { parts } = await c.fetchAsyncResult(done.fileId!);
      expect(parts.map((p) => p.name.replace(/-\d+-/, "-<id>-"))).toEqual([
        "title-<id>-1.mp3",
        "content-<id>-1.mp3",
        "content-<id>-2.mp3",
      ]);
    });

    it.each([
      ["taskFailed", "failed"],
      ["taskExpired", "expired"],
    ] as const)("reports a %s task as %s", async (kind, status) => {
      const c = client();
      mm.inject({ kind });
      const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
      expect((await untilDone(c, created.taskId)).status).toBe(status);
    });

    it("maps an expired download URL to ExpiredError, and falls back to retrieve_content", async () => {
      const c = client();
      const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
      const done = await untilDone(c, created.taskId);
      const file = await c.retrieveFile(done.fileId!);
      mm.inject({ kind: "expireDownloads" });
      expect(await caught(c.downloadFile(file.downloadUrl!))).toBeInstanceOf(ExpiredError);

      const fresh = await c.fetchAsyncResult(done.fileId!);
      expect(fresh.parts).toHaveLength(1);
    });

    it("falls back to retrieve_content when the signed URL has expired", async () => {
      const c = client();
      const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
      const done = await untilDone(c, created.taskId);
      mm.inject({ kind: "http", status: 403, route: "/oss/", times: 10 });
      const { parts } = await c.fetchAsyncResult(done.fileId!);
      expect(parts[0]!.audio.length).toBeGreaterThan(0);
      expect(apiCalls("/v1/files/retrieve_content")).toHaveLength(1);
      expect(apiCalls("/v1/files/retrieve_content")[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    });

    it("gives ExpiredError when the fallback fails too", async () => {
      const c = client();
      const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
      const done = await untilDone(c, created.taskId);
      mm.inject({ kind: "http", status: 403, route: "/oss/", times: 10 });
      mm.inject({ kind: "baseResp", code: 1013, route: "/v1/files/retrieve_content" });
      expect(await caught(c.fetchAsyncResult(done.fileId!))).toBeInstanceOf(ExpiredError);
    });

    it.each(["traversal", "symlink", "truncated", "garbage"] as const)(
      "rejects a hostile result archive (%s)",
      async (variant) => {
        const c = client();
        const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
        const done = await untilDone(c, created.taskId);
        mm.inject({ kind: "tar", variant });
        expect(await caught(c.fetchAsyncResult(done.fileId!))).toBeInstanceOf(UpstreamError);
      },
    );

    it("does not repeat a create that may have reached the server", async () => {
      const c = client({ timeouts: { headersMs: 300 } });
      mm.inject({ kind: "timeout", route: "/v1/t2a_async_v2" });
      expect(await caught(c.createAsyncTask({ text: LONG_TEXT }, SETTINGS))).toBeInstanceOf(RetryableError);
      expect(apiCalls("/v1/t2a_async_v2")).toHaveLength(1);
    });

    it("repeats a create the server refused", async () => {
      mm.inject({ kind: "baseResp", code: 1002, route: "/v1/t2a_async_v2" });
      const created = await client().createAsyncTask({ text: LONG_TEXT }, SETTINGS);
      expect(created.taskId).toMatch(/^\d+$/);
      expect(apiCalls("/v1/t2a_async_v2")).toHaveLength(2);
    });
  });

  describe("voices", () => {
    it("lists voices with a POST of voice_type", async () => {
      const voices = await client().getVoices();
      expect(voices).toContainEqual(expect.objectContaining({ voiceId: "Wise_Woman", category: "system" }));
      const call = apiCalls("/v1/get_voice")[0]!;
      expect(call.method).toBe("POST");
      expect(call.json).toEqual({ voice_type: "all" });
    });
  });

  describe("retries", () => {
    it.each([
      ["HTTP 503", { kind: "http", status: 503, times: 2 }, 3],
      ["HTTP 502", { kind: "http", status: 502, times: 1 }, 2],
      ["1002 rate limit", { kind: "baseResp", code: 1002, times: 1 }, 2],
      ["1001 timeout", { kind: "baseResp", code: 1001, times: 2 }, 3],
      ["a truncated body", { kind: "truncate", times: 1 }, 2],
      ["a hung request", { kind: "timeout", times: 1 }, 2],
    ] as const)("retries %s and then succeeds", async (_label, fault, calls) => {
      mm.inject({ ...fault, route: "/v1/t2a_v2" });
      const out = await client({ timeouts: { headersMs: 300 } }).synthesize(REQ);
      expect(out.audio.length).toBeGreaterThan(0);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(calls);
    });

    it.each([
      [2013, InvalidInputError],
      [1004, AuthError],
      [1026, ContentRefusedError],
    ] as const)("does not retry %i", async (code, type) => {
      mm.inject({ kind: "baseResp", code, route: "/v1/t2a_v2" });
      const err = await caught(client().synthesize(REQ));
      expect(err).toBeInstanceOf(type);
      expect(err.code).toBe(code);
      expect(err.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    });

    it("gives up after the configured attempts", async () => {
      mm.inject({ kind: "http", status: 500, route: "/v1/t2a_v2", times: 10 });
      const err = await caught(client({ retry: { retries: 2, baseMs: 1, maxMs: 5 } }).synthesize(REQ));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.httpStatus).toBe(500);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(3);
    });

    it("reports a wrong key as an auth error, once", async () => {
      const err = await caught(client({ apiKey: "wrong" }).synthesize(REQ));
      expect(err).toBeInstanceOf(AuthError);
      expect(err.code).toBe(2049);
      expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    });

    it("reports a wrong base URL (404) as an unknown endpoint, once", async () => {
      const err = await caught(client({ baseUrl: `${mm.url}/wrong` }).synthesize(REQ));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.message).toMatch(/unknown endpoint/);
      expect(mm.requests).toHaveLength(1);
    });

    it("stops at once when aborted", async () => {
      mm.inject({ kind: "latency", ms: 2000, route: "/v1/t2a_v2" });
      const controller = new AbortController();
      const reason = new Error("user left");
      setTimeout(() => controller.abort(reason), 50);
      const started = performance.now();
      await expect(client().synthesize(REQ, { signal: controller.signal })).rejects.toBe(reason);
      expect(performance.now() - started).toBeLessThan(1000);
    });
  });

  describe("GroupId", () => {
    it("is sent on API routes when configured, never on downloads", async () => {
      const c = client({ groupId: "g-123" });
      await c.synthesize(REQ, { outputFormat: "url" });
      await c.getVoices("system");
      const api = mm.requests.filter((r) => r.path.startsWith("/v1/"));
      expect(api.map((r) => r.query.GroupId)).toEqual(["g-123", "g-123"]);
      const download = mm.requests.find((r) => r.path.startsWith("/oss/"))!;
      expect(download.query).not.toHaveProperty("GroupId");
    });

    it.each([undefined, "", "  "])("is left out when it is %j (an empty one earns 1008)", async (groupId) => {
      await client({ groupId }).synthesize(REQ);
      expect(apiCalls("/v1/t2a_v2")[0]!.query).not.toHaveProperty("GroupId");
    });
  });
});

describe("client-side rate limits against the fake's", () => {
  let limited: FakeMiniMax;
  afterEach(() => limited?.close());

  it("the RPM limiter keeps the fake from ever answering 1002", async () => {
    // The fake's minute lasts one real second here; the client limits 5 per 1.1 s.
    limited = await startFakeMiniMax({ apiKey: KEY, rpm: 5, now: () => Date.now() * 60 });
    const make = (synthesis: RateLimiter) =>
      new MiniMaxClient({
        apiKey: KEY,
        baseUrl: limited.url,
        downloads: { allowLoopback: true },
        retry: { retries: 0 },
        limiters: { synthesis },
      });

    const c = make(new RateLimiter({ limit: 5, intervalMs: 1100 }));
    clients.push(c);
    const started = performance.now();
    const results = await Promise.allSettled([...Array(12)].map(() => c.synthesize(REQ)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 1100 - 50);

    // Control: without the limiter the same burst does earn 1002s.
    limited.reset();
    const unlimited = make(new RateLimiter({ limit: 1000, intervalMs: 1000 }));
    clients.push(unlimited);
    const burst = await Promise.allSettled([...Array(8)].map(() => unlimited.synthesize(REQ)));
    const refused = burst.filter((r) => r.status === "rejected").map((r) => r.reason as TtsError);
    expect(refused.length).toBe(3);
    expect(refused.every((e) => e.code === 1002 && e.rateLimited)).toBe(true);
  });

  it("the default query limiter stays under the fake's default 10 QPS", async () => {
    limited = await startFakeMiniMax({ apiKey: KEY, rpm: 1000 });
    const c = new MiniMaxClient({
      apiKey: KEY,
      baseUrl: limited.url,
      downloads: { allowLoopback: true },
      retry: { retries: 0 },
    });
    clients.push(c);
    const { taskId } = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
    const started = performance.now();
    const states = await Promise.all([...Array(25)].map(() => c.queryAsyncTask(taskId)));
    expect(states.every((s) => s.taskId === taskId)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(2 * 1100 - 50);
    const answers = limited.requests.filter((r) => r.path === "/v1/query/t2a_async_query_v2");
    expect(answers).toHaveLength(25);
  });
});
