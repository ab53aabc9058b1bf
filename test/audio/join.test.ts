import { describe, expect, it } from "vitest";
import { joinAudio } from "../../src/audio/join.ts";
import { mp3Info } from "../../src/audio/mp3.ts";
import { parseWav } from "../../src/audio/wav.ts";
import { encodeAudio, synthPcm } from "../fakes/audio/tone.ts";

const shape = { sampleRate: 24000, channels: 1 };
const pcm = (ms: number, hz: number) => synthPcm({ durationMs: ms, frequency: hz, ...shape });

describe("joinAudio", () => {
  it("joins mp3 clips frame by frame: the frames of all, in order", () => {
    const a = encodeAudio(pcm(400, 220), { format: "mp3", ...shape });
    const b = encodeAudio(pcm(600, 440), { format: "mp3", ...shape });
    const joined = joinAudio([a, b], "mp3");
    expect(mp3Info(joined).frames).toBe(mp3Info(a).frames + mp3Info(b).frames);
  });

  it("joins wav clips sample by sample under one header", () => {
    const a = encodeAudio(pcm(100, 220), { format: "wav", ...shape });
    const b = encodeAudio(pcm(200, 440), { format: "wav", ...shape });
    const joined = parseWav(joinAudio([a, b], "wav"));
    expect(joined.data).toEqual(Buffer.concat([parseWav(a).data, parseWav(b).data]));
  });

  it("concatenates raw pcm", () => {
    expect(joinAudio([pcm(10, 220), pcm(20, 220)], "pcm")).toEqual(
      Buffer.concat([pcm(10, 220), pcm(20, 220)]),
    );
  });

  it("returns a single clip as it is, refuses flac and nothing", () => {
    const a = pcm(10, 220);
    expect(joinAudio([a], "flac")).toBe(a);
    expect(() => joinAudio([a, a], "flac")).toThrow(/FLAC/);
    expect(() => joinAudio([], "mp3")).toThrow(/nothing to join/);
  });
});
