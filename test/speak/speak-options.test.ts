import { describe, expect, it } from "vitest";
import type { VoiceDefaults } from "../../src/settings/voice-defaults.ts";
import { planSpeech, type SpeakOptions } from "../../src/speak/speak-options.ts";
import { UserFacingError } from "../../src/user-facing-error.ts";

const config = { model: "speech-2.5-turbo-preview", voice: "Wise_Woman" };

describe("planSpeech", () => {
  it.each<
    [string, SpeakOptions, VoiceDefaults | undefined, VoiceDefaults | undefined, Record<string, unknown>]
  >([
    [
      "config defaults only",
      { text: "hi" },
      undefined,
      undefined,
      { model: config.model, voiceId: "Wise_Woman", format: "mp3" },
    ],
    [
      "every option given",
      {
        text: " hello ",
        voice: "Calm_Woman",
        model: "speech-2.6-hd",
        speed: 1.5,
        pitch: -3,
        volume: 2,
        emotion: "whisper",
        language: "English",
        effect: "robotic",
        format: "wav",
      },
      undefined,
      undefined,
      {
        text: "hello",
        voiceId: "Calm_Woman",
        model: "speech-2.6-hd",
        speed: 1.5,
        pitch: -3,
        volume: 2,
        emotion: "whisper",
        languageBoost: "English",
        soundEffect: "robotic",
        format: "wav",
      },
    ],
    [
      "user defaults fill what the options leave out",
      { text: "hi", speed: 0.8 },
      { voice: "Deep_Voice_Man", speed: 1.2, pitch: 2, language: "German" },
      undefined,
      { voiceId: "Deep_Voice_Man", speed: 0.8, pitch: 2, languageBoost: "German" },
    ],
    [
      "guild defaults come after the user's",
      { text: "hi" },
      { voice: "Lively_Girl" },
      { voice: "Patient_Man", model: "speech-2.6-turbo", pitch: -1 },
      { voiceId: "Lively_Girl", model: "speech-2.6-turbo", pitch: -1 },
    ],
    [
      "a saved emotion the model cannot do is dropped",
      { text: "hi", model: "speech-2.8-hd" },
      { emotion: "whisper" },
      undefined,
      { model: "speech-2.8-hd", emotion: undefined },
    ],
    ["a saved emotion that fits is used", { text: "hi" }, undefined, { emotion: "sad" }, { emotion: "sad" }],
    [
      "voice messages ask for 24 kHz mono PCM",
      { text: "hi", format: "voice" },
      undefined,
      undefined,
      { format: "pcm", sampleRate: 24000, channels: 1 },
    ],
  ])("%s", (_name, options, user, guild, expected) => {
    const plan = planSpeech({ options, user, guild, config });
    for (const [key, value] of Object.entries(expected)) {
      expect(plan.request[key as keyof typeof plan.request], key).toEqual(value);
    }
    expect(Object.values(plan.request)).not.toContain(undefined);
  });

  it("carries delivery flags", () => {
    expect(
      planSpeech({ options: { text: "x", format: "voice", private: true, play: true }, config }),
    ).toMatchObject({
      voiceMessage: true,
      ephemeral: true,
      play: true,
    });
    expect(planSpeech({ options: { text: "x" }, config })).toMatchObject({
      voiceMessage: false,
      ephemeral: false,
      play: false,
    });
  });

  it.each<[string, SpeakOptions, RegExp]>([
    ["empty text", { text: "   " }, /nothing to say/],
    ["text over 6000 characters", { text: "a".repeat(6001) }, /6001 characters; \/speak takes at most 6000/],
    [
      "emotion the model lacks",
      { text: "x", model: "speech-2.8-turbo", emotion: "whisper" },
      /"whisper" does not work with speech-2.8-turbo/,
    ],
    [
      "fluent outside 2.6",
      { text: "x", emotion: "fluent" },
      /"fluent" does not work with speech-2.5-turbo-preview/,
    ],
  ])("refuses %s", (_name, options, message) => {
    expect(() => planSpeech({ options, config })).toThrow(UserFacingError);
    expect(() => planSpeech({ options, config })).toThrow(message);
  });
});
