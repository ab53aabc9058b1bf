import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { describe, expect, it } from "vitest";
import { audioDurationMs, flacStreamInfo } from "../../src/audio/duration.ts";
import { mp3Info } from "../../src/audio/mp3.ts";
import { pcmToWav } from "../../src/audio/wav.ts";
import { encodeAudio, synthPcm } from "../fakes/audio/tone.ts";

function tone(ms: number, sampleRate: number, channels: 1 | 2): Buffer {
  return synthPcm({ durationMs: ms, sampleRate, channels, frequency: 440 });
}

describe("audioDurationMs", () => {
  it.each([
    [1000, 32000, 1],
    [2500, 44100, 2],
    [333, 8000, 1],
    [12_345, 24000, 2],
  ] as const)("wav and pcm: %i ms at %i Hz × %i", (ms, rate, ch) => {
    const pcm = tone(ms, rate, ch);
    expect(audioDurationMs(pcmToWav(pcm, { sampleRate: rate, channels: ch, bitsPerSample: 16 }), "wav")).toBe(
      ms,
    );
    expect(audioDurationMs(pcm, "pcm", { sampleRate: rate, channels: ch })).toBe(ms);
  });

  it("pcm honours a sample size other than 16 bits", () => {
    expect(
      audioDurationMs(Buffer.alloc(48000 * 3), "pcm", { sampleRate: 48000, channels: 1, bitsPerSample: 24 }),
    ).toBe(1000);
  });

  it("pcm without its shape is a programming error", () => {
    expect(() => audioDurationMs(Buffer.alloc(100), "pcm")).toThrow(/sample rate/);
  });

  it.each([
    [1000, 32000, 1],
    [4321, 44100, 2],
    [250, 16000, 1],
  ] as const)("flac: %i ms at %i Hz × %i, from STREAMINFO, agreeing with a decoder", async (ms, rate, ch) => {
    const flac = encodeAudio(tone(ms, rate, ch), { format: "flac", sampleRate: rate, channels: ch });
    expect(audioDurationMs(flac, "flac")).toBe(ms);
    expect(flacStreamInfo(flac)).toMatchObject({ sampleRate: rate, channels: ch, bitsPerSample: 16 });

    const decoder = new FLACDecoder();
    await decoder.ready;
    const decoded = await decoder.decodeFile(flac);
    decoder.free();
    expect(Math.round((decoded.samplesDecoded * 1000) / decoded.sampleRate)).toBe(ms);
  });

  it("flac: reads past a leading ID3v2 tag; unknown total samples give undefined", () => {
    const flac = encodeAudio(tone(500, 22050, 1), { format: "flac", sampleRate: 22050, channels: 1 });
    const id3 = Buffer.concat([Buffer.from("ID3\x04\x00\x00\x00\x00\x00\x05", "latin1"), Buffer.alloc(5)]);
    expect(audioDurationMs(Buffer.concat([id3, flac]), "flac")).toBe(500);

    const streaming = Buffer.from(flac);
    // Total samples live in the low 36 bits of STREAMINFO bytes 10–17 (file offset 8 + 13…17).
    streaming[8 + 13] = streaming[8 + 13]! & 0xf0;
    streaming.writeUInt32BE(0, 8 + 14);
    expect(audioDurationMs(streaming, "flac")).toBeUndefined();
  });

  it("mp3: counts frames", () => {
    const mp3 = encodeAudio(tone(2000, 44100, 1), {
      format: "mp3",
      sampleRate: 44100,
      channels: 1,
      bitrate: 128000,
    });
    const ms = audioDurationMs(mp3, "mp3");
    expect(ms).toBe(mp3Info(mp3).durationMs);
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(2100);
  });

  it.each([
    ["mp3", Buffer.from("ID3 but nothing else")],
    ["wav", Buffer.from("RIFF....AVI LIST")],
    ["flac", Buffer.from("OggS\0\0\0\0")],
    ["flac", Buffer.from("fLaC\0\0")],
  ] as const)("throws when the bytes are not %s", (format, bytes) => {
    expect(() => audioDurationMs(bytes, format)).toThrow();
  });
});
