import { bufferFromInt16, createStreamingResampler, int16FromBuffer, toStereo } from "../audio/resample.ts";

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
 * Converts a provider's PCM (any rate, mono or stereo) to voice PCM as it streams in, so playback can
 * start on the first chunk. Resampling runs before the channel duplication: half the work for mono.
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
