import { setTimeout as delay } from "node:timers/promises";
import { MPEGDecoder } from "mpg123-decoder";
import { describe, expect, it } from "vitest";
import { mp3Frames, mp3Info } from "../../src/audio/mp3.ts";
import { parseWav } from "../../src/audio/wav.ts";
import { InvalidInputError, UnsupportedOptionError } from "../../src/speech/errors.ts";
import type { SpeechRequest, SynthesisResult, TtsProvider } from "../../src/speech/types.ts";
import { synthesizeLong } from "../../src/text/long-text.ts";
import { encodeAudio, synthPcm } from "../fakes/audio/tone.ts";

const MS_PER_CHAR = 20;
const RATE = 24000;

interface FakeOptions {
  maxSyncChars?: number;
  /** Delay of each call, by call number (0-based). */
  delayMs?: (call: number) => number;
  /** Throw this instead of answering, for the call whose text contains `when`. */
  fail?: { when: string; error: Error };
}

/**
 * A provider whose audio identifies the request: pcm/wav samples all equal the call's 1-based index
 * (so the joined order can be read back), mp3 a tone as long as the text. It records concurrency and
 * the signals it was given.
 */
function fakeProvider(opts: FakeOptions = {}) {
  const state = { inFlight: 0, maxInFlight: 0, calls: [] as string[], signals: [] as AbortSignal[] };
  const provider: TtsProvider = {
    name: "aimlapi",
    capabilities: { stream: false, async: false, voices: false, maxSyncChars: opts.maxSyncChars ?? 60 },
    async synthesize(req: SpeechRequest, callOpts = {}): Promise<SynthesisResult> {
      const call = state.calls.push(req.text) - 1;
      const signal = callOpts.signal!;
      state.signals.push(signal);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      try {
        await delay(opts.delayMs?.(call) ?? 5, undefined, { signal });
        if (opts.fail && req.text.includes(opts.fail.when)) throw opts.fail.error;
        const durationMs = req.text.length * MS_PER_CHAR;
        const frames = Math.round((durationMs * RATE) / 1000);
        let audio: Buffer;
        if (req.format === "mp3") {
          const pcm = synthPcm({ durationMs, sampleRate: RATE, channels: 1, frequency: 440 });
          audio = encodeAudio(pcm, { format: "mp3", sampleRate: RATE, channels: 1, bitrate: 64000 });
        } else {
          const pcm = Buffer.alloc(frames * 2);
          for (let i = 0; i < frames; i++) pcm.writeInt16LE(call + 1, i * 2);
          audio = encodeAudio(pcm, { format: req.format, sampleRate: RATE, channels: 1 });
        }
        return {
          audio,
          format: req.format,
          sampleRate: RATE,
          channels: 1,
          durationMs,
          usageCharacters: req.text.length,
          traceId: `t${call + 1}`,
        };
      } finally {
        state.inFlight--;
      }
    },
  };
  return { provider, state };
}

const request = (text: string, format: SpeechRequest["format"] = "pcm"): SpeechRequest => ({
  model: "speech-2.6-hd",
  voiceId: "Wise_Woman",
  format,
  text,
});

/** Twelve sentences of 27 characters: chunks of two sentences each at the fake's 60-char limit. */
const TEXT = Array.from(
  { length: 12 },
  (_, i) => `Sentence number ${String(i + 1).padStart(2, "0")} is here.`,
).join(" ");

/** The run of sample values in a joined PCM stream: which call's audio came in which order. */
function runs(pcm: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i < pcm.length; i += 2) {
    const v = pcm.readInt16LE(i);
    if (out.at(-1) !== v) out.push(v);
  }
  return out;
}

describe("synthesizeLong", () => {
  it("keeps the text order even when later chunks finish first", async () => {
    // Earlier calls are slower, so completion order is reversed.
    const { provider, state } = fakeProvider({ delayMs: (call) => 60 - call * 8 });
    const { result, chunks } = await synthesizeLong(provider, request(TEXT), { concurrency: 6 });
    expect(chunks).toBe(6);
    expect(state.calls).toHaveLength(6);
    expect(state.calls.join(" ")).toBe(TEXT);
    expect(runs(result.audio)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.durationMs).toBe(
      TEXT.replace(/ (?=Sentence number (03|05|07|09|11))/g, "").length * MS_PER_CHAR,
    );
  });

  it.each([1, 2, 3, 5])("runs at most %i requests at once (and uses them)", async (concurrency) => {
    const { provider, state } = fakeProvider({ delayMs: () => 15 });
    await synthesizeLong(provider, request(TEXT), { concurrency });
    expect(state.maxInFlight).toBe(concurrency);
  });

  it("defaults to three requests at once", async () => {
    const { provider, state } = fakeProvider({ delayMs: () => 15 });
    await synthesizeLong(provider, request(TEXT));
    expect(state.maxInFlight).toBe(3);
  });

  it("stops on the first failure: aborts the requests in flight, starts no more, rethrows it", async () => {
    const error = new InvalidInputError("rejected", { provider: "aimlapi" });
    const { provider, state } = fakeProvider({
      delayMs: (call) => (call === 1 ? 5 : 200),
      fail: { when: "number 03", error },
    });
    await expect(synthesizeLong(provider, request(TEXT), { concurrency: 2 })).rejects.toBe(error);
    expect(state.calls).toHaveLength(2);
    expect(state.signals.every((s) => s.aborted)).toBe(true);
    expect(state.inFlight).toBe(0);
  });

  it("aborts everything when the caller's signal fires, with the caller's reason", async () => {
    const { provider, state } = fakeProvider({ delayMs: () => 1000 });
    const controller = new AbortController();
    const reason = new Error("user cancelled");
    setTimeout(() => controller.abort(reason), 20);
    await expect(synthesizeLong(provider, request(TEXT), { signal: controller.signal })).rejects.toBe(reason);
    expect(state.calls).toHaveLength(3);
    expect(state.signals.every((s) => s.aborted)).toBe(true);
  });

  it("does not start when the signal is already aborted", async () => {
    const { provider, state } = fakeProvider();
    await expect(synthesizeLong(provider, request(TEXT), { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(state.calls).toHaveLength(0);
  });

  it("reports progress, sums usage and keeps every trace id", async () => {
    const { provider } = fakeProvider();
    const progress: string[] = [];
    const { result } = await synthesizeLong(provider, request(TEXT), {
      concurrency: 1,
      onProgress: (p) => progress.push(`${p.done}/${p.total}`),
    });
    expect(progress).toEqual(["1/6", "2/6", "3/6", "4/6", "5/6", "6/6"]);
    expect(result.usageCharacters).toBe(TEXT.length - 5);
    expect(result.traceId).toBe("t1,t2,t3,t4,t5,t6");
  });

  it("chunks to the smaller of maxChars and the provider's limit", async () => {
    const small = fakeProvider();
    expect((await synthesizeLong(small.provider, request(TEXT), { maxChars: 30 })).chunks).toBe(12);
    expect(small.state.calls.every((t) => t.length <= 30)).toBe(true);
    const capped = fakeProvider();
    expect((await synthesizeLong(capped.provider, request(TEXT), { maxChars: 10_000 })).chunks).toBe(6);
  });

  it("joins WAV chunks into one file with a correct header", async () => {
    const { provider } = fakeProvider();
    const { result } = await synthesizeLong(provider, request(TEXT, "wav"));
    const wav = parseWav(result.audio);
    expect(wav).toMatchObject({ sampleRate: RATE, channels: 1, bitsPerSample: 16 });
    expect(result.audio.readUInt32LE(4)).toBe(result.audio.length - 8);
    expect(runs(wav.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(result.durationMs).toBe(Math.round((wav.data.length / 2 / RATE) * 1000));
  });

  it("renders a pause marker at a cut as silence between the clips (pcm)", async () => {
    const { provider, state } = fakeProvider();
    const text = `${"a".repeat(45)}. <#0.5#> ${"b".repeat(45)}.`;
    const { result, subtitles } = await synthesizeLong(provider, request(text, "pcm"));
    expect(state.calls).toEqual([`${"a".repeat(45)}.`, `${"b".repeat(45)}.`]);
    expect(runs(result.audio)).toEqual([1, 0, 2]);
    expect(result.durationMs).toBe(46 * MS_PER_CHAR * 2 + 500);
    expect(subtitles.map((s) => [s.time_begin, s.time_end])).toEqual([
      [0, 920],
      [1420, 2340],
    ]);
  });

  it("joins MP3 chunks into one decodable file whose length is the sum of the chunks", async () => {
    const { provider } = fakeProvider();
    const text = `${TEXT} <#1#> The end.`;
    const { result, subtitles, chunks } = await synthesizeLong(provider, request(text, "mp3"));
    expect(chunks).toBe(7);
    expect(mp3Frames(result.audio).some((f) => f.infoTag !== undefined)).toBe(false);

    const decoder = new MPEGDecoder();
    await decoder.ready;
    const decoded = decoder.decode(result.audio);
    decoder.free();
    expect(decoded.errors).toEqual([]);
    const info = mp3Info(result.audio);
    expect(decoded.samplesDecoded).toBe(info.frames * 576);
    expect(result.durationMs).toBe(info.durationMs);

    // Each chunk's mp3 is its text's length plus encoder padding (under 3 frames of 24 ms); plus the
    // second of silence where the marker was.
    const spoken = (TEXT.length - 5 + "The end.".length) * MS_PER_CHAR;
    expect(result.durationMs).toBeGreaterThanOrEqual(spoken + 1000 - 12);
    expect(result.durationMs).toBeLessThan(spoken + 1000 + 7 * 3 * 24);
    expect(subtitles.at(-1)!.text).toBe("The end.");
    expect(subtitles.at(-1)!.time_end).toBe(result.durationMs);
    expect(subtitles.at(-1)!.time_begin - subtitles.at(-2)!.time_end).toBeGreaterThanOrEqual(1000 - 12);
  });

  it("refuses FLAC when the text needs several requests, before any request", async () => {
    const { provider, state } = fakeProvider();
    const err = await synthesizeLong(provider, request(TEXT, "flac")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOptionError);
    expect((err as UnsupportedOptionError).option).toBe("format");
    expect((err as Error).message).toMatch(/mp3 or wav/);
    expect(state.calls).toHaveLength(0);
  });

  it("passes a short text through in one request, whatever the format", async () => {
    const { provider, state } = fakeProvider();
    const { result, chunks, subtitles } = await synthesizeLong(provider, request("Just this.", "flac"));
    expect(chunks).toBe(1);
    expect(state.calls).toEqual(["Just this."]);
    expect(result.audio.subarray(0, 4).toString("ascii")).toBe("fLaC");
    expect(subtitles).toEqual([{ text: "Just this.", time_begin: 0, time_end: 200 }]);
  });

  it("refuses a text with nothing to say", async () => {
    const { provider } = fakeProvider();
    await expect(synthesizeLong(provider, request("  <#1#>  "))).rejects.toBeInstanceOf(
      UnsupportedOptionError,
    );
  });
});
