import { type BotLink, DaveCall } from "./delivery.ts";
import type { MemberSettings } from "./member.ts";

/**
 * The fake's DAVE switches, as `voice.dave`: whether the server speaks DAVE at all (off: every
 * SESSION DESCRIPTION says protocol 0, as before 2026), the lowest protocol version a client must
 * offer (4017 otherwise), settings of simulated members, and one-shot faults for recovery tests.
 */

export interface DaveOptions {
  /** Speak DAVE (default true). */
  enabled?: boolean;
  /** Clients offering less are closed with 4017 (default 1; 2 simulates a retired v1). */
  minProtocolVersion?: number;
  /** How long a transition waits for every ready (op 23) before executing anyway (default 3000). */
  transitionTimeoutMs?: number;
}

export type DaveFault = "commit" | "welcome";

export class DaveControl {
  /** Speak DAVE in the next SELECT PROTOCOL (false: SESSION DESCRIPTION says 0). */
  enabled: boolean;
  minProtocolVersion: number;
  transitionTimeoutMs: number;
  /** While true, the delivery service holds the commits it receives (see `DaveCall.releaseCommits`). */
  holdCommits = false;
  /** IDENTIFYs closed with 4017. */
  refusals = 0;
  /** Every call so far (one per SELECT PROTOCOL with DAVE), oldest first. */
  readonly calls: DaveCall[] = [];
  readonly #settings = new Map<string, MemberSettings>();
  readonly #faults: DaveFault[] = [];
  readonly #changed: () => void;

  constructor(options: DaveOptions, changed: () => void) {
    this.enabled = options.enabled !== false;
    this.minProtocolVersion = options.minProtocolVersion ?? 1;
    this.transitionTimeoutMs = options.transitionTimeoutMs ?? 3000;
    this.#changed = changed;
  }

  /** How a user in the bot's channel behaves as a simulated member (applies when they next join). */
  configure(userId: string, settings: MemberSettings): void {
    this.#settings.set(userId, { ...this.#settings.get(userId), ...settings });
  }

  /** Corrupts the next commit (op 29) or welcome (op 30) sent to the bot, `count` times. */
  corruptNext(kind: DaveFault, count = 1): void {
    for (let i = 0; i < count; i++) this.#faults.push(kind);
  }

  /** Back to the defaults: DAVE on, version 1 required, no member settings, no faults. */
  reset(): void {
    this.enabled = true;
    this.minProtocolVersion = 1;
    this.holdCommits = false;
    this.#settings.clear();
    this.#faults.length = 0;
  }

  /** Faults not yet used. */
  get pendingFaults(): number {
    return this.#faults.length;
  }

  /** The newest call. */
  get current(): DaveCall | undefined {
    return this.calls.at(-1);
  }

  /** @internal */
  createCall(bot: BotLink): DaveCall {
    const call = new DaveCall(bot, {
      memberSettings: (userId) => this.#settings.get(userId) ?? {},
      transitionTimeoutMs: this.transitionTimeoutMs,
      takeCorruption: (kind) => {
        const index = this.#faults.indexOf(kind);
        if (index < 0) return false;
        this.#faults.splice(index, 1);
        return true;
      },
      holdingCommits: () => this.holdCommits,
      changed: this.#changed,
    });
    this.calls.push(call);
    return call;
  }
}
