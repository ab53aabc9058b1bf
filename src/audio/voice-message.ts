import type { AudioFormat } from "./format.ts";
import { createOggOpusWriter } from "./ogg.ts";
import { encodeOpus, OPUS_PRE_SKIP, OPUS_RATE } from "./opus-encode.ts";
import { bufferFromInt16, int16FromBuffer, resamplePcm16, toMono } from "./resample.ts";
import { type PcmShape, parseWav } from "./wav.ts";
import { waveformBase64 } from "./waveform.ts";

/**
 * Native Discord voice messages: the mono 48 kHz Ogg/Opus file at ~32 kb/s that Discord's own client
 * records, plus the `duration_secs` and `waveform` its attachment needs.
 */

export const VOICE_MESSAGE_BITRATE = 32_000;

/** Interleaved signed 16-bit little-endian PCM. */
export interface PcmAudio {
  pcm: Buffer;
  sampleRate: number;
  channels: number;
}

export interface VoiceMessage {
  ogg: Buffer;
  /** Length of the input audio, for the attachment's `duration_secs`. */
  durationSecs: number;
  /** Base64 of up to 256 amplitude bytes, for the attachment's `waveform`. */
  waveform: string;
  /** Size of `ogg`, to check against the upload limit. */
  bytes: number;
}

/**
 * Encodes PCM as a voice message. Synchronous and CPU-bound: a minute of speech blocks the event loop
 * for roughly 0.7 s on one server core (resampling ~0.2 s, libopus in wasm ~0.4 s).
 */
export function toVoiceMessage(input: PcmAudio): VoiceMessage {
  const mono = toMono(int16FromBuffer(input.pcm), input.channels);
  if (mono.length === 0) throw new Error("a voice message needs at least one sample of audio");
  const pcm48k = resamplePcm16(mono, input.sampleRate, OPUS_RATE, 1);
  // The decoder drops the first pre-skip samples (the encoder's look-ahead), so the input is extended
  // by that much silence to get its last samples out; the last granule position then trims the rest.
  const padded = new Int16Array(pcm48k.length + OPUS_PRE_SKIP);
  padded.set(pcm48k);
  const { packets, samplesPerPacket } = encodeOpus(padded, {
    channels: 1,
    bitrate: VOICE_MESSAGE_BITRATE,
    application: "voip",
  });
  const writer = createOggOpusWriter({
    channels: 1,
    inputSampleRate: input.sampleRate,
    preSkip: OPUS_PRE_SKIP,
    vendor: "opusscript",
  });
  for (const packet of packets) writer.addPacket(packet, samplesPerPacket);
  const ogg = writer.finish(pcm48k.length);
  return {
    ogg,
    durationSecs: Math.round((mono.length / input.sampleRate) * 1000) / 1000,
    waveform: waveformBase64(mono, 1),
    bytes: ogg.length,
  };
}

export type RawPcmShape = Partial<PcmShape> & Pick<PcmShape, "sampleRate" | "channels">;

/**
 * Decodes a TTS result to 16-bit PCM. wav and raw pcm are read directly (16-bit only, as MiniMax
 * sends them); mp3 and flac go through the wasm decoders `mpg123-decoder` and
 * `@wasm-audio-decoders/flac`, imported on first use so the rest of the bot loads without them.
 */
export async function decodeToPcm(
  audio: Buffer,
  format: AudioFormat,
  shape?: RawPcmShape,
): Promise<PcmAudio> {
  switch (format) {
    case "wav": {
      const wav = parseWav(audio);
      if (wav.bitsPerSample !== 16) throw new Error(`unsupported WAV sample size ${wav.bitsPerSample} bits`);
      return { pcm: wav.data, sampleRate: wav.sampleRate, channels: wav.channels };
    }
    case "pcm": {
      if (!shape) throw new Error("raw PCM needs its sample rate and channels");
      if ((shape.bitsPerSample ?? 16) !== 16)
        throw new Error(`unsupported PCM sample size ${shape.bitsPerSample}`);
      return { pcm: audio, sampleRate: shape.sampleRate, channels: shape.channels };
    }
    case "mp3": {
      const { MPEGDecoder } = await import("mpg123-decoder");
      const decoder = new MPEGDecoder();
      try {
        await decoder.ready;
        return fromDecoded(decoder.decode(audio), "mp3");
      } finally {
        decoder.free();
      }
    }
    case "flac": {
      const { FLACDecoder } = await import("@wasm-audio-decoders/flac");
      const decoder = new FLACDecoder();
      try {
        await decoder.ready;
        return fromDecoded(await decoder.decodeFile(audio), "flac");
      } finally {
        decoder.free();
      }
    }
  }
}

export interface DecodedAudio {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

/** Planar float samples from the wasm decoders to interleaved int16 (asymmetric scale, clamped). */
export function fromDecoded(decoded: DecodedAudio, format: string): PcmAudio {
  const { channelData, samplesDecoded, sampleRate } = decoded;
  if (samplesDecoded === 0 || channelData.length === 0) {
    const reason = decoded.errors[0]?.message ?? "no audio frames";
    throw new Error(`could not decode ${format}: ${reason}`);
  }
  const channels = channelData.length;
  const out = new Int16Array(samplesDecoded * channels);
  for (let c = 0; c < channels; c++) {
    const data = channelData[c]!;
    for (let i = 0; i < samplesDecoded; i++) {
      const s = data[i]!;
      out[i * channels + c] = s >= 1 ? 32767 : s <= -1 ? -32768 : Math.round(s < 0 ? s * 32768 : s * 32767);
    }
  }
  return { pcm: bufferFromInt16(out), sampleRate, channels };
}
