import { describe, expect, it } from "vitest";
import { buildResultFiles, creditText, formatDuration, slugify } from "../../src/jobs/result-files.ts";
import { encodeAudio, mp3FrameOffsets, synthPcm } from "../fakes/index.ts";

describe("result files", () => {
  it("slugs titles to ASCII file names", () => {
    expect(slugify("Chapter One: Ça va?")).toBe("chapter-one-ca-va");
    expect(slugify("第一章")).toBe("narration");
    expect(slugify(undefined)).toBe("narration");
    expect(slugify("a".repeat(100))).toHaveLength(48);
  });

  it("splits mp3 over the upload limit at frame boundaries and numbers the parts", () => {
    const spec = { sampleRate: 32000, channels: 1 };
    const pcm = synthPcm({ ...spec, durationMs: 20_000, frequency: 440 });
    const mp3 = encodeAudio(pcm, { ...spec, format: "mp3", bitrate: 128000 });
    const limit = Math.ceil(mp3.length / 2.5);
    const { files, durationMs } = buildResultFiles(
      { title: "Long Read" },
      [
        {
          audio: mp3,
          format: "mp3",
          subtitles: [{ text: "Hi.", time_begin: 0, time_end: 900 }],
          durationMs: 20_000,
        },
      ],
      limit,
    );
    expect(files.map((f) => f.name)).toEqual([
      "long-read-part1of3.mp3",
      "long-read-part2of3.mp3",
      "long-read-part3of3.mp3",
      "long-read.srt",
    ]);
    expect(Buffer.concat(files.slice(0, 3).map((f) => f.data)).equals(mp3)).toBe(true);
    for (const f of files.slice(0, 3)) {
      expect(f.data.length).toBeLessThanOrEqual(limit);
      expect(mp3FrameOffsets(f.data)[0]).toBe(0);
    }
    expect(durationMs).toBe(20_000);
  });

  it("numbers several pieces and leaves out empty subtitles", () => {
    const piece = { audio: Buffer.alloc(10), format: "pcm", subtitles: [], durationMs: 1000 };
    const { files, durationMs } = buildResultFiles({ title: undefined }, [piece, piece], 1 << 20);
    expect(files.map((f) => f.name)).toEqual(["narration-1.pcm", "narration-2.pcm"]);
    expect(durationMs).toBe(2000);
  });

  it("credits the requester without letting the title ping or format", () => {
    const text = creditText(
      { title: "@everyone *bold*", requesterId: "42", chars: 12345, usageCharacters: undefined },
      3_725_000,
    );
    expect(text).toContain("<@42>");
    expect(text).toContain("@\u200beveryone \\*bold\\*");
    expect(text).toContain("1:02:05 · 12,345 characters");
    expect(formatDuration(65_000)).toBe("1:05");
  });
});
