import { mp3FrameOffsets } from "../audio/mp3.ts";
import type { Reply } from "../common/http.ts";
import { sleep } from "../common/http.ts";
import { STATUS_MESSAGES } from "./codes.ts";
import type { RenderedAudio } from "./synth.ts";

/**
 * The `stream: true` reply of t2a_v2: `data: {json}` events, incremental hex in
 * `status:1` events, then one `status:2` event carrying `extra_info` and — unless the client opted
 * out — the whole audio again. No `[DONE]` sentinel unless a fault adds one.
 */

export interface StreamShape {
  chunkCount: number;
  chunkBytes: number | undefined;
  delayMs: number;
  excludeAggregatedAudio: boolean;
  channels: number;
  subtitleFile: string | undefined;
}

export interface StreamFaults {
  error?: { code: number; msg?: string; afterChunks?: number };
  noFinal?: boolean;
  done?: boolean;
  crlf?: boolean;
}

/**
 * Cut points where a real streaming encoder would emit: whole mp3 frames, whole PCM sample frames.
 * FLAC is cut anywhere — its frames are not something a client may rely on being aligned.
 */
function cutPoints(audio: Buffer, format: string, channels: number): (wanted: number) => number {
  if (format === "mp3") {
    const frames = mp3FrameOffsets(audio);
    if (frames.length > 1) {
      return (wanted) =>
        frames.reduce((best, f) => (Math.abs(f - wanted) < Math.abs(best - wanted) ? f : best), 0);
    }
  }
  if (format === "pcm") {
    const frame = 2 * channels;
    return (wanted) => Math.round(wanted / frame) * frame;
  }
  return (wanted) => wanted;
}

export function splitAudio(
  audio: Buffer,
  format: string,
  shape: Pick<StreamShape, "chunkCount" | "chunkBytes" | "channels">,
): Buffer[] {
  const snap = cutPoints(audio, format, shape.channels);
  const count = shape.chunkBytes
    ? Math.max(1, Math.ceil(audio.length / shape.chunkBytes))
    : Math.max(1, shape.chunkCount);
  const cuts = new Set<number>([0, audio.length]);
  for (let i = 1; i < count; i++) {
    const wanted = shape.chunkBytes ? i * shape.chunkBytes : Math.round((audio.length * i) / count);
    const at = snap(wanted);
    if (at > 0 && at < audio.length) cuts.add(at);
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  return sorted.slice(1).map((end, i) => audio.subarray(sorted[i]!, end));
}

export function sseReply(
  rendered: RenderedAudio,
  shape: StreamShape,
  trace: string,
  faults: StreamFaults,
): Reply {
  const eol = faults.crlf ? "\r\n" : "\n";
  const event = (payload: unknown): Buffer => Buffer.from(`data: ${JSON.stringify(payload)}${eol}${eol}`);
  const pieces = splitAudio(rendered.audio, rendered.format, shape);

  async function* events(): AsyncGenerator<Buffer> {
    for (let i = 0; i < pieces.length; i++) {
      if (faults.error && i === (faults.error.afterChunks ?? 1)) break;
      if (i > 0 && shape.delayMs > 0) await sleep(shape.delayMs);
      yield event({
        data: { audio: pieces[i]!.toString("hex"), status: 1, ced: "" },
        trace_id: trace,
        base_resp: { status_code: 0, status_msg: "" },
      });
    }
    if (faults.error) {
      const { code, msg } = faults.error;
      yield event({
        data: null,
        trace_id: trace,
        base_resp: { status_code: code, status_msg: msg ?? STATUS_MESSAGES[code] ?? "unknown error" },
      });
      return;
    }
    if (faults.noFinal) return;
    if (shape.delayMs > 0) await sleep(shape.delayMs);
    const data: Record<string, unknown> = {
      audio: shape.excludeAggregatedAudio ? "" : rendered.audio.toString("hex"),
      status: 2,
      ced: "",
    };
    if (shape.subtitleFile) data.subtitle_file = shape.subtitleFile;
    yield event({
      data,
      extra_info: rendered.extraInfo,
      trace_id: trace,
      base_resp: { status_code: 0, status_msg: "success" },
    });
    if (faults.done) yield Buffer.from(`data: [DONE]${eol}${eol}`);
  }

  return {
    kind: "stream",
    status: 200,
    headers: {
      "Content-Type": "text/event-stream",
      "Cache-Control": "no-cache",
      "Trace-Id": trace,
    },
    chunks: events(),
  };
}
