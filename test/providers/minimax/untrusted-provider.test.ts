import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { zipSync } from "fflate";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import type { LookupAll } from "../../../src/providers/http/safe-download.ts";
import { MiniMaxClient, type MiniMaxClientOptions } from "../../../src/providers/minimax/client.ts";
import { ArchiveRejectedError } from "../../../src/providers/minimax/result-archive.ts";
import {
  DeadlineExceededError,
  describeTtsError,
  ProviderBusyError,
  RetryableError,
  TtsError,
  UntrustedDownloadError,
  UpstreamError,
} from "../../../src/speech/errors.ts";
import type { SpeechRequest, SpeechSettings, StreamSummary } from "../../../src/speech/types.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../../fakes/minimax/server.ts";

/**
 * MiniMax treated as untrusted: where its download links may lead, what its "audio" may be, how much
 * it may send, and how long a call may take. Real HTTP on loopback against the fake.
 */

const KEY = "test-key";
const SETTINGS: SpeechSettings = { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" };
const REQ: SpeechRequest = { ...SETTINGS, text: "The quick brown fox jumps over the lazy dog." };
const LONG_TEXT = "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen.";

const HTML = Buffer.from("<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>\n");
const JSON_BODY = Buffer.from('{"error":"not audio","base_resp":{"status_code":0}}');
const ZIP = Buffer.from(zipSync({ "a.txt": Buffer.from("hello") }));

let mm: FakeMiniMax;
let internal: { server: Server; port: number; connections: number; requests: number };
const clients: MiniMaxClient[] = [];
const warnings: Record<string, unknown>[] = [];

function client(over: Partial<MiniMaxClientOptions> = {}): MiniMaxClient {
  const c = new MiniMaxClient({
    apiKey: KEY,
    baseUrl: mm.url,
    retry: { retries: 2, baseMs: 5, maxMs: 20 },
    limiters: {
      synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
    },
    logger: { debug: () => {}, warn: (obj) => warnings.push(obj as Record<string, unknown>) },
    ...over,
  });
  clients.push(c);
  return c;
}

const loopbackOk = { downloads: { allowLoopback: true } } as const;

function fakeDns(table: Record<string, string[]>): LookupAll {
  return (hostname, _opts, cb) => {
    const answers = table[hostname];
    if (!answers) {
      cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" }), []);
      return;
    }
    cb(
      null,
      answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );
  };
}

const apiCalls = (path: string) => mm.requests.filter((r) => r.path === path);
const downloads = () => mm.requests.filter((r) => r.path.startsWith("/oss/"));

async function caught(promise: Promise<unknown>): Promise<TtsError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TtsError);
  return err as TtsError;
}

async function drain(gen: AsyncGenerator<Buffer, StreamSummary, void>): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return chunks;
    chunks.push(next.value);
  }
}

async function finishedTask(c: MiniMaxClient): Promise<string> {
  const created = await c.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
  for (;;) {
    const state = await c.queryAsyncTask(created.taskId);
    if (state.status === "success") return state.fileId!;
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  mm = await startFakeMiniMax({ apiKey: KEY, rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 40 });
  const server = createServer((_req, res) => {
    internal.requests++;
    res.end("internal secrets");
  });
  internal = { server, port: 0, connections: 0, requests: 0 };
  server.on("connection", () => {
    internal.connections++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  internal.port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await mm.close();
  internal.server.closeAllConnections();
  await new Promise<void>((r) => internal.server.close(() => r()));
});
beforeEach(() => {
  mm.reset();
  internal.connections = 0;
  internal.requests = 0;
  warnings.length = 0;
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe("download links", () => {
  it("refuses the fake's own loopback URL without the allowance (no request is made)", async () => {
    const err = await caught(client().synthesize(REQ, { outputFormat: "url" }));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect(err.kind).toBe("upstream");
    expect(err.retryable).toBe(false);
    expect(describeTtsError(err)).toBe("The speech service returned a download link the bot does not trust.");
    expect(downloads()).toHaveLength(0);
    // Refused once: not retried.
    expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    expect(warnings).toContainEqual({ host: "127.0.0.1", reason: "scheme http: not allowed" });
  });

  it("accepts it with the allowance", async () => {
    const out = await client(loopbackOk).synthesize(REQ, { outputFormat: "url" });
    expect(out.audio.length).toBeGreaterThan(0);
    expect(downloads()).toHaveLength(1);
  });

  it("fetches an async result through retrieve_content when its download link is refused", async () => {
    const c = client();
    const fileId = await finishedTask(c);
    const { parts } = await c.fetchAsyncResult(fileId);
    expect(parts[0]!.audio.length).toBeGreaterThan(0);
    expect(downloads()).toHaveLength(0);
    expect(apiCalls("/v1/files/retrieve_content")).toHaveLength(1);
    // The log names the host; never the signed query.
    expect(warnings.some((w) => w.host === "127.0.0.1")).toBe(true);
    expect(JSON.stringify(warnings)).not.toContain("Signature");
  });

  it("refuses a download link on a host outside the allowlist", async () => {
    mm.inject({ kind: "downloadUrl", base: `http://internal.corp:${internal.port}`, route: "/v1/t2a_v2" });
    const c = client({
      downloads: { allowLoopback: true, lookup: fakeDns({ "internal.corp": ["127.0.0.1"] }) },
    });
    const err = await caught(c.synthesize(REQ, { outputFormat: "url" }));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect((err as UntrustedDownloadError).host).toBe("internal.corp");
    expect(internal.connections).toBe(0);
  });

  it("refuses an allowlisted name whose DNS answer is a private address", async () => {
    mm.inject({ kind: "downloadUrl", base: `http://files.minimax.io:${mm.port}`, route: "/v1/t2a_v2" });
    const c = client({
      downloads: { allowLoopback: true, lookup: fakeDns({ "files.minimax.io": ["10.0.0.5"] }) },
    });
    const err = await caught(c.synthesize(REQ, { outputFormat: "url" }));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect((err as UntrustedDownloadError).reason).toMatch(/private address/);
    expect(downloads()).toHaveLength(0);
  });

  it("follows an allowlisted name whose (simulated) answer is allowed", async () => {
    mm.inject({ kind: "downloadUrl", base: `http://files.minimax.io:${mm.port}`, route: "/v1/t2a_v2" });
    const c = client({
      downloads: { allowLoopback: true, lookup: fakeDns({ "files.minimax.io": ["127.0.0.1"] }) },
    });
    const out = await c.synthesize(REQ, { outputFormat: "url" });
    expect(out.audioUrl).toMatch(/^http:\/\/files\.minimax\.io:/);
    expect(downloads()[0]!.headers.host).toBe(`files.minimax.io:${mm.port}`);
  });

  it.each([
    ["a private literal", () => `http://10.0.0.5:${internal.port}/`],
    ["the metadata address", () => "http://169.254.169.254/latest/meta-data/"],
    ["an allowlisted name resolving inside", () => `http://cdn.minimax.io:${internal.port}/x`],
    ["a host outside the allowlist", () => `http://internal.corp:${internal.port}/x`],
  ])(
    "refuses a redirect from the storage host to %s; the internal server gets no request",
    async (_l, target) => {
      const c = client({
        downloads: {
          allowLoopback: true,
          lookup: fakeDns({ "cdn.minimax.io": ["10.9.8.7", "127.0.0.1"], "internal.corp": ["127.0.0.1"] }),
        },
      });
      mm.inject({ kind: "redirect", location: target(), route: "/oss/" });
      const err = await caught(c.synthesize(REQ, { outputFormat: "url" }));
      expect(err).toBeInstanceOf(UntrustedDownloadError);
      expect(downloads()).toHaveLength(1);
      expect(internal.connections).toBe(0);
      expect(internal.requests).toBe(0);
    },
  );

  it("falls back to retrieve_content when a result link redirects somewhere refused", async () => {
    const c = client(loopbackOk);
    const fileId = await finishedTask(c);
    mm.inject({ kind: "redirect", location: `http://192.168.0.10:${internal.port}/`, route: "/oss/" });
    const { parts } = await c.fetchAsyncResult(fileId);
    expect(parts).toHaveLength(1);
    expect(apiCalls("/v1/files/retrieve_content")).toHaveLength(1);
    expect(internal.connections).toBe(0);
  });
});

describe("audio checked by its magic bytes", () => {
  it.each([
    ["mp3", "HTML", HTML, /html where mp3/],
    ["mp3", "JSON", JSON_BODY, /json where mp3/],
    ["mp3", "a zip", ZIP, /zip where mp3/],
    ["wav", "HTML", HTML, /html where wav/],
    ["wav", "a zip", ZIP, /zip where wav/],
    ["pcm", "JSON", JSON_BODY, /json where pcm/],
    ["pcm", "HTML", HTML, /html where pcm/],
    ["pcm", "a zip", ZIP, /zip where pcm/],
    ["flac", "HTML", HTML, /html where flac/],
  ] as const)("refuses %s that is %s (hex)", async (format, _what, body, message) => {
    mm.inject({ kind: "audioBody", body, route: "/v1/t2a_v2" });
    const err = await caught(client().synthesize({ ...REQ, format }));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(message);
  });

  it("refuses url-output audio that is HTML", async () => {
    mm.inject({ kind: "audioBody", body: HTML, route: "/v1/t2a_v2" });
    const err = await caught(client(loopbackOk).synthesize(REQ, { outputFormat: "url" }));
    expect(err.message).toMatch(/html where mp3/);
  });

  it("refuses a stream whose audio is not audio, before yielding anything", async () => {
    mm.inject({ kind: "audioBody", body: Buffer.concat([HTML, HTML, HTML]), route: "/v1/t2a_v2" });
    const gen = client().stream(REQ);
    const err = await caught(gen.next());
    expect(err.message).toMatch(/html where mp3/);
  });

  it("passes real audio of every format", async () => {
    const c = client();
    for (const format of ["mp3", "wav", "flac", "pcm"] as const) {
      expect((await c.synthesize({ ...REQ, format })).audio.length).toBeGreaterThan(0);
    }
    expect((await drain(c.stream({ ...REQ, format: "pcm" }))).length).toBeGreaterThan(0);
  });
});

describe("body caps per route", () => {
  it("sync JSON", async () => {
    const err = await caught(client({ bodyLimits: { syncJson: 1000 } }).synthesize(REQ));
    expect(err.message).toMatch(/larger than the 1000-byte limit/);
    expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
  });

  it("streaming audio, counted over the whole stream", async () => {
    const gen = client({ bodyLimits: { streamAudio: 4000 } }).stream(REQ);
    const err = await caught(drain(gen));
    expect(err.message).toMatch(/stream audio is larger than the 4000-byte limit/);
  });

  it("the voice list", async () => {
    const err = await caught(client({ bodyLimits: { voices: 500 } }).getVoices());
    expect(err.message).toMatch(/larger than the 500-byte limit/);
  });

  it("metadata: task creation, queries, file lookups, uploads", async () => {
    const roomy = client();
    const fileId = await finishedTask(roomy);
    const tight = client({ bodyLimits: { metadata: 40 } });
    const { taskId } = await roomy.createAsyncTask({ text: LONG_TEXT }, SETTINGS);
    const calls = [
      () => tight.createAsyncTask({ text: LONG_TEXT }, SETTINGS),
      () => tight.queryAsyncTask(taskId),
      () => tight.retrieveFile(fileId),
      () => tight.uploadFile(Buffer.from("hello"), "a.txt"),
    ];
    for (const call of calls) {
      expect((await caught(call())).message).toMatch(/larger than the 40-byte limit/);
    }
  });

  it("url-output audio", async () => {
    const err = await caught(
      client({ ...loopbackOk, bodyLimits: { audioDownload: 2000 } }).synthesize(REQ, { outputFormat: "url" }),
    );
    expect(err.message).toMatch(/larger than the 2000-byte limit/);
  });

  it.each([
    ["the download link", true],
    ["retrieve_content", false],
  ])("a result archive over bodyLimits.result, through %s", async (_route, allowLoopback) => {
    const roomy = client(loopbackOk);
    const fileId = await finishedTask(roomy);
    const c = client({
      downloads: { allowLoopback },
      bodyLimits: { result: 3000 },
      // Entry limits out of the way: the byte cap on the transfer itself is under test.
      archiveLimits: { maxEntryBytes: 1e9, maxTotalBytes: 1e9 },
    });
    const err = await caught(c.fetchAsyncResult(fileId));
    expect(err).toBeInstanceOf(ArchiveRejectedError);
    expect(err.message).toMatch(/larger than the 3000-byte limit/);
    // An archive refused for its size is not fetched again another way.
    expect(apiCalls("/v1/files/retrieve_content")).toHaveLength(allowLoopback ? 0 : 1);
  });

  it("streams a huge archive into the reader and stops at the cap", async () => {
    const roomy = client(loopbackOk);
    const fileId = await finishedTask(roomy);
    // 256 entries of 1 MiB: the fake generates them lazily as they are read.
    mm.inject({ kind: "tar", variant: "hugeTotal", hugeEntries: 256, hugeEntryBytes: 1024 * 1024 });
    const c = client({
      ...loopbackOk,
      bodyLimits: { result: 2 * 1024 * 1024 },
      archiveLimits: { maxEntryBytes: 1e9, maxTotalBytes: 1e9 },
    });
    const started = performance.now();
    const err = await caught(c.fetchAsyncResult(fileId));
    expect(err.message).toMatch(/larger than the 2097152-byte limit/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("overall deadlines", () => {
  it("a hung sync call fails with a retryable timeout at its deadline", async () => {
    mm.inject({ kind: "timeout", route: "/v1/t2a_v2" });
    const c = client({ deadlines: { synthesizeMs: 300 }, timeouts: { headersMs: 60_000 } });
    const started = performance.now();
    const err = await caught(c.synthesize(REQ));
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.kind).toBe("retryable");
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1500);
  });

  it("the caller's deadline applies when it is earlier", async () => {
    mm.inject({ kind: "timeout", route: "/v1/get_voice" });
    const c = client({ timeouts: { headersMs: 60_000 } });
    const started = performance.now();
    const err = await caught(c.getVoices("all", { deadline: performance.now() + 200 }));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("covers retries and backoff: no backoff is waited past the deadline", async () => {
    mm.inject({ kind: "http", status: 503, route: "/v1/t2a_v2", times: 50 });
    const c = client({
      deadlines: { synthesizeMs: 400 },
      retry: { retries: 20, baseMs: 150, maxMs: 150, random: () => 0.99 },
    });
    const started = performance.now();
    const err = await caught(c.synthesize(REQ));
    expect(err).toBeInstanceOf(RetryableError);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(apiCalls("/v1/t2a_v2").length).toBeLessThan(5);
  });

  it("a stream that stalls fails at its deadline", async () => {
    const slow = await startFakeMiniMax({ apiKey: KEY, sseChunkDelayMs: 400, sseChunkCount: 8 });
    try {
      const c = new MiniMaxClient({ apiKey: KEY, baseUrl: slow.url, deadlines: { streamMs: 500 } });
      clients.push(c);
      const started = performance.now();
      const err = await caught(drain(c.stream(REQ)));
      expect(err).toBeInstanceOf(DeadlineExceededError);
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      await slow.close();
    }
  });

  it("a hung query and a hung result download fail at theirs", async () => {
    const c = client({
      ...loopbackOk,
      deadlines: { queryMs: 200, resultMs: 400 },
      timeouts: { headersMs: 60_000 },
    });
    const fileId = await finishedTask(client(loopbackOk));
    mm.inject({ kind: "timeout", route: "/v1/query/t2a_async_query_v2" });
    expect(await caught(c.queryAsyncTask("123"))).toBeInstanceOf(DeadlineExceededError);
    mm.inject({ kind: "timeout", route: "/oss/" });
    const started = performance.now();
    expect(await caught(c.fetchAsyncResult(fileId))).toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("the caller's abort still wins, with its own reason", async () => {
    mm.inject({ kind: "timeout", route: "/v1/t2a_v2" });
    const controller = new AbortController();
    const reason = new Error("left the channel");
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      client({ deadlines: { synthesizeMs: 5000 } }).synthesize(REQ, { signal: controller.signal }),
    ).rejects.toBe(reason);
  });
});

describe("the synthesis limiter and the deadline", () => {
  it("refuses at once what could not start before the deadline; nothing is sent", async () => {
    const synthesis = new RateLimiter({ limit: 1, intervalMs: 60_000 });
    const c = client({
      limiters: { synthesis },
      deadlines: { synthesizeMs: 5000, streamMs: 5000, createMs: 5000 },
    });
    await c.synthesize(REQ);
    const started = performance.now();
    const err = await caught(c.synthesize(REQ));
    expect(performance.now() - started).toBeLessThan(100);
    expect(err).toBeInstanceOf(ProviderBusyError);
    expect(err.kind).toBe("retryable");
    expect((err as ProviderBusyError).retryAfterMs).toBeGreaterThan(55_000);
    expect(describeTtsError(err)).toMatch(/^The speech service is busy; try again in about (59|60) s\./);
    expect(apiCalls("/v1/t2a_v2")).toHaveLength(1);
    // Streams and async creation share the budget and the refusal.
    expect(await caught(c.stream(REQ).next())).toBeInstanceOf(ProviderBusyError);
    expect(await caught(c.createAsyncTask({ text: LONG_TEXT }, SETTINGS))).toBeInstanceOf(ProviderBusyError);
    expect(mm.requests).toHaveLength(1);
  });

  it("takes the caller's deadline too", async () => {
    const synthesis = new RateLimiter({ limit: 1, intervalMs: 1000 });
    const c = client({ limiters: { synthesis } });
    await c.synthesize(REQ);
    const err = await caught(c.synthesize(REQ, { deadline: performance.now() + 300 }));
    expect(err).toBeInstanceOf(ProviderBusyError);
    // With room for it, the same call waits for its slot.
    const out = await c.synthesize(REQ, { deadline: performance.now() + 5000 });
    expect(out.audio.length).toBeGreaterThan(0);
  });
});
