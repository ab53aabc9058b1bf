import { Readable } from "node:stream";
import type { MPEGDecoder } from "mpg123-decoder";
import { decodeToPcm, fromDecoded } from "../audio/voice-message.ts";
import type { Logger } from "../logger.ts";
import type { AudioCache } from "../speak/audio-cache.ts";
import { audioCacheKey } from "../speak/cache-key.ts";
import { TtsError } from "../speech/errors.ts";
import type { SpeechRequest, StreamSummary, TtsProvider } from "../speech/types.ts";
import { createPcmToOpus, type PcmToOpus } from "./pcm-pipeline.ts";

/**
 * One clip for a voice channel: synthesis starts the moment the source is opened (so the next queue
 * item can be fetched while the current one plays), and `stream` yields 20 ms Opus packets from the
 * first chunk the provider sends, encoded at the provider's own rate and channel count (see
 * pcm-pipeline.ts for why that is valid on a 48 kHz stereo voice channel).
 *
 * Provider audio is buffered as it arrives (at its own rate, 24 kHz mono: 48 KB/s) and encoded only
 * when the player reads it, so a prefetched clip costs little memory and no encoder until it plays.
 */

/** What voice playback asks the provider for: raw 24 kHz mono PCM, which Opus encodes as it is. */
export const VOICE_SOURCE = { format: "pcm", sampleRate: 24000, channels: 1 } as const;

/** Cached clips above this size are not stored (about three minutes of 24 kHz mono). */
const MAX_CACHED_BYTES = 8 * 1024 * 1024;

/**
 * The request voice playback sends. Sound effects need mp3 in MiniMax's streaming mode and in the
 * AI/ML API, so those clips come as mp3 and are decoded here (wasm, no ffmpeg).
 */
export function voiceRequest(request: SpeechRequest): SpeechRequest {
  const { bitrate: _bitrate, ...rest } = request;
  return request.soundEffect
    ? { ...rest, format: "mp3", sampleRate: VOICE_SOURCE.sampleRate, channels: 1 }
    : { ...rest, ...VOICE_SOURCE };
}

export type SourceOutcome =
  | {
      ok: true;
      cached: boolean;
      /** Characters the provider billed (absent when cached or when it did not say). */
      usageCharacters: number | undefined;
      /** Length of the clip at the provider's rate. */
      durationMs: number;
    }
  | {
      ok: false;
      error: unknown;
      /** Some audio was already buffered before it failed. */
      partial: boolean;
      /** Stopped on purpose (skip, stop, leave): nothing to report. */
      aborted: boolean;
    };

export interface SpeechSource {
  /** Object mode, one 20 ms Opus packet (a Buffer) per read (`StreamType.Opus`). */
  readonly stream: Readable;
  /** Resolves when the first audio is buffered; rejects when synthesis fails before any audio. */
  readonly firstAudio: Promise<void>;
  /** How it ended; never rejects. */
  readonly done: Promise<SourceOutcome>;
  /** Stops synthesis and ends the stream. */
  abort(): void;
}

export interface SpeechSourceDeps {
  provider: TtsProvider;
  cache?: AudioCache;
  logger: Logger;
}

/** Refusals (the text, the key, the balance, the options) would fail the same way without a stream. */
function streamFailureMayFallBack(err: unknown): boolean {
  if (!(err instanceof TtsError)) return true;
  return err.kind === "upstream";
}

export function openSpeechSource(deps: SpeechSourceDeps, request: SpeechRequest): SpeechSource {
  const { provider, cache, logger } = deps;
  const controller = new AbortController();
  const pending: Buffer[] = [];
  const collected: Buffer[] = [];
  let collectedBytes = 0;
  let shape: { sampleRate: number; channels: 1 | 2 } | undefined;
  let converter: PcmToOpus | undefined;
  let inputEnded = false;
  let outputEnded = false;
  let wanted = false;

  let resolveFirst!: () => void;
  let rejectFirst!: (err: unknown) => void;
  const firstAudio = new Promise<void>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  // A consumer may only await `done`; an unobserved rejection must not crash the process.
  firstAudio.catch(() => undefined);
  let gotAudio = false;

  const stream = new Readable({
    objectMode: true,
    read() {
      wanted = true;
      pump();
    },
    destroy(err, callback) {
      controller.abort();
      callback(err);
    },
  });

  function pump(): void {
    try {
      while (wanted && !outputEnded) {
        const chunk = pending.shift();
        if (chunk) {
          // The encoder is made when the player first reads, not when a prefetched clip arrives.
          converter ??= createPcmToOpus(shape!);
          for (const packet of converter.push(chunk)) wanted = stream.push(packet);
          continue;
        }
        if (!inputEnded) return;
        outputEnded = true;
        for (const packet of converter?.flush() ?? []) stream.push(packet);
        stream.push(null);
      }
    } catch (err) {
      // An encoder that cannot be made or fails: the player reports the stream's error and moves on.
      outputEnded = true;
      stream.destroy(err as Error);
    }
  }

  function add(pcm: Buffer, format: { sampleRate: number; channels: number }): void {
    if (pcm.length === 0 || controller.signal.aborted) return;
    shape ??= { sampleRate: format.sampleRate, channels: format.channels === 2 ? 2 : 1 };
    pending.push(pcm);
    if (collectedBytes <= MAX_CACHED_BYTES) {
      collected.push(pcm);
      collectedBytes += pcm.length;
    }
    if (!gotAudio) {
      gotAudio = true;
      resolveFirst();
    }
    pump();
  }

  function endInput(): void {
    inputEnded = true;
    pump();
  }

  const key = audioCacheKey({ provider: provider.name, request, variant: "voice-pcm" });

  async function fetchAudio(): Promise<SourceOutcome> {
    const hit = await cache?.get(key).catch((err: unknown) => {
      logger.warn({ err }, "audio cache read failed; synthesizing instead");
      return undefined;
    });
    if (hit) {
      add(hit.audio, hit);
      return { ok: true, cached: true, usageCharacters: undefined, durationMs: hit.durationMs ?? 0 };
    }
    let summary: Pick<StreamSummary, "usageCharacters">;
    if (provider.capabilities.stream && provider.stream) {
      try {
        summary = await streamFromProvider(provider.stream.bind(provider));
      } catch (err) {
        if (gotAudio || controller.signal.aborted || !streamFailureMayFallBack(err)) throw err;
        // A stream that broke before any audio (a proxy that cannot do SSE, a malformed event) is
        // worth one whole-clip try: a late clip beats a silent one.
        logger.warn({ err }, "speech stream failed before any audio; synthesizing the whole clip");
        summary = await synthesizeWhole();
      }
    } else {
      summary = await synthesizeWhole();
    }
    const durationMs = shape ? (collectedBytes / (2 * shape.channels) / shape.sampleRate) * 1000 : 0;
    if (shape && !controller.signal.aborted && collectedBytes <= MAX_CACHED_BYTES && cache) {
      await cache
        .set(key, {
          audio: Buffer.concat(collected),
          format: "pcm",
          sampleRate: shape.sampleRate,
          channels: shape.channels,
          durationMs: Math.round(durationMs),
          usageCharacters: summary.usageCharacters,
          createdAt: Date.now(),
        })
        .catch((err: unknown) => logger.warn({ err }, "audio cache write failed"));
    }
    return { ok: true, cached: false, usageCharacters: summary.usageCharacters, durationMs };
  }

  async function synthesizeWhole(): Promise<Pick<StreamSummary, "usageCharacters">> {
    const result = await provider.synthesize(request, { signal: controller.signal });
    const decoded = await decodeToPcm(result.audio, result.format, {
      sampleRate: result.sampleRate,
      channels: result.channels,
    });
    add(decoded.pcm, decoded);
    return result;
  }

  async function streamFromProvider(stream: NonNullable<TtsProvider["stream"]>): Promise<StreamSummary> {
    const gen = stream(request, { signal: controller.signal });
    let decoder: MPEGDecoder | undefined;
    try {
      if (request.format === "mp3") {
        const { MPEGDecoder } = await import("mpg123-decoder");
        decoder = new MPEGDecoder();
        await decoder.ready;
      }
      for (;;) {
        const next = await gen.next();
        if (next.done) return next.value;
        if (controller.signal.aborted) {
          await gen.return(undefined as never);
          return { durationMs: undefined, usageCharacters: undefined, traceId: undefined, bytes: 0 };
        }
        if (!decoder) {
          add(next.value, { sampleRate: request.sampleRate ?? VOICE_SOURCE.sampleRate, channels: 1 });
          continue;
        }
        const decoded = decoder.decode(next.value);
        if (decoded.samplesDecoded > 0) {
          const pcm = fromDecoded(decoded, "mp3");
          add(pcm.pcm, pcm);
        }
      }
    } finally {
      decoder?.free();
    }
  }

  const done: Promise<SourceOutcome> = fetchAudio().then(
    (outcome) => {
      if (controller.signal.aborted) {
        endInput();
        return { ok: false as const, error: new Error("aborted"), partial: gotAudio, aborted: true };
      }
      if (!gotAudio) {
        const error = new Error("the speech service returned no audio");
        rejectFirst(error);
        endInput();
        return { ok: false as const, error, partial: false, aborted: false };
      }
      endInput();
      return outcome;
    },
    (error: unknown) => {
      rejectFirst(error);
      endInput();
      return { ok: false as const, error, partial: gotAudio, aborted: controller.signal.aborted };
    },
  );

  return {
    stream,
    firstAudio,
    done,
    abort() {
      if (controller.signal.aborted) return;
      controller.abort();
      rejectFirst(new Error("aborted"));
      pending.length = 0;
      endInput();
    },
  };
}
