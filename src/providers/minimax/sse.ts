import { createParser, type EventSourceMessage, type ParseError } from "eventsource-parser";
import { RetryableError, UpstreamError } from "../../speech/errors.ts";
import type { StreamSummary } from "../../speech/types.ts";
import { errorFromBaseResp } from "./errors.ts";
import { type ExtraInfo, parseMiniMaxJson, StreamEventSchema, type T2aResponse } from "./schemas.ts";

/**
 * Reads a `POST /v1/t2a_v2` (`stream: true`) Server-Sent-Events body and yields the audio as it
 * arrives, one hex-encoded chunk per `data:` event. eventsource-parser takes care of events and
 * lines split anywhere across chunks, `\r\n` vs `\n`, comments and `data:` with or without the
 * space; a streaming TextDecoder takes care of multi-byte characters split across chunks.
 */

export interface SseAudioOptions {
  /** From the `Trace-Id` response header; the events' own `trace_id` wins. */
  traceId?: string;
  /**
   * Largest single event, in characters. The final event may repeat the whole clip as hex, so this is
   * generous; past it the stream is refused rather than buffered without end.
   */
  maxEventChars?: number;
}

const DEFAULT_MAX_EVENT_CHARS = 256 * 1024 * 1024;

const upstream = (message: string, traceId: string | undefined) =>
  new UpstreamError(message, { provider: "minimax", traceId });

export function decodeHexAudio(hex: string, traceId?: string): Buffer {
  // Buffer.from stops at the first pair that is not hex, so a full-length result proves the whole
  // string was hex without a separate regex pass over megabytes of audio.
  const audio = Buffer.from(hex, "hex");
  if (hex.length % 2 !== 0 || audio.length * 2 !== hex.length) {
    throw upstream("MiniMax sent audio that is not valid hex", traceId);
  }
  return audio;
}

export async function* readAudioStream(
  body: AsyncIterable<Uint8Array>,
  opts: SseAudioOptions = {},
): AsyncGenerator<Buffer, StreamSummary, void> {
  let traceId = opts.traceId;
  let pending: EventSourceMessage[] = [];
  let parseFailure: ParseError | undefined;
  const parser = createParser({
    maxBufferSize: opts.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS,
    onEvent: (event) => pending.push(event),
    onError: (err) => {
      // Unknown fields and bad `retry:` values are noise; only an overflow is fatal.
      if (err.type === "max-buffer-size-exceeded") parseFailure = err;
    },
  });
  const decoder = new TextDecoder("utf-8");

  let yielded = 0;
  let final: ExtraInfo | undefined | null;
  let finished = false;

  /** Parses one event; returns the audio to yield, if any. Throws on a MiniMax error inside it. */
  const handle = (message: EventSourceMessage, atEnd: boolean): Buffer | undefined => {
    const text = message.data.trim();
    if (text === "" || text === "[DONE]") return undefined;
    let event: T2aResponse;
    try {
      event = StreamEventSchema.parse(parseMiniMaxJson(text));
    } catch (cause) {
      // An unparseable last event is what a connection cut mid-event looks like.
      if (atEnd) throw truncated(traceId, cause);
      throw new UpstreamError("MiniMax sent a stream event that is not valid JSON", {
        provider: "minimax",
        traceId,
        cause,
      });
    }
    traceId = event.trace_id ?? traceId;
    const { status_code: code, status_msg: msg } = event.base_resp;
    if (code !== 0) throw errorFromBaseResp(code, msg, traceId);
    if (finished) return undefined;

    const hex = event.data?.audio ?? "";
    const isFinal = event.data?.status === 2 || event.extra_info != null;
    if (!isFinal) return hex ? decodeHexAudio(hex, traceId) : undefined;
    finished = true;
    final = event.extra_info;
    // The final event repeats the whole clip unless exclude_aggregated_audio was honoured: play it
    // only when nothing came before it (a server that sent the audio in one piece).
    return yielded === 0 && hex ? decodeHexAudio(hex, traceId) : undefined;
  };

  const drain = function* (atEnd: boolean): Generator<Buffer, void, void> {
    if (parseFailure) throw upstream(`MiniMax stream event too large: ${parseFailure.message}`, traceId);
    const events = pending;
    pending = [];
    for (const event of events) {
      const audio = handle(event, atEnd);
      if (audio && audio.length > 0) {
        yielded += audio.length;
        yield audio;
      }
    }
  };

  for await (const chunk of body) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* drain(false);
  }
  // Flush a split character, then end the last event even if the server omitted its blank line.
  parser.feed(`${decoder.decode()}\n\n`);
  yield* drain(true);

  if (!finished) throw truncated(traceId);
  return {
    durationMs: final?.audio_length ?? undefined,
    usageCharacters: final?.usage_characters ?? undefined,
    traceId,
    bytes: yielded,
  };
}

function truncated(traceId: string | undefined, cause?: unknown): RetryableError {
  return new RetryableError("MiniMax stream ended before its final event (truncated)", {
    provider: "minimax",
    traceId,
    cause,
  });
}
