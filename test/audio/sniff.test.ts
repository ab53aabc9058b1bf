import { describe, expect, it } from "vitest";
import { checkAudioBytes, type ExpectedAudio, type SniffedKind, sniffAudio } from "../../src/audio/sniff.ts";

const bytes = (...parts: (string | number[])[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));

/** Near-silent 16-bit PCM, negative samples (0xFFFF = -1): all high bytes, never valid UTF-8. */
const quietNegativePcm = Buffer.from(Array.from({ length: 256 }, (_, i) => (i % 2 === 0 ? 0xfe : 0xff)));
/** Silence then a ramp: what a clip usually starts with. */
const pcm = Buffer.from(Array.from({ length: 256 }, (_, i) => (i < 64 ? 0 : i & 0xff)));
const WAV = bytes("RIFF", [36, 0, 0, 0], "WAVEfmt ", [16, 0, 0, 0, 1, 0, 1, 0]);
const MP3_ID3 = bytes("ID3", [4, 0, 0, 0, 0, 0, 0]);
const MP3_SYNC = bytes([0xff, 0xfb, 0x90, 0x64, 0, 0]);
const FLAC = bytes("fLaC", [0, 0, 0, 34]);
const OGG = bytes("OggS", [0, 2, 0, 0]);
const HTML = bytes("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>");
const XML = bytes('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>');
const JSON_ERR = bytes('{"base_resp":{"status_code":1004,"status_msg":"not authorized"}}');
const JSON_BOM = bytes([0xef, 0xbb, 0xbf], '  [{"a":1}]');
const ZIP = bytes("PK", [3, 4, 20, 0, 0, 0, 8, 0]);
const PDF = bytes("%PDF-1.7\n%\xe2\xe3");
const GZIP = bytes([0x1f, 0x8b, 8, 0, 0, 0]);
const TEXT = bytes("Internal Server Error\n");
const AVI = bytes("RIFF", [0, 0, 0, 0], "AVI LIST");

describe("sniffAudio", () => {
  it.each<[string, Buffer, SniffedKind]>([
    ["ID3-tagged mp3", MP3_ID3, "mp3"],
    ["mp3 frame sync", MP3_SYNC, "mp3"],
    ["RIFF WAVE", WAV, "wav"],
    ["RIFF of another kind", AVI, "riff"],
    ["FLAC", FLAC, "flac"],
    ["Ogg", OGG, "ogg"],
    ["zip", ZIP, "zip"],
    ["gzip", GZIP, "gzip"],
    ["PDF", PDF, "pdf"],
    ["HTML", HTML, "html"],
    ["XML error", XML, "html"],
    ["JSON", JSON_ERR, "json"],
    ["JSON after a BOM and spaces", JSON_BOM, "json"],
    ["plain text", TEXT, "text"],
    ["empty", Buffer.alloc(0), "empty"],
    ["silence-then-ramp PCM", pcm, "unknown"],
    ["quiet negative PCM", quietNegativePcm, "unknown"],
    ["PCM starting with `{` then binary", bytes("{", [0, 1, 0, 2, 0]), "unknown"],
    ["0xFF then a reserved layer", bytes([0xff, 0xe0, 0, 0]), "unknown"],
  ])("%s → %s", (_label, input, kind) => {
    expect(sniffAudio(input)).toBe(kind);
  });
});

describe("checkAudioBytes", () => {
  const cases: [ExpectedAudio, Buffer, boolean][] = [
    ["mp3", MP3_ID3, true],
    ["mp3", MP3_SYNC, true],
    ["mp3", HTML, false],
    ["mp3", JSON_ERR, false],
    ["mp3", ZIP, false],
    ["mp3", WAV, false],
    ["mp3", pcm, false],
    ["wav", WAV, true],
    ["wav", HTML, false],
    ["wav", JSON_ERR, false],
    ["wav", ZIP, false],
    ["wav", AVI, false],
    ["wav", pcm, false],
    ["flac", FLAC, true],
    ["flac", MP3_ID3, false],
    ["flac", TEXT, false],
    ["ogg", OGG, true],
    ["opus", OGG, true],
    ["opus", FLAC, false],
    // PCM has no magic: only what is obviously something else is refused.
    ["pcm", pcm, true],
    ["pcm", quietNegativePcm, true],
    ["pcm", MP3_SYNC, true],
    ["pcm", WAV, true],
    ["pcm", HTML, false],
    ["pcm", XML, false],
    ["pcm", JSON_ERR, false],
    ["pcm", JSON_BOM, false],
    ["pcm", TEXT, false],
    ["pcm", ZIP, false],
    ["pcm", PDF, false],
    ["pcm", GZIP, false],
    ["pcm", MP3_ID3, false],
    ["pcm", FLAC, false],
    ["pcm", OGG, false],
    ["pcm", AVI, false],
    ["pcm", Buffer.alloc(0), false],
    ["pcmu_raw", pcm, true],
    ["pcmu_wav", WAV, true],
  ];
  it.each(cases)("%s accepts %#: %s", (expected, input, ok) => {
    expect(checkAudioBytes(input, expected).ok).toBe(ok);
  });
});
