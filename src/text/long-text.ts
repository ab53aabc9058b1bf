import { audioDurationMs } from "../audio/duration.ts";
import { joinMp3, mp3Frames, silentMp3Frames } from "../audio/mp3.ts";
import { joinWav, type PcmShape, parseWav, pcmToWav } from "../audio/wav.ts";
import { UnsupportedOptionError } from "../speech/errors.ts";
import type { SpeechRequest, SubtitleSegment, SynthesisResult, TtsProvider } from "../speech/types.ts";
import { chunkTextWithPauses, type TextChunk } from "./chunk-text.ts";
import { subtitlesFromChunks } from "./subtitles.ts";

export interface LongTextProgress {
  /** Chunks synthesised so far. */
  done: number;
  total: number;
}

export interface LongTextOptions {
  /** Characters per request; never more than the provider's `maxSyncChars` (the default). */
  maxChars?: number;
  /** Requests in flight at once. Default 3. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: LongTextProgress) => void;
}

export interface LongTextResult {
  /** One file for the whole text. */
  result: SynthesisResult;
  /** Estimated from each chunk's duration (the provider gives no timings). */
  subtitles: SubtitleSegment[];
  /** Requests made. */
  chunks: number;
}

/**
 * Long text for a provider without an async API: chunk it to the provider's request limit, synthesise
 * the chunks (a few at a time, in order) and join the audio into one file. A pause marker where a chunk
 * boundary falls becomes real silence between the clips. The first failure aborts the requests still
 * running and is rethrown (the provider's client has already retried what was worth retrying).
 */
export async function synthesizeLong(
  provider: TtsProvider,
  req: SpeechRequest,
  opts: LongTextOptions = {},
): Promise<LongTextResult> {
  const { signal, onProgress } = opts;
  const concurrency = opts.concurrency ?? 3;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError("concurrency must be a positive integer");
  }
  const maxChars = Math.min(opts.maxChars ?? Number.POSITIVE_INFINITY, provider.capabilities.maxSyncChars);
  const pieces = chunkTextWithPauses(req.text, maxChars);
  if (pieces.length === 0)
    throw new UnsupportedOptionError("text", "There is no text to speak.", provider.name);
  if (pieces.length > 1 && req.format === "flac") {
    throw new UnsupportedOptionError(
      "format",
      `This text needs ${pieces.length} requests to ${provider.name}, and FLAC files cannot be joined into one: use mp3 or wav for long texts.`,
      provider.name,
    );
  }

  let done = 0;
  const results = await mapInOrder(pieces, concurrency, signal, async (piece, pieceSignal) => {
    const r = await provider.synthesize({ ...req, text: piece.text }, { signal: pieceSignal });
    onProgress?.({ done: ++done, total: pieces.length });
    return r;
  });

  const joined = joinClips(results, pieces, req);
  const first = results[0]!;
  const usage = results.map((r) => r.usageCharacters);
  const traceIds = [...new Set(results.map((r) => r.traceId).filter((t) => t !== undefined))];
  return {
    result: {
      audio: joined.audio,
      format: first.format,
      sampleRate: first.sampleRate,
      channels: first.channels,
      durationMs: measure(joined.audio, first) ?? sum(joined.timeline.map((t) => t.durationMs)),
      usageCharacters: usage.every((u) => u !== undefined) ? sum(usage) : undefined,
      traceId: traceIds.length > 0 ? traceIds.join(",") : undefined,
    },
    subtitles: subtitlesFromChunks(joined.timeline),
    chunks: pieces.length,
  };
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** The clip's own structure is the best clock for the joined file; the provider's figure is the fallback. */
function measure(
  audio: Buffer,
  r: Pick<SynthesisResult, "format" | "sampleRate" | "channels">,
): number | undefined {
  try {
    return audioDurationMs(audio, r.format, { sampleRate: r.sampleRate, channels: r.channels });
  } catch {
    return undefined;
  }
}

interface Joined {
  audio: Buffer;
  /** Each clip and each inserted silence (text ""), in order, with its length. */
  timeline: { text: string; durationMs: number }[];
}

function joinClips(results: SynthesisResult[], pieces: TextChunk[], req: SpeechRequest): Joined {
  const timeline: Joined["timeline"] = [];
  const files: Buffer[] = [];
  results.forEach((r, i) => {
    files.push(r.audio);
    timeline.push({ text: pieces[i]!.text, durationMs: measure(r.audio, r) ?? r.durationMs ?? 0 });
    const pauseMs = pieces[i]!.pauseAfterMs;
    if (pauseMs > 0 && i < results.length - 1) {
      const gap = silenceLike(r, pauseMs);
      if (gap.length > 0) {
        files.push(gap);
        timeline.push({ text: "", durationMs: measure(gap, r) ?? pauseMs });
      }
    }
  });
  if (files.length === 1) return { audio: files[0]!, timeline };
  switch (req.format) {
    case "mp3":
      return { audio: joinMp3(files), timeline };
    case "wav":
      return { audio: joinWav(files), timeline };
    case "pcm":
      return { audio: Buffer.concat(files), timeline };
    case "flac":
      throw new Error("unreachable: FLAC is refused before synthesis when it would need joining");
  }
}

function silentPcm(shape: PcmShape, ms: number): Buffer {
  const frameBytes = (shape.channels * shape.bitsPerSample) / 8;
  return Buffer.alloc(Math.round((ms * shape.sampleRate) / 1000) * frameBytes);
}

/** Silence in the same format and shape as the clip it follows, so it joins like another clip. */
function silenceLike(clip: SynthesisResult, ms: number): Buffer {
  switch (clip.format) {
    case "mp3": {
      const ref = mp3Frames(clip.audio).find((f) => f.infoTag === undefined);
      return ref ? silentMp3Frames(ref, ms) : Buffer.alloc(0);
    }
    case "wav": {
      const shape = parseWav(clip.audio);
      return pcmToWav(silentPcm(shape, ms), shape);
    }
    case "pcm":
      return silentPcm({ sampleRate: clip.sampleRate, channels: clip.channels, bitsPerSample: 16 }, ms);
    case "flac":
      return Buffer.alloc(0);
  }
}

/**
 * Runs `fn` over `items` with at most `concurrency` calls in flight, results in input order. On the
 * first failure nothing new starts, the calls in flight are aborted through their signal, and that
 * first failure is thrown once they have settled (their abort errors are not the story).
 */
async function mapInOrder<T, R>(
  items: readonly T[],
  concurrency: number,
  signal: AbortSignal | undefined,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  signal?.throwIfAborted();
  const controller = new AbortController();
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener("abort", forward, { once: true });
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && !controller.signal.aborted && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, controller.signal);
      } catch (error) {
        if (!failure) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  } finally {
    signal?.removeEventListener("abort", forward);
  }
  signal?.throwIfAborted();
  if (failure) throw failure.error;
  return results;
}
