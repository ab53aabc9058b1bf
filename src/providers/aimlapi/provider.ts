import { audioDurationMs, flacStreamInfo } from "../../audio/duration.ts";
import { mp3Info } from "../../audio/mp3.ts";
import { parseWav, pcmToWav } from "../../audio/wav.ts";
import { UnsupportedOptionError, UpstreamError } from "../../speech/errors.ts";
import { AIMLAPI_MAX_CHARS } from "../../speech/models.ts";
import type {
  CallOptions,
  SpeechRequest,
  SynthesisResult,
  TtsProvider,
  VoiceDesignApi,
} from "../../speech/types.ts";
import type { AimlApiClient, AimlTtsAnswer } from "./client.ts";
import { AIML_DEFAULT_CHANNELS, AIML_DEFAULT_SAMPLE_RATE, toAimlBody } from "./request-body.ts";

/** What the provider needs of the client (a narrower type keeps provider tests free of HTTP). */
export type AimlApi = Pick<AimlApiClient, "tts">;

interface Shape {
  sampleRate: number;
  channels: 1 | 2;
}

const isRiffWave = (b: Buffer) =>
  b.length >= 12 && b.toString("ascii", 0, 4) === "RIFF" && b.toString("ascii", 8, 12) === "WAVE";

/**
 * The bytes in the format the caller asked for, and their real shape. `wav` was requested as raw PCM
 * (the gateway has no wav), so it gets its header here; a WAV the gateway sends anyway (its older
 * `audio/wav` answers) is unwrapped for `pcm` and kept as it is for `wav`.
 */
function finishAudio(
  answer: AimlTtsAnswer,
  req: SpeechRequest,
  asked: Shape,
): { audio: Buffer; shape: Shape } {
  const bytes = answer.audio;
  try {
    switch (req.format) {
      case "wav":
      case "pcm": {
        if (isRiffWave(bytes)) {
          const wav = parseWav(bytes);
          const shape = { sampleRate: wav.sampleRate, channels: wav.channels === 2 ? 2 : 1 } as const;
          return { audio: req.format === "wav" ? bytes : Buffer.from(wav.data), shape };
        }
        const audio = req.format === "wav" ? pcmToWav(bytes, { ...asked, bitsPerSample: 16 }) : bytes;
        return { audio, shape: asked };
      }
      case "mp3": {
        const info = mp3Info(bytes);
        return { audio: bytes, shape: { sampleRate: info.sampleRate, channels: info.channels } };
      }
      case "flac": {
        const info = flacStreamInfo(bytes);
        return {
          audio: bytes,
          shape: { sampleRate: info.sampleRate, channels: info.channels === 2 ? 2 : 1 },
        };
      }
    }
  } catch (cause) {
    throw new UpstreamError(`AI/ML API returned audio that is not valid ${req.format}`, {
      provider: "aimlapi",
      traceId: answer.requestId,
      cause,
    });
  }
}

export const AIML_NO_VOICE_DESIGN =
  "Designed voices need MiniMax directly: the AI/ML API gateway has no voice design endpoint (set TTS_PROVIDER=minimax).";

/** The gateway offers no voice design; a caller that ignores the capability is told so, clearly. */
const noVoiceDesign: VoiceDesignApi = {
  design: () => Promise.reject(new UnsupportedOptionError("voiceDesign", AIML_NO_VOICE_DESIGN, "aimlapi")),
  delete: () => Promise.reject(new UnsupportedOptionError("voiceDesign", AIML_NO_VOICE_DESIGN, "aimlapi")),
};

/**
 * The AI/ML API gateway as a TtsProvider: synchronous requests only (no streaming, no async jobs, no
 * voice list), up to 5000 characters each; longer texts go through `synthesizeLong`.
 */
export function createAimlApiProvider(client: AimlApi): TtsProvider {
  return {
    name: "aimlapi",
    capabilities: {
      stream: false,
      async: false,
      voices: false,
      maxSyncChars: AIMLAPI_MAX_CHARS,
      voiceDesign: false,
    },
    voiceDesign: noVoiceDesign,
    async synthesize(req: SpeechRequest, opts: CallOptions = {}): Promise<SynthesisResult> {
      const body = toAimlBody(req);
      const asked: Shape = {
        sampleRate: body.audio_setting.sample_rate ?? AIML_DEFAULT_SAMPLE_RATE,
        channels: body.audio_setting.channel ?? AIML_DEFAULT_CHANNELS,
      };
      const answer = await client.tts(body, opts);
      const { audio, shape } = finishAudio(answer, req, asked);
      let durationMs: number | undefined;
      try {
        durationMs = audioDurationMs(audio, req.format, shape);
      } catch {
        durationMs = undefined;
      }
      return {
        audio,
        format: req.format,
        sampleRate: shape.sampleRate,
        channels: shape.channels,
        durationMs,
        // The gateway bills in credits, not characters; the text length (code points) is the honest
        // figure for character budgets.
        usageCharacters: [...req.text].length,
        traceId: answer.requestId,
      };
    },
  };
}
