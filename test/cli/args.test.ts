import { describe, expect, it } from "vitest";
import { parseSpeakArgs } from "../../src/cli/args.ts";

const defaults = { model: "speech-2.5-turbo-preview", voice: "Wise_Woman" };

describe("parseSpeakArgs", () => {
  it("maps every flag onto the speech settings", () => {
    const r = parseSpeakArgs(
      [
        "--text",
        "Hello there",
        "--out",
        "x.wav",
        "--voice",
        "Calm_Woman",
        "--model",
        "speech-2.6-hd",
        "--speed",
        "1.25",
        "--pitch",
        "-3",
        "--volume",
        "2.5",
        "--emotion",
        "whisper",
        "--language",
        "English",
        "--format",
        "wav",
        "--sample-rate",
        "24000",
        "--bitrate",
        "64000",
        "--channels",
        "2",
        "--effect",
        "robotic",
      ],
      defaults,
    );
    expect(r).toEqual({
      ok: true,
      args: {
        help: false,
        input: { kind: "text", text: "Hello there" },
        out: "x.wav",
        mode: "auto",
        settings: {
          model: "speech-2.6-hd",
          voiceId: "Calm_Woman",
          speed: 1.25,
          pitch: -3,
          volume: 2.5,
          emotion: "whisper",
          languageBoost: "English",
          soundEffect: "robotic",
          format: "wav",
          sampleRate: 24000,
          bitrate: 64000,
          channels: 2,
        },
      },
    });
  });

  it("uses configured defaults and derives the output name from the format", () => {
    const r = parseSpeakArgs(["--text", "hi", "--format", "flac", "--stream"], defaults);
    if (!r.ok) throw new Error(r.error);
    expect(r.args.settings.model).toBe(defaults.model);
    expect(r.args.settings.voiceId).toBe(defaults.voice);
    expect(r.args.out).toBe("speech.flac");
    expect(r.args.mode).toBe("stream");
  });

  it.each([
    [["--out", "x.mp3"], /--text or --file is required/],
    [["--text", "a", "--file", "b.txt"], /either --text or --file/],
    [["--text", "   "], /--text is empty/],
    [["--text", "a", "--speed", "3"], /--speed \(0.5 to 2\)/],
    [["--text", "a", "--speed", "fast"], /--speed must be a number/],
    [["--text", "a", "--pitch", "1.5"], /--pitch \(whole number/],
    [["--text", "a", "--volume", "0"], /--volume/],
    [["--text", "a", "--sample-rate", "48000"], /--sample-rate/],
    [["--text", "a", "--channels", "3"], /--channels/],
    [["--text", "a", "--format", "ogg"], /--format "ogg"/],
    [["--text", "a", "--emotion", "bored"], /--emotion "bored"/],
    [["--text", "a", "--language", "Klingon"], /--language "Klingon"/],
    [["--text", "a", "--effect", "reverb"], /--effect "reverb"/],
    [["--text", "a", "--stream", "--async"], /cannot be combined/],
    [["--text", "a", "--colour", "red"], /Unknown option '--colour'/],
    [["--text"], /argument missing/],
  ])("refuses %j", (argv, message) => {
    const r = parseSpeakArgs(argv as string[], defaults);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(message);
  });

  it("collects several problems into one message", () => {
    const r = parseSpeakArgs(["--text", "a", "--speed", "9", "--emotion", "bored"], defaults);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.split("\n")).toHaveLength(2);
  });
});
