import { type AudioSegment, AudioTrack } from "./audio-track.ts";
import type { DaveCall } from "./dave/delivery.ts";
import { serverFrame } from "./dave/framing.ts";
import { createOpusDecoder, type OpusDecoder } from "./opus-decoder.ts";
import { FRAME_SAMPLES, RTP_PAYLOAD_TYPE_OPUS, SILENCE_FRAME } from "./protocol.ts";
import { decryptRtp } from "./rtp.ts";

/**
 * One voice session: born from an accepted IDENTIFY, kept across RESUMEs on new websockets, ended when
 * the bot leaves, is kicked, identifies again, or the fake invalidates it. Holds what the client sent
 * (raw payloads, speaking events, RTP counters) and the audio a listener would have heard.
 */

export type Json = Record<string, unknown>;

export interface SpeakingEvent {
  /** `performance.now()` on arrival. */
  at: number;
  speaking: number;
  delay: unknown;
  ssrc: unknown;
}

export interface PacketInfo {
  /** `performance.now()` on arrival. */
  at: number;
  sequence: number;
  timestamp: number;
  nonce: number;
  silence: boolean;
  /** False when Discord would not forward it (bot muted, suppressed, or without SPEAK). */
  audible: boolean;
  /** The payload after transport decryption (still E2EE-wrapped when `e2ee`). */
  opus: Buffer;
  /** Carried DAVE's end-to-end encryption. */
  e2ee: boolean;
  /** With DAVE: the simulated members (present or departed) that could / could not use the frame. */
  decryptedBy?: string[];
  failedBy?: string[];
  /** Decoded 48 kHz stereo (absent for silence and inaudible packets). */
  pcm?: Int16Array;
}

/** What the session's websocket (if any) does for it. */
export interface SessionLink {
  sendText(text: string): void;
  sendBinary(data: Buffer): void;
  close(code: number, reason: string): void;
}

export interface SessionInit {
  ordinal: number;
  guildId: string;
  channelId: string;
  userId: string;
  sessionId: string;
  token: string;
  identify: Json;
  ssrc: number;
  maxDaveProtocolVersion: number;
}

const OUTBOX_LIMIT = 200;

export class VoiceSession {
  readonly ordinal: number;
  readonly guildId: string;
  /** Follows moves of the bot between channels. */
  channelId: string;
  readonly userId: string;
  /** The bot's voice-state session id that IDENTIFY carried. */
  readonly sessionId: string;
  readonly token: string;
  readonly identify: Json;
  readonly ssrc: number;
  readonly maxDaveProtocolVersion: number;
  readonly createdAt = performance.now();

  selectProtocol?: Json;
  mode?: string;
  secretKey?: Uint8Array;
  /** What SESSION DESCRIPTION negotiated (0: DAVE declined). */
  daveProtocolVersion?: number;
  /** The DAVE delivery service of this session, when the fake speaks DAVE. */
  dave?: DaveCall;
  /** Where IP discovery saw the client's UDP socket. */
  discoveredAddress?: { address: string; port: number };
  readonly speaking: SpeakingEvent[] = [];
  /** User ids the fake has announced with CLIENTS_CONNECT and not yet with CLIENT_DISCONNECT. */
  readonly announcedClients = new Set<string>();

  heartbeats = 0;
  lastSeqAck?: number;
  resumed = 0;
  /** Buffered messages sent again after a RESUME. */
  replayed = 0;
  /** No websocket attached right now (dropped, or ended). */
  closed = false;
  /** Not resumable any more. */
  ended = false;
  endReason?: string;
  /** Code of the latest websocket close (by either side) and every one before it. */
  closeCode?: number;
  readonly closeCodes: number[] = [];

  /** Audible Opus packets (silence frames excluded). */
  packets = 0;
  silenceFrames = 0;
  decryptFailures = 0;
  /** Packets Discord would not forward: the bot is muted, suppressed or lacks SPEAK. */
  inaudiblePackets = 0;
  /** Not RTP version 2 with Opus payload type 0x78, or too short, or before SESSION DESCRIPTION. */
  rejectedPackets = 0;
  sequenceErrors = 0;
  /** Timestamps that did not advance by exactly 960 from the previous packet. */
  timestampErrors = 0;
  /** Nonce counters that did not increase: a reused AEAD nonce leaks the key stream. */
  nonceReuses = 0;
  decodeErrors = 0;
  keepalives = 0;
  /** Audible frames carrying DAVE's E2EE, and audible frames without it (silence excluded). */
  e2eeFrames = 0;
  plainFrames = 0;
  /** Audible frames no member in the channel could use (E2EE without the key, or plaintext refused). */
  undecryptable = 0;
  /** `performance.now()` of IDENTIFY and of the first audible E2EE frame a member decrypted. */
  identifiedAt = performance.now();
  firstE2eeAt?: number;
  /** `performance.now()` of the first audible, non-silence packet. */
  firstPacketAt?: number;
  /** `performance.now()` of the latest packet of any kind. */
  lastPacketAt?: number;

  /** v8 sequence of server messages, with the tail kept for RESUME. */
  seq = 0;
  readonly outbox: Array<{ seq: number; text?: string; binary?: Buffer }> = [];
  link?: SessionLink;

  readonly #track = new AudioTrack();
  #decoder?: OpusDecoder;
  #last?: { sequence: number; timestamp: number; nonce: number };

  constructor(init: SessionInit) {
    this.ordinal = init.ordinal;
    this.guildId = init.guildId;
    this.channelId = init.channelId;
    this.userId = init.userId;
    this.sessionId = init.sessionId;
    this.token = init.token;
    this.identify = init.identify;
    this.ssrc = init.ssrc;
    this.maxDaveProtocolVersion = init.maxDaveProtocolVersion;
  }

  /** Sends a sequenced message now if a websocket is attached, and keeps it for a later RESUME. */
  sendSequenced(op: number, d: unknown): void {
    this.seq += 1;
    const text = JSON.stringify({ op, d, seq: this.seq });
    this.outbox.push({ seq: this.seq, text });
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.shift();
    this.link?.sendText(text);
  }

  /** A binary DAVE message: `seq:u16 op:u8 payload`, sequenced with the JSON messages. */
  sendBinarySequenced(op: number, payload: Uint8Array): void {
    this.seq += 1;
    const binary = serverFrame(this.seq, op, payload);
    this.outbox.push({ seq: this.seq, binary });
    if (this.outbox.length > OUTBOX_LIMIT) this.outbox.shift();
    this.link?.sendBinary(binary);
  }

  describe(mode: string, secretKey: Uint8Array, daveProtocolVersion = 0): void {
    this.mode = mode;
    this.secretKey = secretKey;
    this.daveProtocolVersion = daveProtocolVersion;
    // Created before audio flows so the wasm compile of the first decoder does not delay packets.
    this.#decoder ??= createOpusDecoder();
  }

  receive(packet: Buffer, at: number, audible: boolean): PacketInfo | undefined {
    this.lastPacketAt = at;
    if (!this.mode || !this.secretKey || !this.#decoder) {
      this.rejectedPackets += 1;
      return undefined;
    }
    const result = decryptRtp(packet, this.mode, this.secretKey);
    if (!result.ok) {
      if (result.reason === "auth") this.decryptFailures += 1;
      else this.rejectedPackets += 1;
      return undefined;
    }
    const { header, nonce, payload } = result;
    if (header.payloadType !== RTP_PAYLOAD_TYPE_OPUS) {
      this.rejectedPackets += 1;
      return undefined;
    }
    this.#checkOrder(header.sequence, header.timestamp, nonce);
    const silence = payload.equals(SILENCE_FRAME);
    const info: PacketInfo = {
      at,
      sequence: header.sequence,
      timestamp: header.timestamp,
      nonce,
      silence,
      audible,
      opus: payload,
      e2ee: false,
    };
    if (!audible) {
      this.inaudiblePackets += 1;
      return info;
    }
    if (silence) {
      this.silenceFrames += 1;
      this.#track.addSilence(at);
      return info;
    }
    let opus: Buffer | undefined = payload;
    if (this.dave) {
      const heard = this.dave.hear(payload);
      info.e2ee = heard.e2ee;
      info.decryptedBy = heard.decryptedBy;
      info.failedBy = heard.failedBy;
      opus = heard.opus;
    }
    if (info.e2ee) this.e2eeFrames += 1;
    else this.plainFrames += 1;
    if (!opus) {
      this.undecryptable += 1;
      return info;
    }
    if (info.e2ee) this.firstE2eeAt ??= at;
    try {
      info.pcm = this.#decoder.decode(opus);
    } catch {
      this.decodeErrors += 1;
      return info;
    }
    this.packets += 1;
    this.firstPacketAt ??= at;
    this.#track.addAudio(at, info.pcm);
    return info;
  }

  #checkOrder(sequence: number, timestamp: number, nonce: number): void {
    const last = this.#last;
    if (last) {
      if (sequence !== ((last.sequence + 1) & 0xffff)) this.sequenceErrors += 1;
      if (timestamp !== (last.timestamp + FRAME_SAMPLES) >>> 0) this.timestampErrors += 1;
      if (nonce <= last.nonce) this.nonceReuses += 1;
    }
    this.#last = { sequence, timestamp, nonce };
  }

  /** All audio heard, 48 kHz stereo interleaved, silence frames excluded. */
  pcm(): Int16Array {
    return this.#track.pcm();
  }

  durationMs(): number {
    return this.#track.durationMs();
  }

  segments(gapMs = 60): AudioSegment[] {
    return this.#track.segments(gapMs);
  }

  /** Frees the decoder; recorded audio stays readable. */
  dispose(): void {
    this.dave?.close();
    this.#decoder?.delete();
    this.#decoder = undefined;
  }
}
