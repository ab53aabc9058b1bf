import { Mp3Encoder } from "@breezystack/lamejs";
import { pcmToWav } from "../../../src/audio/wav.ts";
import { encodeFlac } from "./flac.ts";

/**
 * Real, decodable audio for the fakes: a sine tone whose pitch identifies the voice and whose length
 * follows the text, so tests can decode what a client received and check it is the right clip.
 */

export type FakeAudioFormat = "mp3" | "wav" | "flac" | "pcm";

export interface PcmSpec {
  durationMs: number;
  sampleRate: number;
  channels: number;
  frequency: number;
}

export interface EncodeSpec {
  format: FakeAudioFormat;
  sampleRate: number;
  channels: number;
  /** Bits per second (MiniMax units); only mp3 uses it. */
  bitrate?: number;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** 220–685 Hz in 15 Hz steps: far enough apart for an FFT/zero-crossing test to tell voices apart. */
export function toneFrequencyFor(voiceId: string): number {
  return 220 + (fnv1a(voiceId) % 32) * 15;
}

const AMPLITUDE = 0.3 * 32767;
const FADE_MS = 10;

/** Interleaved int16 LE sine, with a short fade so clip boundaries do not click. */
export function synthPcm(spec: PcmSpec): Buffer {
  const frames = Math.max(1, Math.round((spec.durationMs * spec.sampleRate) / 1000));
  const out = Buffer.alloc(frames * spec.channels * 2);
  const fadeFrames = Math.min(Math.floor(frames / 2), Math.round((FADE_MS * spec.sampleRate) / 1000));
  const step = (2 * Math.PI * spec.frequency) / spec.sampleRate;
  let offset = 0;
  for (let i = 0; i < frames; i++) {
    let gain = 1;
    if (i < fadeFrames) gain = i / fadeFrames;
    else if (i >= frames - fadeFrames) gain = (frames - 1 - i) / fadeFrames;
    const sample = Math.round(Math.sin(step * i) * AMPLITUDE * gain);
    for (let c = 0; c < spec.channels; c++) {
      out.writeInt16LE(sample, offset);
      offset += 2;
    }
  }
  return out;
}

/**
 * The mp3 bitrate actually used for a requested one: MPEG-2 (16–24 kHz) tops out at 160 kbps and
 * MPEG-2.5 (8–12 kHz) at 64 kbps, so MiniMax's 256000 cannot be honoured there.
 */
export function effectiveMp3Bitrate(sampleRate: number, requested: number): number {
  const kbps = Math.round(requested / 1000);
  const max = sampleRate >= 32000 ? 320 : sampleRate >= 16000 ? 160 : 64;
  return Math.min(Math.max(kbps, 8), max) * 1000;
}

function encodeMp3(pcm: Buffer, sampleRate: number, channels: number, bitrate: number): Buffer {
  const frames = pcm.length / (2 * channels);
  const left = new Int16Array(frames);
  const right = new Int16Array(channels === 2 ? frames : 0);
  for (let i = 0; i < frames; i++) {
    left[i] = pcm.readInt16LE(i * 2 * channels);
    if (channels === 2) right[i] = pcm.readInt16LE(i * 4 + 2);
  }
  const encoder = new Mp3Encoder(channels, sampleRate, effectiveMp3Bitrate(sampleRate, bitrate) / 1000);
  const parts: Buffer[] = [];
  const block = 1152;
  for (let i = 0; i < frames; i += block) {
    const l = left.subarray(i, i + block);
    const chunk =
      channels === 2 ? encoder.encodeBuffer(l, right.subarray(i, i + block)) : encoder.encodeBuffer(l);
    if (chunk.length > 0) parts.push(Buffer.from(chunk));
  }
  parts.push(Buffer.from(encoder.flush()));
  return Buffer.concat(parts);
}

export function encodeAudio(pcm: Buffer, spec: EncodeSpec): Buffer {
  switch (spec.format) {
    case "pcm":
      return pcm;
    case "wav":
      return pcmToWav(pcm, { sampleRate: spec.sampleRate, channels: spec.channels, bitsPerSample: 16 });
    case "flac":
      return encodeFlac(pcm, { sampleRate: spec.sampleRate, channels: spec.channels });
    case "mp3":
      return encodeMp3(pcm, spec.sampleRate, spec.channels, spec.bitrate ?? 128000);
  }
}

/** A `<#x#>` pause marker as MiniMax documents it: 0.01–99.99 s with at most two decimals. */
export const PAUSE_MARKER = /<#(\d{1,2}(?:\.\d{1,2})?)#>/g;

export function pauseSeconds(raw: string): number | undefined {
  const seconds = Number(raw);
  return seconds >= 0.01 && seconds <= 99.99 ? seconds : undefined;
}

/** Characters that take speaking time: whitespace runs are free, pause markers count as silence. */
export function spokenLength(text: string): number {
  return [...text.replace(PAUSE_MARKER, "").replace(/\s+/g, "")].length;
}

export const MIN_AUDIO_MS = 300;

export function durationForText(text: string, msPerChar: number): number {
  let pausesMs = 0;
  for (const match of text.matchAll(PAUSE_MARKER)) pausesMs += (pauseSeconds(match[1]!) ?? 0) * 1000;
  return Math.max(MIN_AUDIO_MS, Math.round(spokenLength(text) * msPerChar + pausesMs));
}
