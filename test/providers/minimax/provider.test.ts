import { describe, expect, it, vi } from "vitest";
import type { MiniMaxApi } from "../../../src/providers/minimax/provider.ts";
import { createMiniMaxProvider } from "../../../src/providers/minimax/provider.ts";
import type { SpeechRequest } from "../../../src/speech/types.ts";

const REQ: SpeechRequest = { model: "speech-2.8-hd", voiceId: "Wise_Woman", format: "pcm", text: "Hi" };

function fakeApi(over: Partial<MiniMaxApi> = {}): MiniMaxApi {
  const unused = () => {
    throw new Error("not used here");
  };
  return {
    synthesize: vi.fn(async () => ({
      audio: Buffer.from([1, 2]),
      extraInfo: undefined,
      traceId: "t",
      audioUrl: undefined,
      subtitleFileUrl: undefined,
    })),
    stream: unused,
    createAsyncTask: unused,
    queryAsyncTask: unused,
    fetchAsyncResult: unused,
    uploadFile: unused,
    getVoices: unused,
    designVoice: unused,
    deleteVoice: unused,
    ...over,
  };
}

describe("createMiniMaxProvider", () => {
  it("declares what MiniMax can do", () => {
    const provider = createMiniMaxProvider(fakeApi());
    expect(provider.name).toBe("minimax");
    expect(provider.capabilities).toEqual({
      stream: true,
      async: true,
      voices: true,
      maxSyncChars: 9999,
      voiceDesign: true,
    });
    expect(provider.async).toBeDefined();
    expect(provider.voiceDesign).toBeDefined();
  });

  it("reports the audio shape from extra_info first", async () => {
    const api = fakeApi({
      synthesize: vi.fn(async () => ({
        audio: Buffer.from([1]),
        extraInfo: { audio_length: 900, audio_sample_rate: 24000, audio_channel: 2, usage_characters: 2 },
        traceId: "trace",
        audioUrl: undefined,
        subtitleFileUrl: undefined,
      })),
    });
    const result = await createMiniMaxProvider(api).synthesize({ ...REQ, sampleRate: 16000, channels: 1 });
    expect(result).toEqual({
      audio: Buffer.from([1]),
      format: "pcm",
      sampleRate: 24000,
      channels: 2,
      durationMs: 900,
      usageCharacters: 2,
      traceId: "trace",
    });
  });

  it("falls back to the request, then to MiniMax's defaults (32 kHz mono)", async () => {
    const provider = createMiniMaxProvider(fakeApi());
    expect(await provider.synthesize({ ...REQ, sampleRate: 16000, channels: 2 })).toMatchObject({
      sampleRate: 16000,
      channels: 2,
      durationMs: undefined,
    });
    expect(await provider.synthesize(REQ)).toMatchObject({ sampleRate: 32000, channels: 1 });
  });

  it("uses the configured output format and passes the signal through", async () => {
    const api = fakeApi();
    const signal = new AbortController().signal;
    await createMiniMaxProvider(api, { outputFormat: "url" }).synthesize(REQ, { signal });
    expect(api.synthesize).toHaveBeenCalledWith(REQ, { signal, outputFormat: "url" });
  });

  it("uploads async input with the t2a_async_input purpose and returns the file id", async () => {
    const uploadFile = vi.fn(async () => ({
      fileId: "55",
      bytes: 3,
      createdAt: undefined,
      filename: "a.txt",
      purpose: "t2a_async_input",
      downloadUrl: undefined,
    }));
    const provider = createMiniMaxProvider(fakeApi({ uploadFile }));
    await expect(provider.async.uploadText(Buffer.from("abc"), "a.txt")).resolves.toBe("55");
    expect(uploadFile).toHaveBeenCalledWith(Buffer.from("abc"), "a.txt", "t2a_async_input", undefined);
  });
});
