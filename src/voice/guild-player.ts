import {
  type AudioPlayer,
  AudioPlayerStatus,
  createAudioPlayer,
  createAudioResource,
  NoSubscriberBehavior,
  StreamType,
  type VoiceConnection,
} from "@discordjs/voice";
import type { Logger } from "../logger.ts";
import type { SpeechRequest } from "../speech/types.ts";
import { createPlaybackQueue, type PlaybackQueue, type QueueLimits } from "./queue.ts";
import type { SourceOutcome, SpeechSource } from "./speech-source.ts";

/**
 * One guild's playback: a fair queue feeding one AudioPlayer. The clip after the current one is
 * opened (synthesis started) as soon as the current one starts, so there is no gap between clips.
 */

export interface PlayItem {
  id: string;
  userId: string;
  /** What `/queue` shows: the start of the text. */
  label: string;
  request: SpeechRequest;
  chars: number;
  queuedAt: number;
  /** Opened when the item plays, or earlier when it is next in line. */
  source?: SpeechSource;
  /** Called once with how the synthesis ended (billing, error reports). */
  onSettled?: (outcome: SourceOutcome, item: PlayItem) => void;
  /** The characters held for this clip since it was queued: settled by `onSettled`, released if dropped unheard. */
  reservation?: ClipReservation;
}

export interface ClipReservation {
  settle(actual?: number): Promise<void>;
  release(): Promise<void>;
}

export interface NowPlaying {
  item: PlayItem;
  startedAt: number;
}

export interface GuildPlayerDeps {
  guildId: string;
  openSource(request: SpeechRequest): SpeechSource;
  limits: QueueLimits;
  logger: Logger;
  /** Called when nothing is playing or waiting (the session starts its idle timer). */
  onIdle(): void;
  /** Called when something starts playing. */
  onBusy?(): void;
}

export interface GuildPlayer {
  readonly audio: AudioPlayer;
  /** Queues an item; returns its position: 0 when it plays at once. Throws QueueFullError. */
  enqueue(item: PlayItem): number;
  /** Stops the current clip; the next one starts. Returns the skipped item. */
  skip(): PlayItem | undefined;
  /** Stops the current clip and empties the queue. Returns how many items were dropped in all. */
  stop(): number;
  nowPlaying(): NowPlaying | undefined;
  upcoming(): PlayItem[];
  /** Stops everything; the player cannot be used afterwards. */
  destroy(): void;
}

export function createGuildPlayer(connection: VoiceConnection, deps: GuildPlayerDeps): GuildPlayer {
  const { logger } = deps;
  const queue: PlaybackQueue<PlayItem> = createPlaybackQueue(deps.limits);
  const audio = createAudioPlayer({
    // Without a ready connection (still joining, or reconnecting) the clip waits instead of running on.
    behaviors: { noSubscriber: NoSubscriberBehavior.Pause, maxMissedFrames: 250 },
  });
  connection.subscribe(audio);
  let current: NowPlaying | undefined;
  let destroyed = false;

  function open(item: PlayItem): SpeechSource {
    if (item.source) return item.source;
    const source = deps.openSource(item.request);
    item.source = source;
    void source.done.then((outcome) => item.onSettled?.(outcome, item));
    return source;
  }

  function playNext(): void {
    if (destroyed || current) return;
    const item = queue.shift();
    if (!item) {
      deps.onIdle();
      return;
    }
    const source = open(item);
    current = { item, startedAt: Date.now() };
    deps.onBusy?.();
    // Synthesis of the next clip overlaps this one.
    const next = queue.peek();
    if (next) open(next);
    // The source yields Opus packets it encoded itself (at the provider's 24 kHz mono, 64 kb/s), so
    // @discordjs/voice runs no transcoder: it only adds the RTP header and the DAVE and transport
    // encryption to each packet.
    const resource = createAudioResource(source.stream, { inputType: StreamType.Opus, metadata: item });
    audio.play(resource);
  }

  audio.on("stateChange", (oldState, newState) => {
    if (newState.status === AudioPlayerStatus.Idle && oldState.status !== AudioPlayerStatus.Idle) {
      current = undefined;
      playNext();
    }
  });
  audio.on("error", (err) => {
    logger.warn({ err, guild: deps.guildId }, "voice playback error; moving on to the next clip");
  });

  function drop(item: PlayItem): void {
    // A clip whose synthesis never started cost nothing: its reservation goes back.
    if (item.source) item.source.abort();
    else void item.reservation?.release();
  }

  return {
    audio,
    enqueue(item) {
      const position = queue.push(item);
      if (!current) {
        playNext();
        return 0;
      }
      // Became next in line while something plays: start fetching it now.
      if (queue.peek() === item) open(item);
      return position;
    },
    skip() {
      const playing = current;
      if (!playing) return undefined;
      drop(playing.item);
      // Not forced: the player ends the clip with its few frames of silence, so it does not click.
      audio.stop();
      return playing.item;
    },
    stop() {
      const cleared = queue.clear();
      for (const item of cleared) drop(item);
      const playing = current;
      if (playing) {
        drop(playing.item);
        audio.stop(true);
      }
      return cleared.length + (playing ? 1 : 0);
    },
    nowPlaying: () => current,
    upcoming: () => queue.list(),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const item of queue.clear()) drop(item);
      if (current) drop(current.item);
      current = undefined;
      audio.stop(true);
    },
  };
}
