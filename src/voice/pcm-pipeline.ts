import { createNativeOpusEncoder, isOpusInputRate, type OpusInputRate } from "../audio/opus-encode.ts";
import { bufferFromInt16, createStreamingResampler, int16FromBuffer, toStereo } from "../audio/resample.ts";

/**
 * Provider PCM to what a voice channel carries.
 *
 * Playback uses {@link createPcmToOpus}: the provider's PCM (MiniMax streams 24 kHz mono) is cut into
 * 20 ms frames and encoded to Opus at its own rate and channel count, and @discordjs/voice is handed
 * the packets (`StreamType.Opus`). No resampler and no channel duplication run, and the encoder sees a
 * quarter of the samples it would at 48 kHz stereo: about half the CPU per stream in all, Opus and
 * sealing included (bench/voice-pipeline.ts), at the same 64 kb/s.
 *
 * Why a 24 kHz mono packet is valid on a channel Discord describes as "48 kHz, 2 channels":
 * - An Opus packet describes itself. Its TOC byte (RFC 6716 §3.1) carries the mode, the coded
 *   bandwidth, the frame duration and a mono/stereo flag, read by the decoder packet by packet; the
 *   encoder's input rate and channel count are not sent and not needed. RFC 6716 §2: input and output
 *   bandwidths "can be chosen independently on the encoder and decoder side", so a decoder opened at
 *   48 kHz decodes a packet from a 24 kHz encoder. RFC 7587 (Opus over RTP): stereo is signalled in-band
 *   with no arrangement in the payload format (§3.4), and the decoder must decode any audio bandwidth
 *   (§6.1, maxplaybackrate).
 * - libopus, which Discord's clients and `@discordjs/opus` are built on and `opusscript` compiles to
 *   wasm, does exactly that: `opus_decode_native` takes the channel count from each packet's TOC, and a
 *   decoder opened for stereo gives a mono packet's samples to both channels (celt_decoder.c: "Copying
 *   a mono streams to two channels"; silk dec_API.c: "Create two channel output from mono stream").
 *   The same goes for the decoders bots use: @discordjs/voice's receive side hands out the packets as
 *   they came (DAVE-decrypted), to be decoded with prism-media's opus.Decoder({ rate: 48000,
 *   channels: 2 }) over @discordjs/opus or opusscript, both libopus; the fake voice server here decodes
 *   with opusscript at 48 kHz stereo. test/audio/opus-encode.test.ts decodes these packets with both
 *   libraries at 48 kHz stereo and checks length, pitch and that the two channels are equal.
 * - Discord relies on it already: the silence frame its voice docs tell senders to send after speech,
 *   and @discordjs/voice sends, `f8 ff fe`, is a mono packet (TOC 0xf8: config 31, CELT fullband
 *   20 ms, s = 0).
 * - Timing is unchanged. A 20 ms packet decodes to 20 ms at any output rate (960 samples per channel at
 *   48 kHz), and the RTP timestamp runs on a 48 kHz clock whatever the encoder's rate (RFC 7587 §4.1):
 *   @discordjs/voice adds 960 per packet, which is right for our 480-sample (24 kHz) frames too.
 * - Bandwidth: a 24 kHz encoder codes up to super-wideband (12 kHz audio), all that 24 kHz provider
 *   audio holds; resampling it to 48 kHz first only made the encoder code an empty band.
 * - DAVE and transport encryption take the packet as opaque bytes (@discordjs/voice 0.19 passes every
 *   packet it sends through `DAVESession.encrypt`, whatever the resource's input type).
 *
 * Provider audio at a rate libopus does not take (an mp3 at 22.05 or 44.1 kHz, say) is resampled to
 * {@link VOICE_FALLBACK_RATE} first; the channel count is kept (1 or 2).
 */

/** Bits per second of voice Opus: Discord's default voice channel bitrate, plenty for speech. */
export const VOICE_BITRATE = 64_000;
/** What provider audio at a rate Opus cannot encode is resampled to: the rate voice asks providers for. */
export const VOICE_FALLBACK_RATE: OpusInputRate = 24_000;

export interface PcmToOpus {
  /** The rate the packets were encoded at (the input's, or {@link VOICE_FALLBACK_RATE}). */
  readonly sampleRate: OpusInputRate;
  readonly channels: 1 | 2;
  /** Provider PCM bytes in (s16le, split anywhere), one Opus packet per whole 20 ms frame out. */
  push(chunk: Uint8Array): Buffer[];
  /** The last partial frame, padded with silence, as a packet (none when there is none); ends the converter. */
  flush(): Buffer[];
}

export function createPcmToOpus(
  input: { sampleRate: number; channels: 1 | 2 },
  options: { bitrate?: number } = {},
): PcmToOpus {
  const { channels } = input;
  const sampleRate = isOpusInputRate(input.sampleRate) ? input.sampleRate : VOICE_FALLBACK_RATE;
  const resampler =
    sampleRate === input.sampleRate
      ? undefined
      : createStreamingResampler({ fromRate: input.sampleRate, toRate: sampleRate, channels });
  const encoder = createNativeOpusEncoder({
    sampleRate,
    channels,
    bitrate: options.bitrate ?? VOICE_BITRATE,
    application: "audio",
  });
  const frame = Buffer.alloc(encoder.frameBytes);
  let fill = 0;
  let done = false;

  const cut = (bytes: Uint8Array, out: Buffer[]): void => {
    for (let o = 0; o < bytes.length; ) {
      const n = Math.min(frame.length - fill, bytes.length - o);
      frame.set(bytes.subarray(o, o + n), fill);
      fill += n;
      o += n;
      if (fill === frame.length) {
        out.push(encoder.encodeFrame(frame));
        fill = 0;
      }
    }
  };

  return {
    sampleRate,
    channels,
    push(chunk) {
      if (done) throw new Error("push after flush");
      const out: Buffer[] = [];
      cut(resampler ? resampler.push(chunk) : chunk, out);
      return out;
    },
    flush() {
      if (done) throw new Error("flush called twice");
      done = true;
      const out: Buffer[] = [];
      if (resampler) cut(resampler.flush(), out);
      if (fill > 0) out.push(encoder.encodeFrame(frame.subarray(0, fill)));
      fill = 0;
      return out;
    },
  };
}

/* The previous pipeline, kept as the benchmarks' baseline (bench/voice-pipeline.ts, bench/opus.ts):
   48 kHz stereo PCM for @discordjs/voice to encode itself (`StreamType.Raw`). */

/** What Discord voice plays: 48 kHz, 2 channels, signed 16-bit little-endian (`StreamType.Raw`). */
export const VOICE_RATE = 48_000;
export const VOICE_CHANNELS = 2;
/** One 20 ms Opus frame of voice PCM: 960 frames × 2 channels × 2 bytes. */
export const VOICE_FRAME_BYTES = 3840;

export interface PcmToVoice {
  /** Provider PCM bytes in (split anywhere), 48 kHz stereo bytes out (possibly empty). */
  push(chunk: Uint8Array): Buffer;
  /** The resampler's held-back tail; the converter is finished afterwards. */
  flush(): Buffer;
}

/**
 * Converts a provider's PCM (any rate, mono or stereo) to 48 kHz stereo PCM as it streams in.
 * Resampling runs before the channel duplication: half the work for mono.
 */
export function createPcmToVoice(input: { sampleRate: number; channels: 1 | 2 }): PcmToVoice {
  const resampler = createStreamingResampler({
    fromRate: input.sampleRate,
    toRate: VOICE_RATE,
    channels: input.channels,
  });
  const stereo = (bytes: Buffer): Buffer =>
    input.channels === 2 || bytes.length === 0
      ? bytes
      : bufferFromInt16(toStereo(int16FromBuffer(bytes), input.channels));
  return {
    push: (chunk) => stereo(resampler.push(chunk)),
    flush: () => stereo(resampler.flush()),
  };
}
