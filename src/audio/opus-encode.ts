import { createRequire } from "node:module";
import { endianness } from "node:os";
import OpusScript from "opusscript";
import { bufferFromInt16 } from "./resample.ts";

/**
 * Opus encoding in 20 ms frames, the frame size Discord uses for voice and its voice messages.
 *
 * - `createOpusEncoder` / `encodeOpus`: 48 kHz PCM with opusscript (libopus 1.4 compiled to
 *   WebAssembly), for whole clips (voice messages).
 * - `createNativeOpusEncoder`: @discordjs/opus (native libopus, N-API) at any rate libopus takes,
 *   for voice-channel streams: 1.3–1.4× faster per frame than opusscript, garbage collected, and
 *   free of opusscript's shared wasm heap (which breaks older encoders when many are alive).
 */

export const OPUS_RATE = 48_000;
export const FRAME_SAMPLES = 960;
/** libopus look-ahead at 48 kHz for the VOIP and AUDIO applications: the Ogg pre-skip. */
export const OPUS_PRE_SKIP = 312;

export type OpusApplicationName = "voip" | "audio";

export interface OpusEncodeOptions {
  channels: 1 | 2;
  /** Bits per second; Discord's own voice messages use about 32 kb/s. */
  bitrate?: number;
  /** "voip" favours intelligibility of speech, "audio" fidelity of music. */
  application?: OpusApplicationName;
}

export interface OpusFrameEncoder {
  readonly channels: 1 | 2;
  /**
   * Encodes one 20 ms frame of interleaved samples (960 × channels). A shorter frame is padded with
   * silence, so the last piece of a clip can be passed as it is.
   */
  encodeFrame(frame: Int16Array): Buffer;
  /** Frees the encoder's WebAssembly memory. Safe to call twice; the encoder is unusable afterwards. */
  delete(): void;
}

const APPLICATIONS: Record<OpusApplicationName, number> = {
  voip: OpusScript.Application.VOIP,
  audio: OpusScript.Application.AUDIO,
};

/**
 * A reusable encoder (for a voice-channel stream, one per connection). Its wasm memory is not garbage
 * collected: every encoder must end with `delete()`.
 *
 * Keep encoders short-lived or few: opusscript keeps views into its wasm heap, and when the heap has to
 * grow (about a hundred live stereo encoders fill the initial one) the views of every encoder created
 * before go stale and those encoders throw on their next frame. `encodeOpus` is synchronous, so its
 * encoder never outlives a growth.
 */
export function createOpusEncoder(options: OpusEncodeOptions): OpusFrameEncoder {
  const { channels, bitrate = 32_000, application = "voip" } = options;
  if (channels !== 1 && channels !== 2) throw new RangeError("Opus channels must be 1 or 2");
  const opus = new OpusScript(OPUS_RATE, channels, APPLICATIONS[application]);
  try {
    opus.setBitrate(bitrate);
  } catch (error) {
    opus.delete();
    throw error;
  }
  const frameLength = FRAME_SAMPLES * channels;
  const padded = new Int16Array(frameLength);
  let deleted = false;
  return {
    channels,
    encodeFrame(frame) {
      if (deleted) throw new Error("Opus encoder used after delete()");
      if (frame.length > frameLength) {
        throw new RangeError(`an Opus frame holds ${frameLength} samples, got ${frame.length}`);
      }
      let input = frame;
      if (frame.length < frameLength) {
        padded.fill(0);
        padded.set(frame);
        input = padded;
      }
      try {
        // opusscript takes little-endian bytes (it reassembles the int16 samples inside the wasm).
        return opus.encode(bufferFromInt16(input), FRAME_SAMPLES);
      } catch (error) {
        if (error instanceof TypeError && /detached/i.test(error.message)) {
          throw new Error(
            "Opus encoder invalidated: the opusscript wasm heap grew (too many live encoders)",
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    },
    delete() {
      if (deleted) return;
      deleted = true;
      opus.delete();
    },
  };
}

export interface OpusPackets {
  packets: Buffer[];
  samplesPerPacket: typeof FRAME_SAMPLES;
}

/**
 * Encodes a whole clip of interleaved 48 kHz PCM into 20 ms packets, the last one padded with silence.
 * The decoder output starts {@link OPUS_PRE_SKIP} samples late, so callers that need every sample
 * back (voice messages) append that much silence first.
 */
export function encodeOpus(pcm48k: Int16Array, options: OpusEncodeOptions): OpusPackets {
  const encoder = createOpusEncoder(options);
  try {
    const frameLength = FRAME_SAMPLES * options.channels;
    const packets: Buffer[] = [];
    for (let i = 0; i < pcm48k.length; i += frameLength) {
      packets.push(encoder.encodeFrame(pcm48k.subarray(i, i + frameLength)));
    }
    return { packets, samplesPerPacket: FRAME_SAMPLES };
  } finally {
    encoder.delete();
  }
}

/**
 * The input rates libopus encodes without resampling (RFC 6716 §2: narrowband to fullband). Whatever
 * the input rate, the packets decode at any of these rates: the decoder's output rate is its own choice.
 */
export const OPUS_INPUT_RATES = [8000, 12000, 16000, 24000, 48000] as const;
export type OpusInputRate = (typeof OPUS_INPUT_RATES)[number];

export function isOpusInputRate(rate: number): rate is OpusInputRate {
  return (OPUS_INPUT_RATES as readonly number[]).includes(rate);
}

/** Milliseconds of audio in every packet the encoders here make. */
export const OPUS_FRAME_MS = 20;

export interface NativeOpusEncoderOptions {
  sampleRate: OpusInputRate;
  channels: 1 | 2;
  /** Bits per second. */
  bitrate: number;
  /** Default "audio": what @discordjs/opus (and so @discordjs/voice) uses. */
  application?: OpusApplicationName;
}

export interface NativeOpusEncoder {
  readonly sampleRate: OpusInputRate;
  readonly channels: 1 | 2;
  /** Bytes of one 20 ms frame of interleaved s16le input: rate / 50 × channels × 2. */
  readonly frameBytes: number;
  /**
   * Encodes one 20 ms frame of interleaved little-endian s16 bytes into one Opus packet (a new
   * Buffer). A shorter frame is padded with silence; the input is not kept.
   */
  encodeFrame(frame: Uint8Array): Buffer;
}

/** libopus `OPUS_SET_APPLICATION_REQUEST` and its values (opus_defines.h). */
const OPUS_SET_APPLICATION = 4000;
const NATIVE_APPLICATIONS: Record<OpusApplicationName, number> = { voip: 2048, audio: 2049 };

type NativeOpusClass = typeof import("@discordjs/opus").OpusEncoder;
let nativeOpus: NativeOpusClass | undefined;

/** Loaded on first use: only voice playback needs the native module. */
function loadNativeOpus(): NativeOpusClass {
  if (nativeOpus) return nativeOpus;
  try {
    // CommonJS whose exports the ESM loader cannot see statically (it re-exports a prebuilt .node file).
    const require = createRequire(import.meta.url);
    nativeOpus = (require("@discordjs/opus") as typeof import("@discordjs/opus")).OpusEncoder;
    return nativeOpus;
  } catch (error) {
    throw new Error(
      "voice playback needs the native @discordjs/opus module, which did not load (run npm ci again so it is fetched or built)",
      { cause: error },
    );
  }
}

const BIG_ENDIAN = endianness() === "BE";

/**
 * A native libopus encoder for one stream. No `delete()`: the N-API object frees libopus's state
 * when it is garbage collected. The encoder state is created on the first CTL, here, so a bad rate,
 * channel count or bitrate throws at once rather than on the first frame.
 */
export function createNativeOpusEncoder(options: NativeOpusEncoderOptions): NativeOpusEncoder {
  const { sampleRate, channels, bitrate, application = "audio" } = options;
  if (!isOpusInputRate(sampleRate)) throw new RangeError(`Opus cannot encode ${sampleRate} Hz`);
  if (channels !== 1 && channels !== 2) throw new RangeError("Opus channels must be 1 or 2");
  const Encoder = loadNativeOpus();
  const opus = new Encoder(sampleRate, channels);
  if (application !== "audio") opus.applyEncoderCTL(OPUS_SET_APPLICATION, NATIVE_APPLICATIONS[application]);
  opus.setBitrate(bitrate);
  const frameBytes = ((sampleRate * OPUS_FRAME_MS) / 1000) * channels * 2;
  // The binding takes the frame size from the buffer's length and reads the bytes as native-endian
  // int16, so every call gets exactly one frame, in an aligned buffer of its own.
  const scratch = Buffer.alloc(frameBytes);
  return {
    sampleRate,
    channels,
    frameBytes,
    encodeFrame(frame) {
      if (frame.length > frameBytes) {
        throw new RangeError(`a 20 ms Opus frame holds ${frameBytes} bytes, got ${frame.length}`);
      }
      scratch.set(frame);
      if (frame.length < frameBytes) scratch.fill(0, frame.length);
      if (BIG_ENDIAN) scratch.swap16();
      return opus.encode(scratch);
    },
  };
}
