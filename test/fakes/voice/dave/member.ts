import Davey from "@snazzah/davey";
import { SILENCE_FRAME } from "../protocol.ts";

/**
 * A simulated listener in the voice channel: another Discord client with its own davey DAVESession
 * (a real MLS member), driven by the delivery service the way the voice gateway drives a client. It
 * decrypts the bot's frames as a receiving client would, so every audible frame can be checked per
 * member. A member without DAVE (`dave: false`) only ever hears transport-encrypted, unwrapped frames.
 */

/** Seconds the previous keys stay usable around a transition, as in Discord's clients. */
const TRANSITION_EXPIRY_S = 10;
const DOWNGRADE_EXPIRY_S = 24;
/** DAVE's protocol frame check: every E2EE frame ends with this magic marker. */
const MAGIC_MARKER = 0xfafa;
/** davey's MediaType.AUDIO (a const enum, which isolated modules cannot read). */
const MEDIA_AUDIO = 0;

export interface MemberSettings {
  /** Supports DAVE (default true); a member without it downgrades the call to protocol 0. */
  dave?: boolean;
  /** Commits proposals it receives (default true; every DAVE v1 member is a committing member). */
  commits?: boolean;
}

export interface MemberStats {
  /** E2EE frames this member decrypted. */
  decrypted: number;
  /** Frames it could not use (E2EE it has no key for, or plaintext where E2EE was required). */
  failed: number;
  /** Plaintext frames it accepted (protocol 0 or a passthrough window). */
  passthrough: number;
}

export type FrameResult = { ok: true; opus: Buffer; e2ee: boolean } | { ok: false; e2ee: boolean };

export function isDaveFrame(frame: Buffer): boolean {
  return frame.length > 2 && frame.readUInt16BE(frame.length - 2) === MAGIC_MARKER;
}

export class SimMember {
  readonly userId: string;
  readonly dave: boolean;
  readonly commits: boolean;
  readonly stats: MemberStats = { decrypted: 0, failed: 0, passthrough: 0 };
  /** Protocol version its transforms use now. */
  protocolVersion = 0;
  /** Left the channel: it keeps trying the bot's frames, to show it cannot follow new epochs. */
  departed = false;
  readonly session?: Davey.DAVESession;
  readonly #channelId: string;
  readonly #pending = new Map<number, number>();
  #externalSenderSet = false;

  constructor(userId: string, channelId: string, settings: MemberSettings = {}) {
    this.userId = userId;
    this.#channelId = channelId;
    this.dave = settings.dave !== false;
    this.commits = settings.commits !== false;
    if (this.dave) this.session = new Davey.DAVESession(1, userId, channelId);
  }

  get ready(): boolean {
    return this.session?.ready ?? false;
  }

  get epoch(): bigint | undefined {
    return this.session?.epoch ?? undefined;
  }

  get leafIndex(): number | undefined {
    return this.session?.ownLeafIndex ?? undefined;
  }

  /** Starts (or restarts, on prepare epoch 1) a pending local state: returns the new key package. */
  reset(protocolVersion: number): Buffer | undefined {
    if (!this.session) return undefined;
    this.protocolVersion = protocolVersion;
    this.session.reinit(protocolVersion, this.userId, this.#channelId);
    return this.session.getSerializedKeyPackage();
  }

  setExternalSender(pkg: Uint8Array): void {
    if (!this.session || this.#externalSenderSet) return;
    this.session.setExternalSender(Buffer.from(pkg));
    this.#externalSenderSet = true;
  }

  proposals(payload: Buffer, recognized: string[]): { commit?: Buffer; welcome?: Buffer } {
    if (!this.session) return {};
    return this.session.processProposals(payload.readUInt8(0), payload.subarray(1), recognized);
  }

  /** Processes an announced commit; false if it could not (the member would send op 31). */
  commit(transitionId: number, commit: Buffer): boolean {
    try {
      this.session?.processCommit(commit);
    } catch {
      return false;
    }
    this.#pending.set(transitionId, 1);
    return true;
  }

  welcome(transitionId: number, welcome: Buffer): boolean {
    try {
      this.session?.processWelcome(welcome);
    } catch {
      return false;
    }
    this.#pending.set(transitionId, 1);
    return true;
  }

  prepareTransition(transitionId: number, protocolVersion: number): void {
    this.#pending.set(transitionId, protocolVersion);
    if (protocolVersion === 0) this.session?.setPassthroughMode(true, DOWNGRADE_EXPIRY_S);
    if (transitionId === 0) this.executeTransition(0);
  }

  executeTransition(transitionId: number): void {
    const version = this.#pending.get(transitionId);
    if (version === undefined) return;
    this.#pending.delete(transitionId);
    if (version === 1 && this.protocolVersion === 0)
      this.session?.setPassthroughMode(true, TRANSITION_EXPIRY_S);
    this.protocolVersion = version;
  }

  /** What this member makes of one of the bot's Opus frames (after transport decryption). */
  receive(senderId: string, frame: Buffer): FrameResult {
    const e2ee = isDaveFrame(frame);
    if (frame.equals(SILENCE_FRAME)) return { ok: true, opus: frame, e2ee: false };
    const session = this.session;
    if (!e2ee && (!session || this.protocolVersion === 0 || !session.ready)) {
      // Transport-only media, or a member still waiting for its group (its decryptor passes through).
      this.stats.passthrough += 1;
      return { ok: true, opus: frame, e2ee };
    }
    if (!session?.ready) {
      this.stats.failed += 1;
      return { ok: false, e2ee };
    }
    try {
      const opus = session.decrypt(senderId, MEDIA_AUDIO, frame);
      if (e2ee) this.stats.decrypted += 1;
      else this.stats.passthrough += 1;
      return { ok: true, opus, e2ee };
    } catch {
      this.stats.failed += 1;
      return { ok: false, e2ee };
    }
  }

  dispose(): void {
    try {
      this.session?.reset();
    } catch {
      // already reset
    }
  }
}
