import { describe, expect, it } from "vitest";
import { buildApiUrl } from "../../../src/providers/minimax/http.ts";
import {
  countChars,
  fileIdToWire,
  toAsyncBody,
  toSyncBody,
} from "../../../src/providers/minimax/request-body.ts";
import { UnsupportedOptionError } from "../../../src/speech/errors.ts";
import type { SpeechRequest, SpeechSettings } from "../../../src/speech/types.ts";

const settings = (over: Partial<SpeechSettings> = {}): SpeechSettings => ({
  model: "speech-2.6-hd",
  voiceId: "Wise_Woman",
  format: "mp3",
  ...over,
});
const request = (over: Partial<SpeechRequest> = {}): SpeechRequest => ({
  ...settings(),
  text: "Hello there.",
  ...over,
});

function refusal(fn: () => unknown): UnsupportedOptionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsupportedOptionError);
    return err as UnsupportedOptionError;
  }
  throw new Error("expected an UnsupportedOptionError");
}

describe("toSyncBody", () => {
  it("sends only what was set: the minimal body", () => {
    expect(toSyncBody(request(), { stream: false, outputFormat: "hex" })).toEqual({
      model: "speech-2.6-hd",
      text: "Hello there.",
      stream: false,
      output_format: "hex",
      voice_setting: { voice_id: "Wise_Woman" },
      audio_setting: { format: "mp3" },
    });
  });

  it("maps every option to its sync wire name", () => {
    const body = toSyncBody(
      request({
        speed: 1.5,
        volume: 2,
        pitch: -3,
        emotion: "happy",
        languageBoost: "English",
        soundEffect: "robotic",
        sampleRate: 44100,
        bitrate: 256000,
        channels: 2,
        pronunciation: ["omg/oh my god"],
        textNormalization: true,
      }),
      { stream: false, outputFormat: "url" },
    );
    expect(body).toEqual({
      model: "speech-2.6-hd",
      text: "Hello there.",
      stream: false,
      output_format: "url",
      voice_setting: {
        voice_id: "Wise_Woman",
        speed: 1.5,
        vol: 2,
        pitch: -3,
        emotion: "happy",
        text_normalization: true,
      },
      audio_setting: { format: "mp3", sample_rate: 44100, bitrate: 256000, channel: 2 },
      language_boost: "English",
      voice_modify: { sound_effects: "robotic" },
      pronunciation_dict: { tone: ["omg/oh my god"] },
    });
  });

  it("streams hex without output_format and asks for no aggregated repeat", () => {
    const body = toSyncBody(request(), { stream: true, outputFormat: "url" });
    expect(body.stream).toBe(true);
    expect(body.stream_options).toEqual({ exclude_aggregated_audio: true });
    expect(body).not.toHaveProperty("output_format");
  });

  it("can leave the aggregated repeat on when asked", () => {
    expect(toSyncBody(request(), { stream: true, excludeAggregated: false })).not.toHaveProperty(
      "stream_options",
    );
  });

  it("sends no stream_options when not streaming", () => {
    expect(toSyncBody(request(), { stream: false })).not.toHaveProperty("stream_options");
  });

  it("maps neutral to calm", () => {
    expect(toSyncBody(request({ emotion: "neutral" }), { stream: false }).voice_setting.emotion).toBe("calm");
  });

  it("drops bitrate for formats other than mp3", () => {
    const body = toSyncBody(request({ format: "flac", bitrate: 64000 }), { stream: false });
    expect(body.audio_setting).toEqual({ format: "flac" });
  });

  it("does not send an empty pronunciation dictionary", () => {
    expect(toSyncBody(request({ pronunciation: [] }), { stream: false })).not.toHaveProperty(
      "pronunciation_dict",
    );
  });

  describe("emotion per model", () => {
    it.each([
      ["speech-2.6-hd", "whisper", true],
      ["speech-2.6-turbo", "fluent", true],
      ["speech-2.8-hd", "whisper", false],
      ["speech-2.8-turbo", "fluent", false],
      ["speech-2.8-hd", "calm", true],
      ["speech-02-hd", "whisper", false],
      ["speech-01-turbo", "sad", true],
      ["speech-2.5-turbo-preview", "whisper", false],
      ["speech-2.5-hd-preview", "neutral", true],
    ] as const)("%s with %s → allowed: %s", (model, emotion, allowed) => {
      const build = () => toSyncBody(request({ model, emotion }), { stream: false });
      if (allowed) {
        expect(build().voice_setting.emotion).toBe(emotion === "neutral" ? "calm" : emotion);
      } else {
        const err = refusal(build);
        expect(err.option).toBe("emotion");
        expect(err.message).toContain(emotion);
        expect(err.message).toContain(model);
        expect(err.message).toContain("happy");
      }
    });
  });

  describe("language boost per model", () => {
    it.each([
      ["speech-02-hd", "Persian", false],
      ["speech-01-hd", "Tamil", false],
      ["speech-02-turbo", "Filipino", false],
      ["speech-02-turbo", "English", true],
      ["speech-2.6-hd", "Persian", true],
      ["speech-2.8-turbo", "Tamil", true],
    ] as const)("%s with %s → allowed: %s", (model, languageBoost, allowed) => {
      const build = () => toSyncBody(request({ model, languageBoost }), { stream: false });
      if (allowed) expect(build().language_boost).toBe(languageBoost);
      else {
        const err = refusal(build);
        expect(err.option).toBe("languageBoost");
        expect(err.message).toContain(languageBoost);
        expect(err.message).toContain(model);
      }
    });
  });

  describe("format and effect per mode", () => {
    it.each([
      [false, "wav", undefined, true],
      [true, "wav", undefined, false],
      [true, "pcm", undefined, true],
      [false, "wav", "robotic", true],
      [false, "pcm", "robotic", false],
      [true, "flac", "spacious_echo", false],
      [true, "mp3", "spacious_echo", true],
    ] as const)("stream %s, %s, effect %s → allowed: %s", (stream, format, soundEffect, allowed) => {
      const build = () => toSyncBody(request({ format, soundEffect }), { stream });
      if (allowed) {
        const body = build();
        expect(body.audio_setting.format).toBe(format);
        if (soundEffect) expect(body.voice_modify).toEqual({ sound_effects: soundEffect });
      } else {
        const err = refusal(build);
        expect(err.option).toBe(soundEffect ? "soundEffect" : "format");
        expect(err.message).toContain(format);
        expect(err.message).toMatch(/mp3/);
      }
    });
  });

  describe("text length", () => {
    it("accepts 9,999 characters and refuses 10,000", () => {
      expect(() => toSyncBody(request({ text: "a".repeat(9_999) }), { stream: false })).not.toThrow();
      const err = refusal(() => toSyncBody(request({ text: "a".repeat(10_000) }), { stream: true }));
      expect(err.option).toBe("text");
      expect(err.message).toMatch(/10000 characters.*9999/);
    });

    it("counts characters, not UTF-16 units", () => {
      const emoji = "😀".repeat(9_999);
      expect(emoji.length).toBe(19_998);
      expect(countChars(emoji)).toBe(9_999);
      expect(() => toSyncBody(request({ text: emoji }), { stream: false })).not.toThrow();
    });

    it("refuses empty text", () => {
      expect(refusal(() => toSyncBody(request({ text: "  \n" }), { stream: false })).option).toBe("text");
    });
  });

  it("rephrases out-of-range settings as an option error", () => {
    const err = refusal(() => toSyncBody(request({ speed: 3 }), { stream: false }));
    expect(err.option).toBe("speed");
    expect(err.message).toContain("3");
  });
});

describe("toAsyncBody", () => {
  it("uses the async field names", () => {
    const body = toAsyncBody(
      { text: "Long story." },
      settings({ sampleRate: 24000, textNormalization: false, emotion: "sad", channels: 2 }),
    );
    expect(body).toEqual({
      model: "speech-2.6-hd",
      text: "Long story.",
      voice_setting: { voice_id: "Wise_Woman", emotion: "sad", english_normalization: false },
      audio_setting: { format: "mp3", audio_sample_rate: 24000, channel: 2 },
    });
    expect(body.audio_setting).not.toHaveProperty("sample_rate");
    expect(body.voice_setting).not.toHaveProperty("text_normalization");
    expect(body).not.toHaveProperty("stream");
    expect(body).not.toHaveProperty("output_format");
  });

  it("states mono explicitly, since the async default is ambiguous", () => {
    expect(toAsyncBody({ text: "x" }, settings()).audio_setting.channel).toBe(1);
  });

  it("sends text_file_id as a JSON integer", () => {
    const body = toAsyncBody({ fileId: "95157322514444" }, settings());
    expect(body.text_file_id).toBe(95157322514444);
    expect(JSON.stringify(body)).toContain('"text_file_id":95157322514444');
    expect(body).not.toHaveProperty("text");
  });

  it.each(["9007199254740993", "12a", "", "-5", "1.5"])("refuses file id %j", (fileId) => {
    expect(refusal(() => toAsyncBody({ fileId }, settings())).option).toBe("fileId");
  });

  it("accepts 50,000 characters and refuses more", () => {
    expect(() => toAsyncBody({ text: "b".repeat(50_000) }, settings())).not.toThrow();
    expect(refusal(() => toAsyncBody({ text: "b".repeat(50_001) }, settings())).option).toBe("text");
  });

  it.each([
    ["wav", undefined, "format"],
    ["pcm", "robotic", "soundEffect"],
  ] as const)("refuses %s (effect %s) for async", (format, soundEffect, option) => {
    expect(refusal(() => toAsyncBody({ text: "x" }, settings({ format, soundEffect }))).option).toBe(option);
  });

  it("accepts an effect on flac", () => {
    expect(
      toAsyncBody({ text: "x" }, settings({ format: "flac", soundEffect: "lofi_telephone" })).voice_modify,
    ).toEqual({
      sound_effects: "lofi_telephone",
    });
  });
});

describe("fileIdToWire", () => {
  it("keeps the largest safe integer exact", () => {
    expect(fileIdToWire(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe("buildApiUrl (GroupId rules)", () => {
  it.each([
    ["https://api.minimax.io", undefined, "https://api.minimax.io/v1/t2a_v2"],
    ["https://api.minimax.io", "", "https://api.minimax.io/v1/t2a_v2"],
    ["https://api.minimax.io", "   ", "https://api.minimax.io/v1/t2a_v2"],
    ["https://api.minimax.io", "1234", "https://api.minimax.io/v1/t2a_v2?GroupId=1234"],
    ["https://api.minimax.io/", "g", "https://api.minimax.io/v1/t2a_v2?GroupId=g"],
    ["http://127.0.0.1:8080/proxy/", undefined, "http://127.0.0.1:8080/proxy/v1/t2a_v2"],
  ])("%s with GroupId %j → %s", (base, groupId, expected) => {
    expect(buildApiUrl(base, "/v1/t2a_v2", {}, groupId).href).toBe(expected);
  });

  it("adds GroupId after the route's own query", () => {
    expect(buildApiUrl("https://api.minimax.io", "/v1/files/retrieve", { file_id: "42" }, "g").href).toBe(
      "https://api.minimax.io/v1/files/retrieve?file_id=42&GroupId=g",
    );
  });
});
