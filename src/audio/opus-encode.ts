import OpusScript from "opusscript";
import { bufferFromInt16 } from "./resample.ts";

/**
 * Opus encoding of 48 kHz PCM with opusscript (libopus 1.4 compiled to WebAssembly). Frames are 20 ms
 * (960 samples per channel), the frame size Discord uses for voice and its voice messages.
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
