import { describe, expect, it } from "vitest";
import { mp3Frames, mp3Info } from "../../src/audio/mp3.ts";
import { parseWav } from "../../src/audio/wav.ts";
import { chooseMp3Bitrate, groupForMessages, splitToFit } from "../../src/speak/fit-attachments.ts";
import { encodeAudio, synthPcm } from "../fakes/index.ts";

const pcm = synthPcm({ durationMs: 3000, sampleRate: 16000, channels: 1, frequency: 440 });
const mp3 = encodeAudio(pcm, { format: "mp3", sampleRate: 16000, channels: 1, bitrate: 64000 });
const wav = encodeAudio(pcm, { format: "wav", sampleRate: 16000, channels: 1 });

describe("chooseMp3Bitrate", () => {
  it.each([
    // chars, speed, requested, limit → bitrate
    [100, 1, undefined, 10 * 1024 * 1024, 128000],
    [100, 1, 256000, 10 * 1024 * 1024, 256000],
    [6000, 1, 256000, 10 * 1024 * 1024, 128000],
    [6000, 0.5, 128000, 10 * 1024 * 1024, 64000],
    [6000, 0.5, 128000, 1024 * 1024, 32000],
    [10, 1, 64000, 10 * 1024 * 1024, 64000],
  ])("%i chars at speed %s (asked %s, limit %i) → %i", (chars, speed, requested, limitBytes, expected) => {
    expect(chooseMp3Bitrate({ chars, speed, requested: requested as 128000 | undefined, limitBytes })).toBe(
      expected,
    );
  });
});

describe("splitToFit", () => {
  it("keeps a file that fits whole", () => {
    expect(splitToFit(mp3, "mp3", mp3.length * 2, "speech")).toEqual([
      { name: "speech.mp3", data: mp3, contentType: "audio/mpeg" },
    ]);
  });

  it("splits mp3 into numbered parts under the limit that concatenate to the original (no Info frame)", () => {
    const limit = Math.ceil(mp3.length / 3);
    const parts = splitToFit(mp3, "mp3", limit, "speech");
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.map((p) => p.name)).toEqual(parts.map((_, i) => `speech-part${i + 1}of${parts.length}.mp3`));
    for (const p of parts) expect(p.data.length).toBeLessThanOrEqual(limit);
    expect(Buffer.concat(parts.map((p) => p.data))).toEqual(mp3);
  });

  it("gives part one an Info frame of its own and the other parts none", () => {
    // An Info frame as encoders write it: the first frame's header, side information left at zero,
    // then "Info", flags (frame count and byte count present) and the whole file's counts.
    const first = mp3Frames(mp3)[0]!;
    const info = Buffer.alloc(first.frameBytes);
    mp3.copy(info, 0, first.offset, first.offset + 4);
    const at = 4 + 9; // MPEG-2 mono side information
    info.write("Info", at, "latin1");
    info.writeUInt32BE(0x3, at + 4);
    info.writeUInt32BE(mp3Info(mp3).frames, at + 8);
    info.writeUInt32BE(info.length + mp3.length, at + 12);
    const file = Buffer.concat([info, mp3]);

    const limit = Math.ceil(file.length / 3);
    const parts = splitToFit(file, "mp3", limit, "speech").map((p) => p.data);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(limit);
    const partOne = mp3Frames(parts[0]!);
    expect(partOne[0]!.infoTag).toBe("Info");
    expect(parts[0]!.readUInt32BE(at + 8)).toBe(mp3Info(parts[0]!).frames);
    expect(parts[0]!.readUInt32BE(at + 12)).toBe(parts[0]!.length);
    for (const p of parts.slice(1)) expect(mp3Frames(p).every((f) => f.infoTag === undefined)).toBe(true);
    expect(parts.reduce((n, p) => n + mp3Info(p).frames, 0)).toBe(mp3Info(mp3).frames);
  });

  it("splits wav into complete WAV files whose samples add up to the original", () => {
    const limit = Math.ceil(wav.length / 2.5);
    const parts = splitToFit(wav, "wav", limit, "x");
    expect(parts.length).toBe(3);
    for (const p of parts) expect(p.data.length).toBeLessThanOrEqual(limit);
    const samples = Buffer.concat(parts.map((p) => parseWav(p.data).data));
    expect(samples).toEqual(parseWav(wav).data);
    expect(parseWav(parts[1]!.data)).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
  });

  it("refuses flac it cannot split, with advice", () => {
    expect(() => splitToFit(Buffer.alloc(1000), "flac", 500, "x")).toThrow(
      /larger than this server's upload limit/,
    );
  });
});

describe("groupForMessages", () => {
  const file = (n: number) => ({ name: `f${n}`, data: Buffer.alloc(n), contentType: "audio/mpeg" });
  it.each([
    ["all in one", [1, 2, 3], {}, [[1, 2, 3]]],
    ["at most maxFiles per message", [1, 1, 1, 1, 1], { maxFiles: 2 }, [[1, 1], [1, 1], [1]]],
    ["bounded body per message", [6, 6, 6], { maxBodyBytes: 12 }, [[6, 6], [6]]],
    ["a single oversize file still gets its own message", [20, 1], { maxBodyBytes: 10 }, [[20], [1]]],
  ])("%s", (_name, sizes, opts, expected) => {
    const groups = groupForMessages(sizes.map(file), opts);
    expect(groups.map((g) => g.map((f) => f.data.length))).toEqual(expected);
  });
});
