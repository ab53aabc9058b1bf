import { describe, expect, it } from "vitest";
import {
  type AudioCacheKeyInput,
  audioCacheKey,
  type CacheKeyRequest,
  canonicalSpeech,
  normalizeSpeechText,
} from "../../src/speak/cache-key.ts";

const base: CacheKeyRequest = {
  model: "speech-2.5-turbo-preview",
  voiceId: "Wise_Woman",
  text: "Hello, world!",
  format: "mp3",
};
const key = (request: Partial<CacheKeyRequest>, extra: Partial<AudioCacheKeyInput> = {}) =>
  audioCacheKey({ provider: "minimax", request: { ...base, ...request }, ...extra });

describe("audioCacheKey", () => {
  it("is a sha256 hex digest, stable across runs and releases", () => {
    // Pinned: if this changes, every cache entry already stored is orphaned. Bump KEY_VERSION on purpose
    // when the canonical form must change, and update this value then.
    expect(key({})).toBe("6f39deb4c81f17f300dcccb6ebdc141d08ebb288e4f9fed298ac2cdc4b2f41e1");
    expect(key({})).toMatch(/^[0-9a-f]{64}$/);
  });

  const changes: [string, Partial<CacheKeyRequest> | null, Partial<AudioCacheKeyInput>?][] = [
    ["text", { text: "Hello, world?" }],
    ["text case", { text: "hello, world!" }],
    ["model", { model: "speech-2.6-hd" }],
    ["voice", { voiceId: "Calm_Woman" }],
    ["speed", { speed: 1.25 }],
    ["pitch", { pitch: -2 }],
    ["volume", { volume: 2 }],
    ["emotion", { emotion: "happy" }],
    ["language boost", { languageBoost: "English" }],
    ["sound effect", { soundEffect: "robotic" }],
    ["format", { format: "flac" }],
    ["sample rate", { sampleRate: 44100 }],
    ["mp3 bitrate", { bitrate: 64000 }],
    ["channels", { channels: 2 }],
    ["pronunciation dictionary", { pronunciation: ["omg/oh my god"] }],
    ["text normalization", { textNormalization: true }],
    ["provider", null, { provider: "aimlapi" }],
    ["variant", null, { variant: "voice-message" }],
  ];
  it.each(changes)("changes with the %s", (_, request, extra) => {
    expect(key(request ?? {}, extra)).not.toBe(key({}));
  });

  it("gives every distinct setting its own key", () => {
    const keys = changes.map(([, request, extra]) => key(request ?? {}, extra));
    expect(new Set(keys).size).toBe(changes.length);
  });

  it.each<[string, Partial<CacheKeyRequest>, Partial<CacheKeyRequest>]>([
    ["speed omitted / 1", {}, { speed: 1 }],
    ["pitch omitted / 0", {}, { pitch: 0 }],
    ["pitch 0 / -0", { pitch: 0 }, { pitch: -0 }],
    ["volume omitted / 1", {}, { volume: 1 }],
    ["format omitted / mp3", { format: undefined }, { format: "mp3" }],
    ["sample rate omitted / 32000", {}, { sampleRate: 32000 }],
    ["mp3 bitrate omitted / 128000", {}, { bitrate: 128000 }],
    ["channels omitted / 1", {}, { channels: 1 }],
    ["pronunciation omitted / empty", {}, { pronunciation: [] }],
    ["text normalization omitted / false", {}, { textNormalization: false }],
    ["emotion neutral / calm", { emotion: "neutral" }, { emotion: "calm" }],
    ["bitrate is irrelevant for wav", { format: "wav" }, { format: "wav", bitrate: 32000 }],
    ["bitrate is irrelevant for pcm", { format: "pcm", bitrate: 256000 }, { format: "pcm", bitrate: 64000 }],
  ])("is shared by equivalent inputs: %s", (_, a, b) => {
    expect(key(a)).toBe(key(b));
  });

  it("ignores whitespace that does not change the speech, and Unicode normal forms", () => {
    const plain = key({ text: "Hello there.\nNew line." });
    expect(key({ text: "  Hello   there.\nNew line.  " })).toBe(plain);
    expect(key({ text: "Hello\tthere. \r\n  New line.\n" })).toBe(plain);
    expect(key({ text: "Hello\u00a0there.\rNew line." })).toBe(plain);
    // The line break is a pause: it stays.
    expect(key({ text: "Hello there. New line." })).not.toBe(plain);
    // é precomposed (NFC) and e + combining acute (NFD) are the same text.
    expect(key({ text: "Caf\u00e9" })).toBe(key({ text: "Cafe\u0301" }));
  });

  it("keeps pronunciation entries in order (a later entry can depend on an earlier one)", () => {
    expect(key({ pronunciation: ["a/b", "c/d"] })).not.toBe(key({ pronunciation: ["c/d", "a/b"] }));
  });
});

describe("normalizeSpeechText", () => {
  it.each([
    ["  a  b  ", "a b"],
    ["a \n\n  b", "a\n\nb"],
    ["a\r\nb\rc", "a\nb\nc"],
    ["Mixed CASE", "Mixed CASE"],
  ])("%j → %j", (input, output) => {
    expect(normalizeSpeechText(input)).toBe(output);
  });
});

describe("canonicalSpeech", () => {
  it("spells out every default", () => {
    expect(JSON.parse(canonicalSpeech({ provider: "minimax", request: base }))).toEqual({
      v: 1,
      provider: "minimax",
      model: "speech-2.5-turbo-preview",
      voice: "Wise_Woman",
      text: "Hello, world!",
      speed: 1,
      pitch: 0,
      volume: 1,
      emotion: null,
      languageBoost: null,
      soundEffect: null,
      format: "mp3",
      sampleRate: 32000,
      bitrate: 128000,
      channels: 1,
      pronunciation: [],
      textNormalization: false,
      variant: null,
    });
  });
});
