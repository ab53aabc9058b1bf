import { describe, expect, it } from "vitest";
import { aimlWireFormat, toAimlBody } from "../../../src/providers/aimlapi/request-body.ts";
import { AimlTtsBodySchema } from "../../../src/providers/aimlapi/schemas.ts";
import { UnsupportedOptionError } from "../../../src/speech/errors.ts";
import { AIMLAPI_MODELS } from "../../../src/speech/models.ts";
import type { SpeechRequest } from "../../../src/speech/types.ts";

const base: SpeechRequest = {
  model: "speech-2.5-turbo-preview",
  voiceId: "Wise_Woman",
  format: "mp3",
  text: "Hello there.",
};

function unsupported(fn: () => unknown): UnsupportedOptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsupportedOptionError);
    return err as UnsupportedOptionError;
  }
  throw new Error("expected an UnsupportedOptionError");
}

describe("toAimlBody", () => {
  it("minimal request: prefixed model, explicit sample rate and channels, nothing else", () => {
    expect(toAimlBody(base)).toEqual({
      model: "minimax/speech-2.5-turbo-preview",
      text: "Hello there.",
      voice_setting: { voice_id: "Wise_Woman" },
      audio_setting: { sample_rate: 32000, format: "mp3", channel: 1 },
    });
  });

  it("maps every option", () => {
    const body = toAimlBody({
      ...base,
      model: "speech-2.8-hd",
      speed: 1.5,
      pitch: -3,
      volume: 2,
      emotion: "happy",
      languageBoost: "Chinese,Yue",
      soundEffect: "robotic",
      sampleRate: 44100,
      bitrate: 256000,
      channels: 2,
      pronunciation: ["omg/oh my god"],
      textNormalization: true,
    });
    expect(body).toEqual({
      model: "minimax/speech-2.8-hd",
      text: "Hello there.",
      voice_setting: {
        voice_id: "Wise_Woman",
        speed: 1.5,
        vol: 2,
        pitch: -3,
        emotion: "happy",
        text_normalization: true,
      },
      audio_setting: { sample_rate: 44100, bitrate: 256000, format: "mp3", channel: 2 },
      language_boost: "Chinese,Yue",
      voice_modify: { sound_effects: "robotic" },
      pronunciation_dict: { tone: ["omg/oh my god"] },
    });
    expect(AimlTtsBodySchema.parse(body)).toEqual(body);
  });

  it.each(AIMLAPI_MODELS)("accepts %s (bare or already prefixed)", (model) => {
    expect(toAimlBody({ ...base, model }).model).toBe(`minimax/${model}`);
    expect(toAimlBody({ ...base, model: `minimax/${model}` }).model).toBe(`minimax/${model}`);
  });

  it.each(["speech-02-hd", "speech-01-turbo", "speech-2.8", "openai/tts-1"])(
    "refuses model %s, listing the six",
    (model) => {
      const err = unsupported(() => toAimlBody({ ...base, model }));
      expect(err.option).toBe("model");
      expect(err.provider).toBe("aimlapi");
      for (const m of AIMLAPI_MODELS) expect(err.message).toContain(m);
    },
  );

  it.each([
    ["calm", "neutral"],
    ["neutral", "neutral"],
    ["happy", "happy"],
    ["sad", "sad"],
    ["angry", "angry"],
    ["fearful", "fearful"],
    ["disgusted", "disgusted"],
    ["surprised", "surprised"],
  ] as const)("emotion %s → %s", (emotion, wire) => {
    expect(toAimlBody({ ...base, emotion }).voice_setting.emotion).toBe(wire);
  });

  it.each(["fluent", "whisper"] as const)("refuses emotion %s", (emotion) => {
    const err = unsupported(() => toAimlBody({ ...base, model: "speech-2.6-hd", emotion }));
    expect(err.option).toBe("emotion");
    expect(err.message).toContain(emotion);
  });

  it.each([
    ["mp3", "mp3"],
    ["pcm", "pcm"],
    ["flac", "flac"],
    ["wav", "pcm"],
  ] as const)("format %s goes on the wire as %s", (format, wire) => {
    expect(aimlWireFormat(format)).toBe(wire);
    expect(toAimlBody({ ...base, format }).audio_setting.format).toBe(wire);
  });

  it("sends the bitrate for mp3 only", () => {
    expect(toAimlBody({ ...base, bitrate: 64000 }).audio_setting.bitrate).toBe(64000);
    expect(toAimlBody({ ...base, format: "flac", bitrate: 64000 }).audio_setting).not.toHaveProperty(
      "bitrate",
    );
    expect(toAimlBody({ ...base, format: "wav", bitrate: 64000 }).audio_setting).not.toHaveProperty(
      "bitrate",
    );
  });

  it("keeps a wav request's sample rate and channels (the provider wraps the PCM with them)", () => {
    expect(toAimlBody({ ...base, format: "wav", sampleRate: 16000, channels: 2 }).audio_setting).toEqual({
      sample_rate: 16000,
      format: "pcm",
      channel: 2,
    });
  });

  it("refuses sound effects on pcm and wav (MiniMax applies them to mp3/wav/flac, and wav is pcm here)", () => {
    expect(unsupported(() => toAimlBody({ ...base, format: "pcm", soundEffect: "robotic" })).option).toBe(
      "soundEffect",
    );
    expect(unsupported(() => toAimlBody({ ...base, format: "wav", soundEffect: "robotic" })).option).toBe(
      "soundEffect",
    );
    expect(toAimlBody({ ...base, format: "flac", soundEffect: "robotic" }).voice_modify).toEqual({
      sound_effects: "robotic",
    });
  });

  it("raises a tiny volume to the gateway's minimum", () => {
    expect(toAimlBody({ ...base, volume: 0.001 }).voice_setting.vol).toBe(0.01);
  });

  it.each([
    ["empty text", { text: "" }, "text"],
    ["blank text", { text: "  \n" }, "text"],
    ["text over 5000 characters", { text: "a".repeat(5001) }, "text"],
    ["voice id over 64 characters", { voiceId: "v".repeat(65) }, "voice"],
  ])("refuses %s", (_name, patch, option) => {
    expect(unsupported(() => toAimlBody({ ...base, ...patch })).option).toBe(option);
  });

  it("takes exactly 5000 characters", () => {
    expect(toAimlBody({ ...base, text: "a".repeat(5000) }).text).toHaveLength(5000);
  });

  it("leaves out an empty pronunciation list and never asks for streaming", () => {
    const body = toAimlBody({ ...base, pronunciation: [] });
    expect(body).not.toHaveProperty("pronunciation_dict");
    expect(body).not.toHaveProperty("stream");
    expect(body).not.toHaveProperty("subtitle_enable");
  });

  it("every body it builds passes the gateway's published schema", () => {
    const formats = ["mp3", "wav", "pcm", "flac"] as const;
    for (const model of AIMLAPI_MODELS) {
      for (const format of formats) {
        const body = toAimlBody({
          ...base,
          model,
          format,
          speed: 0.5,
          pitch: 12,
          volume: 10,
          sampleRate: 8000,
        });
        expect(AimlTtsBodySchema.safeParse(body).success).toBe(true);
      }
    }
  });
});
