import OpusScript from "opusscript";
import { OPUS_CHANNELS, OPUS_RATE } from "./protocol.ts";

/**
 * 48 kHz stereo Opus decoding with opusscript, deliberately not the bot's @discordjs/opus, so an
 * encoder bug cannot be hidden by the same library decoding its own output.
 */

export interface OpusDecoder {
  /** Interleaved stereo samples of one packet; throws on an undecodable packet. */
  decode(packet: Buffer): Int16Array;
  /** Frees the wasm memory (not garbage collected). Safe to call twice. */
  delete(): void;
}

export function createOpusDecoder(): OpusDecoder {
  let opus: OpusScript | undefined = new OpusScript(OPUS_RATE, OPUS_CHANNELS);
  const decodeOnce = (decoder: OpusScript, packet: Buffer): Int16Array => {
    const bytes = decoder.decode(packet);
    // opusscript hands back little-endian bytes that may sit at any offset of a pooled buffer.
    return new Int16Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  };
  return {
    decode(packet) {
      if (!opus) throw new Error("Opus decoder used after delete()");
      try {
        return decodeOnce(opus, packet);
      } catch (error) {
        // Other opusscript instances in this process (the bot's encoders) can grow the shared wasm heap,
        // which detaches this decoder's views; a fresh decoder only loses one frame of prediction state.
        if (!(error instanceof TypeError && /detached/i.test(error.message))) throw error;
        opus.delete();
        opus = new OpusScript(OPUS_RATE, OPUS_CHANNELS);
        return decodeOnce(opus, packet);
      }
    },
    delete() {
      opus?.delete();
      opus = undefined;
    },
  };
}
