import { Mp3Encoder } from "@breezystack/lamejs";
import OpusScript from "opusscript";
import { describe, expect, it } from "vitest";
import { int16FromBuffer } from "../../src/audio/resample.ts";
import { createLogger } from "../../src/logger.ts";
import type { AudioCache, CachedAudio } from "../../src/speak/audio-cache.ts";
import { ContentRefusedError, UpstreamError } from "../../src/speech/errors.ts";
import type { SpeechRequest, StreamSummary, SynthesisResult, TtsProvider } from "../../src/speech/types.ts";
import { openSpeechSource, VOICE_SOURCE, voiceRequest } from "../../src/voice/speech-source.ts";
import { channel, dominantFrequency, sine } from "../audio/signal.ts";

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

/** The Opus packets the source yields, one per read. */
async function readAll(source: ReturnType<typeof openSpeechSource>): Promise<Buffer[]> {
  const packets: Buffer[] = [];
  for await (const packet of source.stream) packets.push(packet as Buffer);
  return packets;
}

/** What a listener hears: the packets decoded at 48 kHz stereo by an independent decoder. */
function listen(packets: Buffer[]): Int16Array {
  const decoder = new OpusScript(48000, 2);
  try {
    return Int16Array.from(packets.flatMap((p) => Array.from(int16FromBuffer(decoder.decode(p)))));
  } finally {
    decoder.delete();
  }
}

/** Milliseconds of audio in packets: each is 20 ms. */
const ms = (packets: Buffer[]): number => packets.length * 20;

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
  it("yields Opus packets as soon as the first chunk arrives, then the rest", async () => {
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
    const reader = source.stream[Symbol.asyncIterator]();
    const packets: Buffer[] = [];
    for (let i = 0; i < 5; i++) packets.push((await reader.next()).value as Buffer);
    expect(packets.every((p) => p.length > 0)).toBe(true);
    release();
    for (let next = await reader.next(); !next.done; next = await reader.next()) packets.push(next.value);
    // 200 ms of 24 kHz is exactly ten 20 ms packets of 480 samples.
    expect(packets).toHaveLength(10);
    expect(listen(packets)).toHaveLength(10 * 960 * 2);
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
    expect(await readAll(source)).toHaveLength(0);
    const done = await source.done;
    expect(done).toMatchObject({ ok: false, partial: false, aborted: false });
  });

  it("a failure midway plays what arrived and reports a partial clip", async () => {
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks: [pcm24k(100), pcm24k(100)], failAfter: 1 }), logger },
      request,
    );
    expect(ms(await readAll(source))).toBe(100);
    expect(await source.done).toMatchObject({ ok: false, partial: true, aborted: false });
  });

  it("a clip the encoder cannot take ends the stream with the error, for the player to report", async () => {
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks: [pcm24k(20)] }), logger },
      { ...request, sampleRate: -1 as SpeechRequest["sampleRate"] }, // no provider sends this
    );
    await expect(readAll(source)).rejects.toThrow(/sample rate/);
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
    expect(Buffer.concat(b).equals(Buffer.concat(a))).toBe(true);
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
    expect(ms(await readAll(source))).toBe(300);
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
    expect(ms(await readAll(source))).toBe(100);
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
    // mp3 adds encoder delay and padding: within one or two frames of the 500 ms put in.
    expect(ms(out)).toBeGreaterThan(480);
    expect(ms(out)).toBeLessThan(600);
    // sin(i / 5) at 24 kHz: 24000 / 10π ≈ 764 Hz.
    const heard = channel(listen(out), 2, 0);
    expect(Math.abs(dominantFrequency(heard, 48000) - 24000 / (10 * Math.PI))).toBeLessThan(3);
  });

  it("resamples an mp3 at a rate Opus does not take (44.1 kHz) to 24 kHz", async () => {
    const encoder = new Mp3Encoder(1, 44100, 64);
    const samples = sine(44100 / 2, 44100, 440, 8000);
    const mp3 = Buffer.concat([Buffer.from(encoder.encodeBuffer(samples)), Buffer.from(encoder.flush())]);
    const chunks = [mp3.subarray(0, 500), mp3.subarray(500, 1700), mp3.subarray(1700)];
    const source = openSpeechSource(
      { provider: streamingProvider({ chunks }), logger },
      voiceRequest({ ...request, soundEffect: "robotic" }),
    );
    const out = await readAll(source);
    expect(ms(out)).toBeGreaterThan(480);
    expect(ms(out)).toBeLessThan(600);
    expect(Math.abs(dominantFrequency(channel(listen(out), 2, 0), 48000) - 440)).toBeLessThan(3);
    expect(await source.done).toMatchObject({ ok: true });
  });
});
