import { MPEGDecoder } from "mpg123-decoder";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { flacStreamInfo } from "../../../src/audio/duration.ts";
import { mp3Frames, mp3Info } from "../../../src/audio/mp3.ts";
import { parseWav } from "../../../src/audio/wav.ts";
import { AimlApiClient, type AimlApiClientOptions } from "../../../src/providers/aimlapi/client.ts";
import { createAimlApiProvider } from "../../../src/providers/aimlapi/provider.ts";
import type { AimlTtsBody } from "../../../src/providers/aimlapi/schemas.ts";
import { RateLimiter } from "../../../src/providers/http/rate-limiter.ts";
import {
  AuthError,
  BalanceError,
  InvalidInputError,
  RetryableError,
  TtsError,
  UpstreamError,
} from "../../../src/speech/errors.ts";
import type { SpeechRequest } from "../../../src/speech/types.ts";
import { synthesizeLong } from "../../../src/text/long-text.ts";
import { type AimlResponseMode, type FakeAimlApi, startFakeAimlApi } from "../../fakes/aimlapi/server.ts";

const MS_PER_CHAR = 20;
const RETRIES = 3;

const req = (patch: Partial<SpeechRequest> = {}): SpeechRequest => ({
  model: "speech-2.6-hd",
  voiceId: "Wise_Woman",
  format: "mp3",
  text: "Hello from the fake gateway.",
  ...patch,
});

const clients: AimlApiClient[] = [];
function clientFor(fake: FakeAimlApi, patch: Partial<AimlApiClientOptions> = {}) {
  const client = new AimlApiClient({
    apiKey: "test-key",
    baseUrl: fake.url,
    retry: { retries: RETRIES, baseMs: 5, maxMs: 20 },
    timeouts: { headersMs: 400, bodyMs: 400 },
    // The fake's audio URLs are http://127.0.0.1: allowed for tests only.
    downloads: { allowLoopback: true },
    ...patch,
  });
  clients.push(client);
  return client;
}
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
});

const ttsPosts = (fake: FakeAimlApi) =>
  fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/tts");
const downloads = (fake: FakeAimlApi) => fake.requests.filter((r) => r.method === "GET");

async function rejection(p: Promise<unknown>): Promise<TtsError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TtsError);
  return err as TtsError;
}

describe("response modes", () => {
  const modes: AimlResponseMode[] = ["json-object", "json-string", "binary"];
  const fakes = new Map<AimlResponseMode, FakeAimlApi>();
  beforeAll(async () => {
    for (const mode of modes)
      fakes.set(mode, await startFakeAimlApi({ responseMode: mode, msPerChar: MS_PER_CHAR }));
  });
  afterAll(async () => {
    await Promise.all([...fakes.values()].map((f) => f.close()));
  });

  it.each(["mp3", "flac", "pcm", "wav"] as const)(
    "%s: all three answer shapes give the same audio",
    async (format) => {
      const audios: Buffer[] = [];
      for (const mode of modes) {
        const fake = fakes.get(mode)!;
        fake.reset();
        const client = clientFor(fake);
        const answer = await client.tts({
          model: "minimax/speech-2.6-hd",
          text: "Same words each time.",
          voice_setting: { voice_id: "Wise_Woman" },
          audio_setting: { format: format === "wav" ? "pcm" : format, sample_rate: 24000, channel: 1 },
        });
        audios.push(answer.audio);
        if (mode === "binary") {
          expect(answer.delivery).toBe("inline");
          expect(downloads(fake)).toHaveLength(0);
        } else {
          expect(answer.delivery).toBe("url");
          expect(answer.creditsUsed).toBeGreaterThan(0);
          // The bytes are exactly what the signed URL serves, and the key never went to the CDN.
          const [get] = downloads(fake);
          expect(get!.headers.authorization).toBeUndefined();
          const again = await fetch(`${fake.url}${get!.path}?${new URLSearchParams(get!.query)}`);
          expect(Buffer.from(await again.arrayBuffer()).equals(answer.audio)).toBe(true);
        }
      }
      expect(audios[1]!.equals(audios[0]!)).toBe(true);
      expect(audios[2]!.equals(audios[0]!)).toBe(true);
    },
  );

  it.each(modes)("%s: the provider measures the clip and labels it", async (mode) => {
    const fake = fakes.get(mode)!;
    const provider = createAimlApiProvider(clientFor(fake));
    const text = "Twenty-six letters spoken."; // 24 characters that take time
    const spokenMs = text.replace(/\s/g, "").length * MS_PER_CHAR;

    const mp3 = await provider.synthesize(req({ text, sampleRate: 44100 }));
    expect(mp3).toMatchObject({
      format: "mp3",
      sampleRate: 44100,
      channels: 1,
      usageCharacters: text.length,
    });
    expect(mp3.durationMs).toBe(mp3Info(mp3.audio).durationMs);
    expect(Math.abs(mp3.durationMs! - spokenMs)).toBeLessThan(100);

    const wav = await provider.synthesize(req({ text, format: "wav", sampleRate: 16000, channels: 2 }));
    expect(parseWav(wav.audio)).toMatchObject({ sampleRate: 16000, channels: 2, bitsPerSample: 16 });
    expect(wav).toMatchObject({ format: "wav", sampleRate: 16000, channels: 2, durationMs: spokenMs });

    const pcm = await provider.synthesize(req({ text, format: "pcm", sampleRate: 22050 }));
    expect(pcm.audio.subarray(0, 4).toString("ascii")).not.toBe("RIFF");
    expect(pcm).toMatchObject({ format: "pcm", sampleRate: 22050, channels: 1, durationMs: spokenMs });

    const flac = await provider.synthesize(req({ text, format: "flac", sampleRate: 32000 }));
    expect(flacStreamInfo(flac.audio)).toMatchObject({ sampleRate: 32000, channels: 1 });
    expect(flac.durationMs).toBe(spokenMs);
  });
});

describe("against the fake gateway", () => {
  let fake: FakeAimlApi;
  beforeAll(async () => {
    fake = await startFakeAimlApi({ msPerChar: MS_PER_CHAR });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  it("sends the mapped request with bearer auth", async () => {
    const provider = createAimlApiProvider(clientFor(fake));
    await provider.synthesize(
      req({
        model: "speech-2.8-turbo",
        voiceId: "Calm_Woman",
        speed: 1.25,
        volume: 3,
        pitch: -2,
        emotion: "calm",
        languageBoost: "English",
        soundEffect: "lofi_telephone",
        pronunciation: ["omg/oh my god"],
        format: "mp3",
        sampleRate: 24000,
        bitrate: 64000,
        channels: 2,
      }),
    );
    const [post] = ttsPosts(fake);
    expect(post!.headers.authorization).toBe("Bearer test-key");
    expect(post!.headers["content-type"]).toBe("application/json");
    expect(post!.json).toEqual({
      model: "minimax/speech-2.8-turbo",
      text: "Hello from the fake gateway.",
      voice_setting: { voice_id: "Calm_Woman", speed: 1.25, vol: 3, pitch: -2, emotion: "neutral" },
      audio_setting: { sample_rate: 24000, bitrate: 64000, format: "mp3", channel: 2 },
      language_boost: "English",
      voice_modify: { sound_effects: "lofi_telephone" },
      pronunciation_dict: { tone: ["omg/oh my god"] },
    });
  });

  it("asks for pcm when wav is wanted", async () => {
    await createAimlApiProvider(clientFor(fake)).synthesize(req({ format: "wav" }));
    expect((ttsPosts(fake)[0]!.json as AimlTtsBody).audio_setting.format).toBe("pcm");
  });

  it("accepts a base URL that already ends in /v1", async () => {
    const answer = await clientFor(fake, { baseUrl: `${fake.url}/v1/` }).tts({
      model: "minimax/speech-2.6-hd",
      text: "hi",
      voice_setting: { voice_id: "Wise_Woman" },
      audio_setting: {},
    });
    expect(answer.audio.length).toBeGreaterThan(0);
  });

  it("refuses an unsupported option before any request", async () => {
    const provider = createAimlApiProvider(clientFor(fake));
    await expect(provider.synthesize(req({ emotion: "whisper" }))).rejects.toBeInstanceOf(InvalidInputError);
    expect(fake.requests).toHaveLength(0);
  });

  describe("errors", () => {
    it("a wrong key is an AuthError, not retried", async () => {
      const err = await rejection(
        createAimlApiProvider(clientFor(fake, { apiKey: "nope" })).synthesize(req()),
      );
      expect(err).toBeInstanceOf(AuthError);
      expect(err.httpStatus).toBe(401);
      expect(err.traceId).toMatch(/.+/);
      expect(ttsPosts(fake)).toHaveLength(1);
    });

    it("a body the gateway rejects is an InvalidInputError with its detail, not retried", async () => {
      const bad = {
        model: "minimax/speech-2.6-hd",
        text: "hi",
        voice_setting: { voice_id: "Wise_Woman" },
        audio_setting: { format: "wav" },
      } as unknown as AimlTtsBody;
      const err = await rejection(clientFor(fake).tts(bad));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.httpStatus).toBe(400);
      expect(err.message).toMatch(/Body validation error/);
      expect(err.message).toMatch(/audio_setting\.format/);
      expect(ttsPosts(fake)).toHaveLength(1);
    });

    it("a wrong base URL is an InvalidInputError that says so", async () => {
      const err = await rejection(
        clientFor(fake, { baseUrl: `${fake.url}/api` }).tts({
          model: "minimax/speech-2.6-hd",
          text: "hi",
          voice_setting: { voice_id: "Wise_Woman" },
          audio_setting: {},
        }),
      );
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.httpStatus).toBe(404);
      expect(err.message).toMatch(/base URL/);
    });

    it("no credits is a BalanceError", async () => {
      const broke = await startFakeAimlApi({ creditsLeft: 0 });
      try {
        const err = await rejection(createAimlApiProvider(clientFor(broke)).synthesize(req()));
        expect(err).toBeInstanceOf(BalanceError);
        expect(err.httpStatus).toBe(403);
        expect(ttsPosts(broke)).toHaveLength(1);
      } finally {
        await broke.close();
      }
    });

    it("a persistent 5xx is retried, then reported as retryable", async () => {
      fake.inject({ kind: "http", status: 503, route: "/v1/tts", times: 10 });
      const err = await rejection(createAimlApiProvider(clientFor(fake)).synthesize(req()));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.httpStatus).toBe(503);
      expect(ttsPosts(fake)).toHaveLength(RETRIES + 1);
    });

    it("refuses audio larger than bodyLimits.audioDownload", async () => {
      const err = await rejection(
        createAimlApiProvider(clientFor(fake, { bodyLimits: { audioDownload: 1000 } })).synthesize(
          req({ text: "A sentence long enough to make more than a kilobyte of audio." }),
        ),
      );
      expect(err).toBeInstanceOf(UpstreamError);
      expect(err.message).toMatch(/1000-byte limit/);
    });
  });

  describe("retries", () => {
    it.each([
      ["429 twice", { kind: "http", status: 429, route: "/v1/tts", times: 2 }, 3],
      ["500 once", { kind: "http", status: 500, route: "/v1/tts" }, 2],
      ["504 Generation timeout once", { kind: "http", status: 504, route: "/v1/tts" }, 2],
      ["a hung request (headers timeout)", { kind: "timeout", route: "/v1/tts" }, 2],
      ["a truncated answer", { kind: "truncate", route: "/v1/tts" }, 2],
    ] as const)("%s: retried, then succeeds", async (_name, fault, posts) => {
      fake.inject(fault);
      const retries: unknown[] = [];
      const logger = { debug: () => {}, warn: (obj: object) => retries.push(obj) };
      const result = await createAimlApiProvider(clientFor(fake, { logger })).synthesize(req());
      expect(mp3Info(result.audio).frames).toBeGreaterThan(0);
      expect(ttsPosts(fake)).toHaveLength(posts);
      expect(retries).toHaveLength(posts - 1);
    });

    it.each([
      ["truncated", { kind: "truncate", route: "/moose/", times: 2 }],
      ["answering 502", { kind: "http", status: 502, route: "/moose/", times: 2 }],
    ] as const)("a download %s is retried without paying for the clip again", async (_name, fault) => {
      fake.inject(fault);
      const result = await createAimlApiProvider(clientFor(fake)).synthesize(req());
      expect(mp3Info(result.audio).frames).toBeGreaterThan(0);
      expect(ttsPosts(fake)).toHaveLength(1);
      expect(downloads(fake)).toHaveLength(3);
    });

    it("an expired audio URL is not retried", async () => {
      fake.inject({ kind: "http", status: 403, route: "/moose/" });
      const err = await rejection(createAimlApiProvider(clientFor(fake)).synthesize(req()));
      expect(err.kind).toBe("expired");
      expect(downloads(fake)).toHaveLength(1);
    });

    it("an abort stops at once, with the caller's reason, and is not retried", async () => {
      fake.inject({ kind: "latency", ms: 300, route: "/v1/tts" });
      const reason = new Error("stop");
      const controller = new AbortController();
      setTimeout(() => controller.abort(reason), 30);
      const started = performance.now();
      await expect(
        createAimlApiProvider(clientFor(fake, { timeouts: { headersMs: 2000 } })).synthesize(req(), {
          signal: controller.signal,
        }),
      ).rejects.toBe(reason);
      expect(performance.now() - started).toBeLessThan(250);
      expect(ttsPosts(fake)).toHaveLength(1);
    });
  });

  it("starts requests through the rate limiter", async () => {
    const synthesis = new RateLimiter({ limit: 2, intervalMs: 300 });
    const provider = createAimlApiProvider(clientFor(fake, { limiters: { synthesis } }));
    const started = performance.now();
    for (let i = 0; i < 3; i++) await provider.synthesize(req({ text: `Request ${i}.` }));
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const posts = ttsPosts(fake);
    expect(posts[2]!.at - posts[0]!.at).toBeGreaterThanOrEqual(290);
  });

  it("a long text through synthesizeLong becomes one decodable mp3 as long as its chunks", async () => {
    // A fake of its own that speaks fast, so three 5000-character clips encode quickly.
    const msPerChar = 4;
    const fast = await startFakeAimlApi({ msPerChar });
    try {
      const sentence = "This is one sentence of a rather long story that goes on. ";
      const text = sentence.repeat(200).trim(); // about 11,800 characters → 3 requests
      const provider = createAimlApiProvider(clientFor(fast, { timeouts: { headersMs: 30_000 } }));
      const progress: number[] = [];
      const { result, subtitles, chunks } = await synthesizeLong(provider, req({ text, sampleRate: 24000 }), {
        onProgress: (p) => progress.push(p.done),
      });
      expect(chunks).toBe(3);
      expect(progress).toEqual([1, 2, 3]);
      const posts = ttsPosts(fast);
      expect(posts).toHaveLength(3);
      for (const p of posts) expect((p.json as AimlTtsBody).text.length).toBeLessThanOrEqual(5000);
      expect(posts.map((p) => (p.json as AimlTtsBody).text).join(" ")).toBe(text);

      const decoder = new MPEGDecoder();
      await decoder.ready;
      const decoded = decoder.decode(result.audio);
      decoder.free();
      expect(decoded.errors).toEqual([]);
      expect(decoded.sampleRate).toBe(24000);
      const decodedMs = (decoded.samplesDecoded * 1000) / decoded.sampleRate;
      expect(Math.abs(decodedMs - result.durationMs!)).toBeLessThan(1);
      // The fake speaks a fixed time per non-space character; each chunk adds under 3 frames of
      // encoder delay and padding (24 ms each at 24 kHz).
      const spokenMs = text.replace(/\s/g, "").length * msPerChar;
      expect(result.durationMs!).toBeGreaterThanOrEqual(spokenMs);
      expect(result.durationMs!).toBeLessThan(spokenMs + 3 * 3 * 24);
      expect(mp3Frames(result.audio).every((f) => f.infoTag === undefined)).toBe(true);
      expect(result.usageCharacters).toBe(posts.reduce((n, p) => n + (p.json as AimlTtsBody).text.length, 0));

      // Each 57-character sentence is too long for one cue and becomes two.
      expect(subtitles).toHaveLength(400);
      expect(subtitles.map((c) => c.text).join(" ")).toBe(text);
      expect(subtitles[0]!.time_begin).toBe(0);
      expect(subtitles.at(-1)!.time_end).toBe(result.durationMs);
    } finally {
      await fast.close();
    }
  });
});
