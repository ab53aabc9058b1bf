import { describe, expect, it } from "vitest";
import { defaultOutName, parseSpeakArgs, type SpeakArgs, speechSettings } from "../../src/cli/args.ts";

const defaults = { model: "speech-2.5-turbo-preview", voice: "Wise_Woman" };

function speakArgs(argv: string[]): SpeakArgs {
  const r = parseSpeakArgs(argv);
  if (!r.ok) throw new Error(r.error);
  if (r.command !== "speak") throw new Error(`parsed as ${r.command}`);
  return r.args;
}

describe("parseSpeakArgs", () => {
  it("maps every flag onto the speech settings", () => {
    const r = parseSpeakArgs([
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
    ]);
    expect(r).toEqual({
      ok: true,
      command: "speak",
      args: {
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

  it("leaves model, voice and the output path to the configuration and the defaults", () => {
    const args = speakArgs(["--text", "hi", "--format", "flac", "--stream"]);
    expect(args.settings.model).toBeUndefined();
    const settings = speechSettings(args, defaults);
    expect(settings.model).toBe(defaults.model);
    expect(settings.voiceId).toBe(defaults.voice);
    expect(settings.format).toBe("flac");
    expect(args.out).toBeUndefined();
    expect(args.mode).toBe("stream");
  });

  it("names the default output file by format and local time", () => {
    const at = new Date(2025, 0, 2, 3, 4, 5);
    expect(defaultOutName("flac", at)).toBe("speech-20250102-030405.flac");
    expect(defaultOutName("mp3", at)).toBe("speech-20250102-030405.mp3");
  });

  it("takes the format from the --out extension when --format is not given", () => {
    expect(speakArgs(["--text", "hi", "--out", "a/b/x.WAV"]).settings.format).toBe("wav");
    expect(speakArgs(["--text", "hi", "--out", "x.flac", "--format", "flac"]).settings.format).toBe("flac");
    expect(speakArgs(["--text", "hi", "--out", "x.pcm"]).settings.format).toBe("pcm");
  });

  it.each([[["--help"]], [["-h"]], [["--text", "x", "--help"]], [["--bogus", "--help"]]])(
    "recognises help in %j",
    (argv) => {
      expect(parseSpeakArgs(argv)).toEqual({ ok: true, command: "help" });
    },
  );

  it("recognises --list-voices, alone", () => {
    expect(parseSpeakArgs(["--list-voices"])).toEqual({ ok: true, command: "list-voices" });
    expect(parseSpeakArgs(["--list-voices", "--text", "x"])).toEqual({
      ok: false,
      error: "--list-voices takes no other options",
    });
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
    [["--text", "a", "--format", "ogg"], /^--format "ogg" must be one of mp3, wav, flac, pcm$/],
    [
      ["--text", "a", "--out", "x.wav", "--format", "mp3"],
      /^--out "x.wav" does not match --format mp3: name it x.mp3, or use --format wav$/,
    ],
    [
      ["--text", "a", "--out", "x.ogg"],
      /^--out "x.ogg" must end in .mp3, .wav, .flac, .pcm \(or name the format with --format\)$/,
    ],
    [
      ["--text", "a", "--out", "x.ogg", "--format", "flac"],
      /^--out "x.ogg" must end in .flac for --format flac$/,
    ],
    [["--text", "a", "--out", "folder/"], /^--out "folder\/" is a folder; give a file name/],
    [["--text", "a", "--out", ""], /^--out is empty$/],
    [["--text", "a", "--voice", ""], /^--voice is empty$/],
    [["--text", "a", "--emotion", "bored"], /--emotion "bored"/],
    [["--text", "a", "--language", "Klingon"], /--language "Klingon"/],
    [["--text", "a", "--effect", "reverb"], /--effect "reverb"/],
    [["--text", "a", "--stream", "--async"], /cannot be combined/],
    [["--text", "a", "--colour", "red"], /^unknown option --colour$/],
    [["--text", "a", "--sped", "1"], /^unknown option --sped \(did you mean --speed\?\)$/],
    [["--text"], /^--text needs a value$/],
    [["--text", "--out", "x.mp3"], /^--text needs a value \(for one starting with "-", write --text=-…\)$/],
    [["--text", "a", "--stream=yes"], /^--stream takes no value$/],
    [["Hello", "there"], /^unexpected argument "Hello": every value follows its flag/],
  ])("refuses %j in one line", (argv, message) => {
    const r = parseSpeakArgs(argv as string[]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toMatch(message);
      expect(r.error).not.toContain("\n");
    }
  });

  it("collects several problems into one line", () => {
    const r = parseSpeakArgs(["--text", "a", "--speed", "9", "--emotion", "bored"]);
    expect(r).toEqual({
      ok: false,
      error: `--emotion "bored" must be one of happy, sad, angry, fearful, disgusted, surprised, calm, fluent, whisper, neutral; --speed (0.5 to 2): invalid value`,
    });
  });
});
