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
  const cases: [ExpectedAudio, string, boolean, Buffer][] = [
    ["mp3", "ID3 mp3", true, MP3_ID3],
    ["mp3", "frame-sync mp3", true, MP3_SYNC],
    ["mp3", "HTML", false, HTML],
    ["mp3", "JSON", false, JSON_ERR],
    ["mp3", "zip", false, ZIP],
    ["mp3", "WAV", false, WAV],
    ["mp3", "PCM", false, pcm],
    ["wav", "WAV", true, WAV],
    ["wav", "HTML", false, HTML],
    ["wav", "JSON", false, JSON_ERR],
    ["wav", "zip", false, ZIP],
    ["wav", "AVI", false, AVI],
    ["wav", "PCM", false, pcm],
    ["flac", "FLAC", true, FLAC],
    ["flac", "ID3 mp3", false, MP3_ID3],
    ["flac", "text", false, TEXT],
    ["ogg", "Ogg", true, OGG],
    ["opus", "Ogg", true, OGG],
    ["opus", "FLAC", false, FLAC],
    // PCM has no magic: only what is obviously something else is refused.
    ["pcm", "PCM", true, pcm],
    ["pcm", "quiet PCM", true, quietNegativePcm],
    ["pcm", "frame-sync mp3", true, MP3_SYNC],
    ["pcm", "WAV", true, WAV],
    ["pcm", "HTML", false, HTML],
    ["pcm", "XML", false, XML],
    ["pcm", "JSON", false, JSON_ERR],
    ["pcm", "JSON with BOM", false, JSON_BOM],
    ["pcm", "text", false, TEXT],
    ["pcm", "zip", false, ZIP],
    ["pcm", "PDF", false, PDF],
    ["pcm", "gzip", false, GZIP],
    ["pcm", "ID3 mp3", false, MP3_ID3],
    ["pcm", "FLAC", false, FLAC],
    ["pcm", "Ogg", false, OGG],
    ["pcm", "AVI", false, AVI],
    ["pcm", "nothing", false, Buffer.alloc(0)],
    ["pcmu_raw", "PCM", true, pcm],
    ["pcmu_wav", "WAV", true, WAV],
  ];
  it.each(cases)("%s, given %s: ok is %s", (expected, _label, ok, input) => {
    expect(checkAudioBytes(input, expected).ok).toBe(ok);
  });
});
