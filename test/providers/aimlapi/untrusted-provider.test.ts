import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { zipSync } from "fflate";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AimlApiClient, type AimlApiClientOptions } from "../../../src/providers/aimlapi/client.ts";
import { createAimlApiProvider } from "../../../src/providers/aimlapi/provider.ts";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import type { LookupAll } from "../../../src/providers/http/safe-download.ts";
import {
  DeadlineExceededError,
  describeTtsError,
  ProviderBusyError,
  TtsError,
  UntrustedDownloadError,
  UpstreamError,
} from "../../../src/speech/errors.ts";
import type { SpeechRequest } from "../../../src/speech/types.ts";
import { type FakeAimlApi, startFakeAimlApi } from "../../fakes/aimlapi/server.ts";

/** The AI/ML API gateway treated as untrusted, over real HTTP on loopback against the fake. */

const HTML = Buffer.from("<html><head><title>403 Forbidden</title></head><body>nginx</body></html>\n");
const JSON_BODY = Buffer.from('{"message":"Internal server error","statusCode":500}');
const ZIP = Buffer.from(zipSync({ "a.txt": Buffer.from("hello") }));

const req = (patch: Partial<SpeechRequest> = {}): SpeechRequest => ({
  model: "speech-2.6-hd",
  voiceId: "Wise_Woman",
  format: "mp3",
  text: "Hello from the fake gateway.",
  ...patch,
});

let fake: FakeAimlApi;
let binary: FakeAimlApi;
let internal: { server: Server; port: number; connections: number };
const clients: AimlApiClient[] = [];
const warnings: Record<string, unknown>[] = [];

function clientFor(target: FakeAimlApi, patch: Partial<AimlApiClientOptions> = {}): AimlApiClient {
  const client = new AimlApiClient({
    apiKey: "test-key",
    baseUrl: target.url,
    retry: { retries: 2, baseMs: 5, maxMs: 20 },
    logger: { debug: () => {}, warn: (obj) => warnings.push(obj as Record<string, unknown>) },
    ...patch,
  });
  clients.push(client);
  return client;
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

const posts = (f: FakeAimlApi) => f.requests.filter((r) => r.method === "POST");
const downloads = (f: FakeAimlApi) => f.requests.filter((r) => r.method === "GET");

async function caught(p: Promise<unknown>): Promise<TtsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TtsError);
  return err as TtsError;
}

beforeAll(async () => {
  fake = await startFakeAimlApi({ msPerChar: 20 });
  binary = await startFakeAimlApi({ msPerChar: 20, responseMode: "binary" });
  const server = createServer((_req, res) => res.end("internal secrets"));
  internal = { server, port: 0, connections: 0 };
  server.on("connection", () => {
    internal.connections++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  internal.port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await fake.close();
  await binary.close();
  internal.server.closeAllConnections();
  await new Promise<void>((r) => internal.server.close(() => r()));
});
beforeEach(() => {
  fake.reset();
  binary.reset();
  internal.connections = 0;
  warnings.length = 0;
});
afterEach(() => {
  fake.clearFaults();
  binary.clearFaults();
});

describe("audio URLs", () => {
  it("refuses the fake's own loopback URL without the allowance; the clip is not bought twice", async () => {
    const err = await caught(createAimlApiProvider(clientFor(fake)).synthesize(req()));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect(err.retryable).toBe(false);
    expect(describeTtsError(err)).toBe("The speech service returned a download link the bot does not trust.");
    expect(posts(fake)).toHaveLength(1);
    expect(downloads(fake)).toHaveLength(0);
    expect(warnings).toContainEqual({ host: "127.0.0.1", reason: "scheme http: not allowed" });
  });

  it("accepts it with the allowance", async () => {
    const result = await createAimlApiProvider(clientFor(fake, loopbackOk)).synthesize(req());
    expect(result.audio.length).toBeGreaterThan(0);
    expect(downloads(fake)).toHaveLength(1);
  });

  it("refuses a URL on a host outside the allowlist", async () => {
    fake.inject({ kind: "downloadUrl", base: `http://collector.example.net:${internal.port}` });
    const client = clientFor(fake, {
      downloads: { allowLoopback: true, lookup: fakeDns({ "collector.example.net": ["127.0.0.1"] }) },
    });
    const err = await caught(createAimlApiProvider(client).synthesize(req()));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect((err as UntrustedDownloadError).host).toBe("collector.example.net");
    expect(internal.connections).toBe(0);
  });

  it("refuses its CDN name when DNS answers with a private address", async () => {
    fake.inject({ kind: "downloadUrl", base: `http://cdn.aimlapi.com:${fake.port}` });
    const client = clientFor(fake, {
      downloads: { allowLoopback: true, lookup: fakeDns({ "cdn.aimlapi.com": ["192.168.1.20"] }) },
    });
    const err = await caught(createAimlApiProvider(client).synthesize(req()));
    expect((err as UntrustedDownloadError).reason).toMatch(/private address/);
    expect(downloads(fake)).toHaveLength(0);
  });

  it("refuses a redirect from the CDN to an internal address; the internal server gets nothing", async () => {
    fake.inject({
      kind: "redirect",
      location: `http://cdn.aimlapi.com:${internal.port}/x`,
      route: "/moose/",
    });
    const client = clientFor(fake, {
      downloads: {
        allowLoopback: true,
        lookup: fakeDns({ "cdn.aimlapi.com": ["169.254.169.254", "127.0.0.1"] }),
      },
    });
    const err = await caught(createAimlApiProvider(client).synthesize(req()));
    expect(err).toBeInstanceOf(UntrustedDownloadError);
    expect(downloads(fake)).toHaveLength(1);
    expect(internal.connections).toBe(0);
  });

  it("follows a redirect between allowed hosts", async () => {
    // The storage answers with a redirect to its own (signed) object: the second hop is allowed.
    const first = await clientFor(fake, loopbackOk).tts({
      model: "minimax/speech-2.6-hd",
      text: "hi",
      voice_setting: { voice_id: "Wise_Woman" },
      audio_setting: {},
    });
    const [get] = downloads(fake);
    fake.reset();
    const original = `${fake.url}${get!.path}?${new URLSearchParams(get!.query)}`;
    expect(first.audio.length).toBeGreaterThan(0);
    fake.inject({ kind: "redirect", location: original, route: "/moose/" });
    // The old URL is no longer signed after reset, so the redirect target answers 403: followed, then expired.
    const err = await caught(createAimlApiProvider(clientFor(fake, loopbackOk)).synthesize(req()));
    expect(err.kind).toBe("expired");
    expect(downloads(fake)).toHaveLength(2);
  });
});

describe("audio checked before it is wrapped or posted", () => {
  it.each([
    ["mp3", "HTML", HTML, /html where mp3/],
    ["mp3", "a zip", ZIP, /zip where mp3/],
    ["pcm", "JSON", JSON_BODY, /json where pcm/],
    ["pcm", "HTML", HTML, /html where pcm/],
    ["pcm", "a zip", ZIP, /zip where pcm/],
    ["wav", "HTML", HTML, /html where pcm/],
    ["wav", "JSON", JSON_BODY, /json where pcm/],
    ["flac", "HTML", HTML, /html where flac/],
  ] as const)("inline: refuses %s that is %s", async (format, _what, body, message) => {
    binary.inject({ kind: "audioBody", body, route: "/v1/tts" });
    const err = await caught(createAimlApiProvider(clientFor(binary)).synthesize(req({ format })));
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err.message).toMatch(message);
  });

  it.each([
    ["mp3", ZIP, /zip where mp3/],
    ["wav", HTML, /html where pcm/],
  ] as const)("behind a URL: refuses %s that is not audio", async (format, body, message) => {
    fake.inject({ kind: "audioBody", body, route: "/v1/tts" });
    const err = await caught(createAimlApiProvider(clientFor(fake, loopbackOk)).synthesize(req({ format })));
    expect(err.message).toMatch(message);
  });
});

describe("body caps", () => {
  it("the JSON answer", async () => {
    const err = await caught(
      clientFor(fake, { ...loopbackOk, bodyLimits: { syncJson: 20 } }).tts({
        model: "minimax/speech-2.6-hd",
        text: "hi",
        voice_setting: { voice_id: "Wise_Woman" },
        audio_setting: {},
      }),
    );
    expect(err.message).toMatch(/answer is larger than the 20-byte limit/);
  });

  it("inline audio", async () => {
    const err = await caught(
      createAimlApiProvider(clientFor(binary, { bodyLimits: { audioDownload: 1000 } })).synthesize(req()),
    );
    expect(err.message).toMatch(/audio is larger than the 1000-byte limit/);
  });
});

describe("deadline", () => {
  it("a hung request fails at the call's deadline, retryable", async () => {
    fake.inject({ kind: "timeout", route: "/v1/tts" });
    const client = clientFor(fake, {
      ...loopbackOk,
      deadlines: { synthesizeMs: 300 },
      timeouts: { headersMs: 60_000 },
    });
    const started = performance.now();
    const err = await caught(createAimlApiProvider(client).synthesize(req()));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err.kind).toBe("retryable");
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it("a hung download fails at the same deadline, and the caller's earlier one wins", async () => {
    fake.inject({ kind: "timeout", route: "/moose/" });
    const client = clientFor(fake, { ...loopbackOk, timeouts: { headersMs: 60_000 } });
    const started = performance.now();
    const err = await caught(
      createAimlApiProvider(client).synthesize(req(), { deadline: performance.now() + 300 }),
    );
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(posts(fake)).toHaveLength(1);
  });
});

describe("the rate limiter and the deadline", () => {
  it("refuses at once what could not start in time; nothing is sent or billed", async () => {
    const synthesis = new RateLimiter({ limit: 1, intervalMs: 60_000 });
    const provider = createAimlApiProvider(
      clientFor(fake, { ...loopbackOk, limiters: { synthesis }, deadlines: { synthesizeMs: 5000 } }),
    );
    await provider.synthesize(req());
    const started = performance.now();
    const err = await caught(provider.synthesize(req()));
    expect(performance.now() - started).toBeLessThan(100);
    expect(err).toBeInstanceOf(ProviderBusyError);
    expect(describeTtsError(err)).toMatch(/^The speech service is busy; try again in about (59|60) s\./);
    expect(posts(fake)).toHaveLength(1);
  });
});
