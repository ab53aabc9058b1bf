import { Mp3Encoder } from "@breezystack/lamejs";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/logger.ts";
import type { AudioCache, CachedAudio } from "../../src/speak/audio-cache.ts";
import { ContentRefusedError, UpstreamError } from "../../src/speech/errors.ts";
import type { SpeechRequest, StreamSummary, SynthesisResult, TtsProvider } from "../../src/speech/types.ts";
import { openSpeechSource, VOICE_SOURCE, voiceRequest } from "../../src/voice/speech-source.ts";

const logger = createLogger({ level: "silent" });
const request: SpeechRequest = voiceRequest({
  text: "hello",
  model: "speech-2.5-turbo-preview",
  voiceId: "Wise_Woman",
  format: "mp3",
});

/** 24 kHz mono PCM of `ms` milliseconds, a ramp so bytes are not all zero. */
function pcm24k(ms: number): Buffer {
  const frames = (24000 * ms) / 1000;
  const out = Buffer.alloc(frames * 2);
  for (let i = 0; i < frames; i++) out.writeInt16LE(Math.round(Math.sin(i / 5) * 8000), i * 2);
  return out;
}

interface StreamScript {
  chunks: Buffer[];
  /** Resolved by the test to let chunk i through. */
  gates?: Promise<void>[];
  failAfter?: number;
  usage?: number;
}

function streamingProvider(script: StreamScript, calls: SpeechRequest[] = []): TtsProvider {
  return {
    name: "minimax",
    capabilities: { stream: true, async: false, voices: false, maxSyncChars: 10_000 },
    synthesize: () => Promise.reject(new Error("not used")),
    async *stream(req, opts): AsyncGenerator<Buffer, StreamSummary, void> {
      calls.push(req);
      let bytes = 0;
      for (const [i, chunk] of script.chunks.entries()) {
        await script.gates?.[i];
        if (opts?.signal?.aborted) throw new DOMException("aborted", "AbortError");
        if (script.failAfter === i)
          throw new ContentRefusedError("flagged", { provider: "minimax", code: 1026 });
        bytes += chunk.length;
        yield chunk;
      }
      return { durationMs: undefined, usageCharacters: script.usage, traceId: "t", bytes };
    },
  };
}

async function readAll(source: ReturnType<typeof openSpeechSource>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source.stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function memoryCache(): AudioCache & { map: Map<string, CachedAudio> } {
  const map = new Map<string, CachedAudio>();
  return {
    map,
    get: async (k) => map.get(k),
    set: async (k, v) => void map.set(k, v),
    stats: async () => ({ entries: map.size, bytes: 0, hits: 0, misses: 0 }),
  };
}

describe("voiceRequest", () => {
  it.each([
    { name: "plain speech streams 24 kHz mono PCM", effect: undefined, format: "pcm" },
    { name: "sound effects need mp3", effect: "robotic" as const, format: "mp3" },
  ])("$name", ({ effect, format }) => {
    const req = voiceRequest({ ...request, format: "flac", bitrate: 128000, soundEffect: effect });
    expect(req).toMatchObject({ format, sampleRate: 24000, channels: 1 });
    expect(req.bitrate).toBeUndefined();
  });
});

describe("speech source", () => {
  it("yields 48 kHz stereo as soon as the first chunk arrives, then the rest", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const chunks = [pcm24k(100), pcm24k(100)];
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks, gates: [Promise.resolve(), gate], usage: 5 }), logger },
      request,
    );
    await source.firstAudio;
    // The first 100 ms are readable while the second chunk is still held back.
    const first = await new Promise<Buffer>((resolve) => source.stream.once("data", resolve));
    expect(first.length).toBeGreaterThan(0);
    release();
    const rest = await readAll(source);
    // 200 ms of 48 kHz stereo s16le = 38400 bytes, exactly (24 → 48 kHz is a whole ratio).
    expect(first.length + rest.length).toBe(38_400);
    expect(await source.done).toEqual({ ok: true, cached: false, usageCharacters: 5, durationMs: 200 });
  });

  it("asks the provider for raw PCM at 24 kHz mono", async () => {
    const calls: SpeechRequest[] = [];
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks: [pcm24k(20)] }, calls), logger },
      request,
    );
    await readAll(source);
    expect(calls[0]).toMatchObject(VOICE_SOURCE);
  });

  it("a failure before any audio rejects firstAudio and ends the stream empty", async () => {
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks: [pcm24k(20)], failAfter: 0 }), logger },
      request,
    );
    await expect(source.firstAudio).rejects.toThrow(/flagged/);
    expect((await readAll(source)).length).toBe(0);
    const done = await source.done;
    expect(done).toMatchObject({ ok: false, partial: false, aborted: false });
  });

  it("a failure midway plays what arrived and reports a partial clip", async () => {
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks: [pcm24k(100), pcm24k(100)], failAfter: 1 }), logger },
      request,
    );
    expect((await readAll(source)).length).toBe(19_200);
    expect(await source.done).toMatchObject({ ok: false, partial: true, aborted: false });
  });

  it("abort stops synthesis and is reported as aborted", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const source = openSpeechSource(
      {
        provider: streamingProvider({ chunks: [pcm24k(50), pcm24k(50)], gates: [Promise.resolve(), gate] }),
        logger,
      },
      request,
    );
    await source.firstAudio;
    source.abort();
    release();
    expect(await source.done).toMatchObject({ ok: false, aborted: true });
  });

  it("a repeated clip comes from the cache without calling the provider", async () => {
    const cache = memoryCache();
    const calls: SpeechRequest[] = [];
    const provider = streamingProvider({ chunks: [pcm24k(60), pcm24k(40)], usage: 5 }, calls);
    const first = openSpeechSource({ provider, cache, logger }, request);
    const a = await readAll(first);
    await first.done;
    const second = openSpeechSource({ provider, cache, logger }, request);
    const b = await readAll(second);
    expect(b.equals(a)).toBe(true);
    expect(calls).toHaveLength(1);
    expect(await second.done).toMatchObject({ ok: true, cached: true });
  });

  it("falls back to whole-clip synthesis when the provider cannot stream", async () => {
    const clip = pcm24k(300);
    const provider: TtsProvider = {
      name: "aimlapi",
      capabilities: { stream: false, async: false, voices: false, maxSyncChars: 5000 },
      synthesize: async (req): Promise<SynthesisResult> => ({
        audio: clip,
        format: req.format,
        sampleRate: 24000,
        channels: 1,
        durationMs: 300,
        usageCharacters: 5,
        traceId: undefined,
      }),
    };
    const source = openSpeechSource({ provider, logger }, request);
    expect((await readAll(source)).length).toBe(57_600);
    expect(await source.done).toMatchObject({ ok: true, usageCharacters: 5 });
  });

  it("falls back to one whole-clip request when the stream breaks before any audio", async () => {
    const provider: TtsProvider = {
      ...streamingProvider({ chunks: [] }),
      // biome-ignore lint/correctness/useYield: it fails before yielding, like a broken SSE response
      async *stream(): AsyncGenerator<Buffer, StreamSummary, void> {
        throw new UpstreamError("not an event stream", { provider: "minimax" });
      },
      synthesize: async (req): Promise<SynthesisResult> => ({
        audio: pcm24k(100),
        format: req.format,
        sampleRate: 24000,
        channels: 1,
        durationMs: 100,
        usageCharacters: 5,
        traceId: undefined,
      }),
    };
    const source = openSpeechSource({ provider, logger }, request);
    expect((await readAll(source)).length).toBe(19_200);
    expect(await source.done).toMatchObject({ ok: true, usageCharacters: 5 });
  });

  it("decodes a streamed mp3 (sound effects) without ffmpeg", async () => {
    const encoder = new Mp3Encoder(1, 24000, 64);
    const samples = new Int16Array(pcm24k(500).buffer.slice(0));
    const mp3 = Buffer.concat([Buffer.from(encoder.encodeBuffer(samples)), Buffer.from(encoder.flush())]);
    // Split mid-frame, as a network stream would.
    const chunks = [mp3.subarray(0, 700), mp3.subarray(700, 1900), mp3.subarray(1900)];
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks }), logger },
      voiceRequest({ ...request, soundEffect: "robotic" }),
    );
    const out = await readAll(source);
    const ms = out.length / 4 / 48;
    // mp3 adds encoder delay and padding: within one or two frames of the 500 ms put in.
    expect(ms).toBeGreaterThan(480);
    expect(ms).toBeLessThan(600);
  });
});
