import { describe, expect, it } from "vitest";
import { parseWav } from "../../src/audio/wav.ts";
import { crc8, crc16, utf8Varint } from "./audio/flac.ts";
import { mp3FrameOffsets, parseMp3FrameHeader } from "./audio/mp3.ts";
import {
  durationForText,
  effectiveMp3Bitrate,
  encodeAudio,
  synthPcm,
  toneFrequencyFor,
} from "./audio/tone.ts";
import { decodeFlac, decodeMp3, dominantFrequency, int16Channel } from "./test-helpers.ts";

describe("toneFrequencyFor", () => {
  it("is stable per voice, in the 220–685 Hz grid, and differs between common voices", () => {
    const ids = [
      "Wise_Woman",
      "English_expressive_narrator",
      "Deep_Voice_Man",
      "Calm_Woman",
      "female-shaonv",
    ];
    const freqs = ids.map(toneFrequencyFor);
    expect(ids.map(toneFrequencyFor)).toEqual(freqs);
    for (const f of freqs) {
      expect(f).toBeGreaterThanOrEqual(220);
      expect(f).toBeLessThanOrEqual(685);
      expect((f - 220) % 15).toBe(0);
    }
    expect(new Set(freqs).size).toBeGreaterThan(1);
  });
});

describe("durationForText", () => {
  it("counts characters but not whitespace runs", () => {
    expect(durationForText("abcdefghij", 100)).toBe(1000);
    expect(durationForText("abc  \n\t def  ghij", 100)).toBe(1000);
  });

  it("adds the seconds of <#x#> pause markers without counting their characters", () => {
    expect(durationForText("hello<#1.5#>world", 100)).toBe(1000 + 1500);
    expect(durationForText("a<#0.25#>b<#2#>c", 100)).toBe(300 + 250 + 2000);
  });

  it("never goes below 300 ms", () => {
    expect(durationForText("hi", 10)).toBe(300);
  });
});

describe("synthPcm", () => {
  it("produces interleaved int16 at the requested rate, length and frequency, with faded edges", () => {
    const pcm = synthPcm({ durationMs: 1000, sampleRate: 16000, channels: 2, frequency: 440 });
    expect(pcm.length).toBe(16000 * 2 * 2);
    const left = int16Channel(pcm, 2, 0);
    const right = int16Channel(pcm, 2, 1);
    expect(right).toEqual(left);
    expect(dominantFrequency(left, 16000)).toBeCloseTo(440, 0);
    expect(left[0]).toBe(0);
    expect(Math.abs(left[left.length - 1]!)).toBeLessThan(100);
    const peak = left.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(8000);
    expect(peak).toBeLessThan(16000);
  });
});

describe("encodeAudio", () => {
  it("pcm is the raw samples and wav wraps them in a header parseWav understands", () => {
    const pcm = synthPcm({ durationMs: 500, sampleRate: 24000, channels: 1, frequency: 300 });
    expect(encodeAudio(pcm, { format: "pcm", sampleRate: 24000, channels: 1 })).toBe(pcm);
    const wav = parseWav(encodeAudio(pcm, { format: "wav", sampleRate: 24000, channels: 1 }));
    expect(wav).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    expect(Buffer.compare(wav.data, pcm)).toBe(0);
  });

  it.each([
    [8000, 1, 256000, "2.5", 64],
    [16000, 2, 256000, "2", 160],
    [22050, 1, 128000, "2", 128],
    [32000, 1, 128000, "1", 128],
    [44100, 2, 256000, "1", 256],
  ] as const)(
    "mp3 at %i Hz × %i ch (asked %i bps) decodes to the same shape and length",
    async (rate, ch, asked, version, kbps) => {
      const durationMs = 4000;
      const frequency = toneFrequencyFor("Wise_Woman");
      const pcm = synthPcm({ durationMs, sampleRate: rate, channels: ch, frequency });
      const mp3 = encodeAudio(pcm, { format: "mp3", sampleRate: rate, channels: ch, bitrate: asked });
      const header = parseMp3FrameHeader(mp3, 0)!;
      expect(header).toMatchObject({ version, sampleRate: rate, channels: ch, bitrate: kbps });
      expect(effectiveMp3Bitrate(rate, asked)).toBe(kbps * 1000);
      expect(mp3FrameOffsets(mp3).length).toBeGreaterThan(10);
      const decoded = await decodeMp3(mp3);
      expect(decoded.sampleRate).toBe(rate);
      expect(decoded.channels).toBe(ch);
      expect(Math.abs(decoded.durationMs - durationMs) / durationMs).toBeLessThan(0.05);
      expect(dominantFrequency(decoded.samples.subarray(rate, rate * 3), rate)).toBeCloseTo(frequency, -1);
    },
  );

  it.each([
    [8000, 1],
    [22050, 2],
    [44100, 2],
  ] as const)("flac at %i Hz × %i ch decodes to exactly the same samples", async (rate, ch) => {
    // 2.3 s spans several 4096-sample frames and ends in a short one, so frame numbering and the
    // STREAMINFO block-size rules are exercised.
    const pcm = synthPcm({ durationMs: 2345, sampleRate: rate, channels: ch, frequency: 523 });
    const flac = encodeAudio(pcm, { format: "flac", sampleRate: rate, channels: ch });
    expect(flac.toString("ascii", 0, 4)).toBe("fLaC");
    expect(flac.readUInt16BE(8)).toBe(4096); // STREAMINFO min block size
    expect(flac.readUInt16BE(10)).toBe(4096); // max block size
    const decoded = await decodeFlac(flac);
    const frames = pcm.length / (2 * ch);
    expect(decoded.sampleRate).toBe(rate);
    expect(decoded.channels).toBe(ch);
    expect(decoded.channelData[0]!.length).toBe(frames);
    for (let c = 0; c < ch; c++) {
      const expected = int16Channel(pcm, ch, c);
      const got = decoded.channelData[c]!;
      for (let i = 0; i < frames; i += 97) expect(Math.round(got[i]! * 32768)).toBe(expected[i]);
    }
  });
});

describe("FLAC primitives", () => {
  it("CRC-8 and CRC-16 match the FLAC polynomials' check values", () => {
    const check = Buffer.from("123456789", "ascii");
    expect(crc8(check)).toBe(0xf4);
    expect(crc16(check)).toBe(0xfee8);
  });

  it("frame numbers use the UTF-8-style varint", () => {
    expect([...utf8Varint(0x7f)]).toEqual([0x7f]);
    expect([...utf8Varint(0x80)]).toEqual([0xc2, 0x80]);
    expect([...utf8Varint(0x800)]).toEqual([0xe0, 0xa0, 0x80]);
    expect([...utf8Varint(0x10000)]).toEqual([0xf0, 0x90, 0x80, 0x80]);
  });
});
