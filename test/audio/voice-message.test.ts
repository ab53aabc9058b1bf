import { type OggOpusDecodedAudio, OggOpusDecoder } from "ogg-opus-decoder";
import { describe, expect, it } from "vitest";
import { readOggPages } from "../../src/audio/ogg.ts";
import { bufferFromInt16, int16FromBuffer, resamplePcm16 } from "../../src/audio/resample.ts";
import { decodeToPcm, toVoiceMessage } from "../../src/audio/voice-message.ts";
import { encodeAudio, synthPcm } from "../fakes/audio/tone.ts";
import { dominantFrequency, sine, speechLike } from "./signal.ts";

async function decodeOgg(ogg: Buffer): Promise<OggOpusDecodedAudio> {
  const decoder = new OggOpusDecoder();
  try {
    await decoder.ready;
    return await decoder.decodeFile(ogg);
  } finally {
    decoder.free();
  }
}

/** Lag (in samples) at which `b` best matches `a`, searched over ±maxLag. */
function bestLag(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let score = 0;
    for (let i = maxLag; i < a.length - maxLag; i++) score += a[i]! * (b[i + lag] ?? 0);
    if (score > bestScore) [best, bestScore] = [lag, score];
  }
  return best;
}

describe("toVoiceMessage", () => {
  it("makes a mono 48 kHz Ogg/Opus file that decodes to the input tone, length and timing", async () => {
    const seconds = 6; // longer than 256 × 20 ms, so the waveform has all 256 bars
    const pcm = sine(24000 * seconds, 24000, 440);
    const message = toVoiceMessage({ pcm: bufferFromInt16(pcm), sampleRate: 24000, channels: 1 });

    expect(message.durationSecs).toBe(seconds);
    expect(message.bytes).toBe(message.ogg.length);

    const pages = readOggPages(message.ogg);
    expect(pages.every((p) => p.crcValid)).toBe(true);
    expect(pages.map((p) => p.eos)).toEqual(pages.map((_, i) => i === pages.length - 1));
    const head = pages[0]!.body;
    expect(head.toString("ascii", 0, 8)).toBe("OpusHead");
    expect(head[9]).toBe(1);
    expect(head.readUInt32LE(12)).toBe(24000);

    const decoded = await decodeOgg(message.ogg);
    expect(decoded.errors).toEqual([]);
    expect(decoded.sampleRate).toBe(48000);
    expect(decoded.channelData).toHaveLength(1);
    expect(Math.abs(decoded.samplesDecoded / 48000 - seconds)).toBeLessThanOrEqual(0.04);
    expect(dominantFrequency(decoded.channelData[0]!, 48000)).toBeCloseTo(440, 0);
    // The last granule position is pre-skip + the content: players play exactly the input's length.
    expect(pages.at(-1)!.granule).toBe(312n + BigInt(48000 * seconds));

    const bars = Buffer.from(message.waveform, "base64");
    expect(bars).toHaveLength(256);
    expect(Math.max(...bars)).toBe(255);
  });

  it("lines up with the input: pre-skip removes exactly the encoder's look-ahead", async () => {
    // Short bursts at irregular spacing: unlike a tone, they match at one lag only.
    const pcm = new Int16Array(24000).map((_, i) => (i % 1601 < 24 ? Math.round(12000 * Math.sin(i)) : 0));
    const message = toVoiceMessage({ pcm: bufferFromInt16(pcm), sampleRate: 24000, channels: 1 });
    const decoded = await decodeOgg(message.ogg);
    const reference = Float64Array.from(resamplePcm16(pcm, 24000, 48000, 1), (s) => s / 32768);
    // Off by 312 without pre-skip handling; the codec itself may shift the phase by a sample or two.
    expect(Math.abs(bestLag(reference, decoded.channelData[0]!, 400))).toBeLessThanOrEqual(2);
  });

  it("stays near 32 kb/s for speech-like audio", async () => {
    const seconds = 10;
    const pcm = speechLike(16000 * seconds, 16000);
    const message = toVoiceMessage({ pcm: bufferFromInt16(pcm), sampleRate: 16000, channels: 1 });
    const kbps = (message.bytes * 8) / seconds / 1000;
    expect(kbps).toBeGreaterThan(24);
    expect(kbps).toBeLessThan(40);
    const decoded = await decodeOgg(message.ogg);
    expect(decoded.samplesDecoded).toBe(48000 * seconds);
  });

  it("mixes stereo down to mono and resamples 44.1 kHz", async () => {
    const frames = 44100 * 2;
    const message = toVoiceMessage({
      pcm: bufferFromInt16(sine(frames, 44100, 1000, 10000, 2)),
      sampleRate: 44100,
      channels: 2,
    });
    expect(message.durationSecs).toBe(2);
    const decoded = await decodeOgg(message.ogg);
    expect(decoded.channelData).toHaveLength(1);
    expect(decoded.samplesDecoded).toBe(96000);
    expect(dominantFrequency(decoded.channelData[0]!, 48000)).toBeCloseTo(1000, 0);
  });

  it("handles a clip shorter than one Opus frame, with fewer waveform bars", async () => {
    const message = toVoiceMessage({
      pcm: bufferFromInt16(sine(100, 8000, 440)),
      sampleRate: 8000,
      channels: 1,
    });
    expect(message.durationSecs).toBe(0.013); // 12.5 ms, rounded to the millisecond
    expect(Buffer.from(message.waveform, "base64")).toHaveLength(100);
    expect(readOggPages(message.ogg).at(-1)!.granule).toBe(312n + 600n);
    // ogg-opus-decoder ignores pre-skip when trimming a stream of one audio page, so it may return
    // up to 312 extra (silent) samples; spec-following players (libopusfile) return exactly 600.
    const decoded = await decodeOgg(message.ogg);
    expect(decoded.samplesDecoded).toBeGreaterThanOrEqual(600);
    expect(decoded.samplesDecoded).toBeLessThanOrEqual(600 + 312);
  });

  it("refuses empty audio", () => {
    expect(() => toVoiceMessage({ pcm: Buffer.alloc(0), sampleRate: 24000, channels: 1 })).toThrow(
      /at least one/,
    );
  });
});

describe("decodeToPcm", () => {
  const tone = (sampleRate: number, channels: number): Buffer =>
    synthPcm({ durationMs: 1000, sampleRate, channels, frequency: 440 });

  it("passes raw pcm through with the shape it is given", async () => {
    const pcm = tone(24000, 1);
    const audio = await decodeToPcm(pcm, "pcm", { sampleRate: 24000, channels: 1 });
    expect(audio).toEqual({ pcm, sampleRate: 24000, channels: 1 });
    await expect(decodeToPcm(pcm, "pcm")).rejects.toThrow(/sample rate/);
    await expect(
      decodeToPcm(pcm, "pcm", { sampleRate: 24000, channels: 1, bitsPerSample: 24 }),
    ).rejects.toThrow(/sample size/);
  });

  it("reads wav", async () => {
    const pcm = tone(32000, 2);
    const wav = encodeAudio(pcm, { format: "wav", sampleRate: 32000, channels: 2 });
    const audio = await decodeToPcm(wav, "wav");
    expect(audio.sampleRate).toBe(32000);
    expect(audio.channels).toBe(2);
    expect(audio.pcm.equals(pcm)).toBe(true);
  });

  it.each(["mp3", "flac"] as const)("decodes %s", async (format) => {
    const pcm = tone(44100, 2);
    const file = encodeAudio(pcm, { format, sampleRate: 44100, channels: 2, bitrate: 128000 });
    const audio = await decodeToPcm(file, format);
    expect(audio.sampleRate).toBe(44100);
    expect(audio.channels).toBe(2);
    const frames = audio.pcm.length / 4;
    // mp3 adds the encoder delay and padding (< 2 frames of 1152 samples); flac is lossless.
    expect(frames - 44100).toBeGreaterThanOrEqual(0);
    expect(frames - 44100).toBeLessThan(format === "mp3" ? 2400 : 1);
    const left = int16FromBuffer(audio.pcm).filter((_, i) => i % 2 === 0);
    expect(dominantFrequency(left, 44100)).toBeCloseTo(440, 0);
  });

  it("rejects bytes that are not mp3", async () => {
    await expect(decodeToPcm(Buffer.from("definitely not an mp3 file"), "mp3")).rejects.toThrow(/decode mp3/);
  });

  it("feeds toVoiceMessage end to end", async () => {
    const mp3 = encodeAudio(tone(24000, 1), {
      format: "mp3",
      sampleRate: 24000,
      channels: 1,
      bitrate: 64000,
    });
    const message = toVoiceMessage(await decodeToPcm(mp3, "mp3"));
    const decoded = await decodeOgg(message.ogg);
    expect(Math.abs(decoded.samplesDecoded / 48000 - message.durationSecs)).toBeLessThanOrEqual(0.001);
    expect(dominantFrequency(decoded.channelData[0]!, 48000)).toBeCloseTo(440, 0);
  });
});
