import { OPUS_CHANNELS, OPUS_RATE } from "./protocol.ts";

/**
 * What a listener in the channel heard from one session: decoded 20 ms frames with their arrival
 * times, and the silence frames between clips (kept as markers, never as audio).
 */

export interface AudioSegment {
  /** `performance.now()` of the segment's first and last packet. */
  startAt: number;
  endAt: number;
  /** Length of the decoded audio. */
  durationMs: number;
  packets: number;
  /** 48 kHz stereo, interleaved. */
  pcm: Int16Array;
}

interface Frame {
  at: number;
  /** Absent for a silence frame. */
  pcm?: Int16Array;
}

export function concatPcm(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

export function pcmDurationMs(samples: number): number {
  return (samples / OPUS_CHANNELS / OPUS_RATE) * 1000;
}

export class AudioTrack {
  readonly #frames: Frame[] = [];
  #samples = 0;

  addAudio(at: number, pcm: Int16Array): void {
    this.#frames.push({ at, pcm });
    this.#samples += pcm.length;
  }

  addSilence(at: number): void {
    this.#frames.push({ at });
  }

  pcm(): Int16Array {
    return concatPcm(this.#frames.flatMap((f) => (f.pcm ? [f.pcm] : [])));
  }

  durationMs(): number {
    return pcmDurationMs(this.#samples);
  }

  /**
   * Clips as a listener would tell them apart: a silence frame ends one (clients send a run of them
   * after every clip), and so does a pause in arrival longer than `gapMs` (RTP timestamps cannot show
   * it: clients only advance them for packets they send).
   */
  segments(gapMs = 60): AudioSegment[] {
    const out: AudioSegment[] = [];
    let current: { startAt: number; endAt: number; chunks: Int16Array[] } | undefined;
    let lastAt = Number.NEGATIVE_INFINITY;
    const flush = () => {
      if (!current) return;
      const pcm = concatPcm(current.chunks);
      out.push({
        startAt: current.startAt,
        endAt: current.endAt,
        durationMs: pcmDurationMs(pcm.length),
        packets: current.chunks.length,
        pcm,
      });
      current = undefined;
    };
    for (const frame of this.#frames) {
      if (!frame.pcm || frame.at - lastAt > gapMs) flush();
      lastAt = frame.at;
      if (!frame.pcm) continue;
      current ??= { startAt: frame.at, endAt: frame.at, chunks: [] };
      current.chunks.push(frame.pcm);
      current.endAt = frame.at;
    }
    flush();
    return out;
  }
}
