import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { MPEGDecoder } from "mpg123-decoder";
import { extract } from "tar-stream";
import { parseMp3FrameHeader } from "./audio/mp3.ts";

/** Small helpers for the fakes' own tests: plain fetch, real decoders, a real tar reader. */

export const KEY = "test-key";

// biome-ignore lint/suspicious/noExplicitAny: tests poke at loosely shaped JSON replies
export type Json = any;

/** A fetch Response whose `json()` is loosely typed, so assertions can reach into replies. */
export type JsonResponse = Omit<Response, "json"> & { json(): Promise<Json> };

export function fetchJson(url: string, init?: RequestInit): Promise<JsonResponse> {
  return fetch(url, init) as Promise<JsonResponse>;
}

export async function postJson(
  url: string,
  body: unknown,
  opts: { key?: string | null; method?: string } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const key = opts.key === undefined ? KEY : opts.key;
  if (key !== null) headers.Authorization = `Bearer ${key}`;
  return fetchJson(url, { method: opts.method ?? "POST", headers, body: JSON.stringify(body) });
}

export async function getJson(url: string, key: string | null = KEY): Promise<JsonResponse> {
  return fetchJson(url, { headers: key === null ? {} : { Authorization: `Bearer ${key}` } });
}

export interface DecodedAudio {
  sampleRate: number;
  channels: number;
  durationMs: number;
  /** First channel, for frequency checks. */
  samples: Float32Array;
}

export async function decodeMp3(bytes: Buffer): Promise<DecodedAudio> {
  const header = parseMp3FrameHeader(bytes, 0);
  if (!header) throw new Error("no MPEG frame at offset 0");
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const out = decoder.decode(new Uint8Array(bytes));
    if (out.errors.length > 0)
      throw new Error(`mp3 decode errors: ${out.errors.map((e) => e.message).join(", ")}`);
    // mpg123-decoder always hands back two channels; the frame header says what was encoded.
    return {
      sampleRate: out.sampleRate,
      channels: header.channels,
      durationMs: (out.samplesDecoded / out.sampleRate) * 1000,
      samples: out.channelData[0]!,
    };
  } finally {
    decoder.free();
  }
}

export async function decodeFlac(bytes: Buffer): Promise<DecodedAudio & { channelData: Float32Array[] }> {
  const decoder = new FLACDecoder();
  await decoder.ready;
  try {
    const out = await decoder.decodeFile(new Uint8Array(bytes));
    if (out.errors.length > 0)
      throw new Error(`flac decode errors: ${out.errors.map((e) => e.message).join(", ")}`);
    return {
      sampleRate: out.sampleRate,
      channels: out.channelData.length,
      durationMs: (out.samplesDecoded / out.sampleRate) * 1000,
      samples: out.channelData[0]!,
      channelData: out.channelData,
    };
  } finally {
    decoder.free();
  }
}

/** Dominant frequency from upward zero crossings: plenty for a single sine. */
export function dominantFrequency(samples: Float32Array | Int16Array, sampleRate: number): number {
  let crossings = 0;
  let first = -1;
  let last = -1;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i - 1]! <= 0 && samples[i]! > 0) {
      if (first < 0) first = i;
      last = i;
      crossings++;
    }
  }
  return crossings > 1 ? ((crossings - 1) * sampleRate) / (last - first) : 0;
}

export function int16Channel(pcm: Buffer, channels: number, channel = 0): Int16Array {
  const frames = pcm.length / (2 * channels);
  const out = new Int16Array(frames);
  for (let i = 0; i < frames; i++) out[i] = pcm.readInt16LE((i * channels + channel) * 2);
  return out;
}

export interface UntarredEntry {
  name: string;
  type: string;
  size: number;
  linkname: string | null | undefined;
  content: Buffer;
}

/** Reads an archive with tar-stream, the library the real client is likely to use. */
export async function untar(archive: Buffer): Promise<UntarredEntry[]> {
  const entries: UntarredEntry[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        entries.push({
          name: header.name,
          type: header.type ?? "file",
          size: header.size ?? 0,
          linkname: header.linkname,
          content: Buffer.concat(chunks),
        });
        next();
      });
      stream.on("error", reject);
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
  });
  ex.end(archive);
  await done;
  return entries;
}

export interface SseEvent {
  raw: string;
  json: Json;
}

/** Splits an SSE body on blank lines (LF or CRLF) and parses each `data:` payload. */
export function parseSse(body: string): SseEvent[] {
  return body
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const data = block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      let json: Json;
      try {
        json = JSON.parse(data);
      } catch {
        json = undefined;
      }
      return { raw: data, json };
    });
}

/** Resolves with the error a fetch body read fails with (truncated replies), or undefined if it completes. */
export async function bodyError(response: Pick<Response, "arrayBuffer">): Promise<unknown> {
  try {
    await response.arrayBuffer();
    return undefined;
  } catch (error) {
    return error;
  }
}
