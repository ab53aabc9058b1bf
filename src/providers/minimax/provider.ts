import { MINIMAX_LIMITS } from "../../speech/models.ts";
import type {
  AsyncTtsApi,
  CallOptions,
  SpeechRequest,
  StreamSummary,
  SynthesisResult,
  TtsProvider,
  VoiceDesignApi,
  VoiceInfo,
} from "../../speech/types.ts";
import type { MiniMaxClient } from "./client.ts";

/** What the provider needs of the client (a narrower type keeps provider tests free of HTTP). */
export type MiniMaxApi = Pick<
  MiniMaxClient,
  | "synthesize"
  | "stream"
  | "createAsyncTask"
  | "queryAsyncTask"
  | "fetchAsyncResult"
  | "uploadFile"
  | "getVoices"
  | "designVoice"
  | "deleteVoice"
>;

export interface MiniMaxProviderDefaults {
  /** How sync audio travels: inline hex (default) or a signed URL downloaded afterwards. */
  outputFormat?: "hex" | "url";
}

/** MiniMax's documented defaults when neither the answer nor the request says. */
const DEFAULT_SAMPLE_RATE = 32_000;
const DEFAULT_CHANNELS = 1;

export type MiniMaxProvider = TtsProvider & {
  readonly name: "minimax";
  readonly async: AsyncTtsApi;
  readonly voiceDesign: VoiceDesignApi;
  stream(req: SpeechRequest, opts?: CallOptions): AsyncGenerator<Buffer, StreamSummary, void>;
  listVoices(opts?: CallOptions): Promise<VoiceInfo[]>;
};

export function createMiniMaxProvider(
  client: MiniMaxApi,
  defaults: MiniMaxProviderDefaults = {},
): MiniMaxProvider {
  const asyncApi: AsyncTtsApi = {
    async uploadText(content, filename, opts) {
      const file = await client.uploadFile(content, filename, "t2a_async_input", opts);
      return file.fileId;
    },
    createTask: (input, settings, opts) => client.createAsyncTask(input, settings, opts),
    queryTask: (taskId, opts) => client.queryAsyncTask(taskId, opts),
    fetchResult: (fileId, opts) => client.fetchAsyncResult(fileId, opts),
  };

  const voiceDesign: VoiceDesignApi = {
    design: (input, opts) => client.designVoice(input, opts),
    async delete(voiceId, opts) {
      await client.deleteVoice("voice_generation", voiceId, opts);
    },
  };

  return {
    name: "minimax",
    capabilities: {
      stream: true,
      async: true,
      voices: true,
      maxSyncChars: MINIMAX_LIMITS.syncMaxChars,
      voiceDesign: true,
    },
    async: asyncApi,
    voiceDesign,

    async synthesize(req, opts): Promise<SynthesisResult> {
      const out = await client.synthesize(req, { ...opts, outputFormat: defaults.outputFormat ?? "hex" });
      const info = out.extraInfo;
      const channels = info?.audio_channel ?? req.channels ?? DEFAULT_CHANNELS;
      return {
        audio: out.audio,
        format: req.format,
        sampleRate: info?.audio_sample_rate ?? req.sampleRate ?? DEFAULT_SAMPLE_RATE,
        channels: channels === 2 ? 2 : 1,
        durationMs: info?.audio_length ?? undefined,
        usageCharacters: info?.usage_characters ?? undefined,
        traceId: out.traceId,
      };
    },

    stream: (req, opts) => client.stream(req, opts),
    listVoices: (opts) => client.getVoices("all", opts),
  };
}
