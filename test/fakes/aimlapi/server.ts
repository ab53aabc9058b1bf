import { type CommonFault, FaultQueue, type FaultTarget } from "../common/faults.ts";
import {
  bufferReply,
  jsonReply,
  type RecordedRequest,
  type Reply,
  sleep,
  startHttpFake,
} from "../common/http.ts";
import { requestId } from "../common/ids.ts";
import { SignedObjectStore } from "../common/storage.ts";
import { renderSpeech } from "../minimax/synth.ts";
import type { SynthesisParams } from "../minimax/validation.ts";
import { SYSTEM_VOICES } from "../minimax/voices.ts";
import { type AimlTtsRequest, validateAimlBody } from "./validation.ts";

/**
 * A local AI/ML API gateway for the MiniMax speech models: `POST /v1/tts` only, real HTTP
 * status codes (unlike MiniMax), the `{message, path, requestId, statusCode, timestamp}` error shape,
 * and the three answer shapes its docs disagree about.
 */

export type AimlResponseMode = "json-object" | "json-string" | "binary";
export type AimlFault =
  | CommonFault
  /** The next audio URL handed out points at `base` (another server, a private address…) instead. */
  | ({ kind: "downloadUrl"; base: string } & FaultTarget)
  /** Answer with a redirect to `location` (default 302) instead of the real answer. */
  | ({ kind: "redirect"; location: string; status?: number } & FaultTarget)
  /** The next clip (inline or behind its URL) is these bytes instead of the rendered audio. */
  | ({ kind: "audioBody"; body: Buffer } & FaultTarget);

export interface FakeAimlApiOptions {
  host?: string;
  port?: number;
  /** Default `test-key`. */
  apiKey?: string;
  acceptAnyKey?: boolean;
  /**
   * `json-object` (default): `{"audio":{"url"}, meta}` as the published examples; `json-string`:
   * `{"audio":"<url>", meta}` as the schema; `binary`: the audio bytes labelled `audio/wav` whatever they are.
   */
  responseMode?: AimlResponseMode;
  /** When set, requests spend credits and get 403 once none are left. */
  creditsLeft?: number;
  msPerChar?: number;
  maxAudioMs?: number;
  /** Lifetime of audio URLs (default 24 h). */
  urlTtlMs?: number;
  now?: () => number;
  onRequest?: (record: RecordedRequest) => void;
}

export interface FakeAimlApi {
  url: string;
  port: number;
  close(): Promise<void>;
  requests: RecordedRequest[];
  /** Credits remaining (undefined when unlimited). */
  readonly creditsLeft: number | undefined;
  inject(fault: AimlFault): void;
  clearFaults(): void;
  reset(): void;
}

const TTS_PATH = "/v1/tts";
const STORAGE_PREFIX = "/moose/";
/** From the published example: 7541 credits cost $0.0037705. */
const USD_PER_CREDIT = 0.0000005;
const CREDITS_PER_CHAR = 30;

const FAILURE_MESSAGES: Record<number, string> = {
  429: "Too Many Requests",
  500: "Internal server error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Generation timeout",
};

function errorReply(status: number, message: string, path: string): Reply {
  return jsonReply(status, {
    message,
    path,
    requestId: requestId(),
    statusCode: status,
    timestamp: new Date().toISOString(),
  });
}

const CONTENT_TYPES: Record<string, string> = {
  mp3: "audio/mpeg",
  flac: "audio/flac",
  pcm: "application/octet-stream",
};

/** The gateway forwards to MiniMax's sync t2a_v2, so the clip is rendered with MiniMax's defaults. */
function toSynthesisParams(body: AimlTtsRequest): SynthesisParams {
  const vs = body.voice_setting;
  const as = body.audio_setting;
  return {
    mode: "sync",
    model: body.model.replace(/^minimax\//, ""),
    text: body.text,
    textFileId: undefined,
    voiceId: vs.voice_id,
    speed: vs.speed ?? 1,
    vol: vs.vol ?? 1,
    pitch: vs.pitch ?? 0,
    emotion: vs.emotion,
    languageBoost: body.language_boost,
    format: as?.format ?? "mp3",
    sampleRate: as?.sample_rate ?? 32000,
    bitrate: as?.bitrate ?? 128000,
    channels: as?.channel ?? 1,
    outputFormat: "url",
    subtitles: false,
    excludeAggregatedAudio: false,
  };
}

export async function startFakeAimlApi(options: FakeAimlApiOptions = {}): Promise<FakeAimlApi> {
  const opts = {
    apiKey: "test-key",
    acceptAnyKey: false,
    responseMode: "json-object" as AimlResponseMode,
    msPerChar: 60,
    maxAudioMs: 120_000,
    urlTtlMs: 24 * 3600_000,
    now: Date.now,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  const requests: RecordedRequest[] = [];
  const faults = new FaultQueue<AimlFault>();
  const storage = new SignedObjectStore(STORAGE_PREFIX, opts.now);
  const knownVoices = new Set(SYSTEM_VOICES.map((v) => v.voice_id));
  let credits = options.creditsLeft;
  let baseUrl = "";

  function synthesize(record: RecordedRequest): Reply {
    const key = /^Bearer\s+(.+)$/i.exec(record.headers.authorization ?? "")?.[1]?.trim();
    if (!key || (!opts.acceptAnyKey && key !== opts.apiKey)) {
      return errorReply(
        401,
        "This request requires a valid API key. Get your key at https://aimlapi.com/app/keys",
        record.path,
      );
    }
    if (credits !== undefined && credits <= 0) {
      return errorReply(
        403,
        "You've run out of credits. Please top up your balance to continue.",
        record.path,
      );
    }
    const validated = validateAimlBody(record.json);
    if (!validated.ok) return errorReply(400, validated.message, record.path);
    const body = validated.value;
    const voices = body.timbre_weights?.map((w) => w.voice_id) ?? [body.voice_setting.voice_id];
    // The gateway's schema takes any voice id; MiniMax behind it does not, and the gateway reports that as its own 500.
    if (voices.some((v) => !knownVoices.has(v))) {
      return errorReply(500, "Something wrong with the server. Please try again later.", record.path);
    }
    const real = renderSpeech(body.text, toSynthesisParams(body), opts);
    const swapped = faults.take(record.path, ["audioBody"]);
    const rendered = swapped ? { ...real, audio: swapped.body } : real;
    const creditsUsed = [...body.text].length * CREDITS_PER_CHAR;
    if (credits !== undefined) credits -= creditsUsed;
    if (opts.responseMode === "binary") return bufferReply(200, "audio/wav", rendered.audio);
    const objectKey = `audio/tts-${requestId()}.${rendered.format}`;
    storage.put(objectKey, { contentType: CONTENT_TYPES[rendered.format]!, open: () => rendered.audio });
    const url = storage.sign(
      faults.take(record.path, ["downloadUrl"])?.base ?? baseUrl,
      objectKey,
      opts.urlTtlMs,
    );
    const meta = { usage: { credits_used: creditsUsed, usd_spent: creditsUsed * USD_PER_CREDIT } };
    return jsonReply(200, { audio: opts.responseMode === "json-string" ? url : { url }, meta });
  }

  async function route(record: RecordedRequest): Promise<Reply> {
    const { path } = record;
    const isStorage = storage.owns(path);
    if (!isStorage && (path !== TTS_PATH || record.method !== "POST")) {
      return errorReply(404, `Cannot ${record.method} ${path}`, path);
    }
    const latency = faults.take(path, ["latency"]);
    if (latency) await sleep(latency.ms);
    const fault = faults.take(path, ["http", "timeout", "redirect"]);
    let reply: Reply;
    if (fault?.kind === "timeout") return { kind: "hang" };
    if (fault?.kind === "redirect") {
      return bufferReply(fault.status ?? 302, "text/plain", `Redirecting to ${fault.location}`, {
        Location: fault.location,
      });
    }
    if (fault?.kind === "http")
      reply = errorReply(fault.status, FAILURE_MESSAGES[fault.status] ?? "Error", path);
    else reply = isStorage ? storage.handle(record.method, path, record.query) : synthesize(record);
    if (reply.kind !== "hang" && faults.take(path, ["truncate"])) reply = { ...reply, truncate: true };
    return reply;
  }

  const http = await startHttpFake({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    onRequest: (record) => {
      requests.push(record);
      options.onRequest?.(record);
    },
    route,
  });
  baseUrl = http.url;
  return {
    url: http.url,
    port: http.port,
    close: () => http.close(),
    requests,
    get creditsLeft() {
      return credits;
    },
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    reset: () => {
      requests.length = 0;
      faults.clear();
      storage.clear();
      credits = options.creditsLeft;
    },
  };
}
