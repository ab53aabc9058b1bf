import type { KeyPackage } from "ts-mls";
import { DAVE_OPS } from "./framing.ts";
import { isDaveFrame, type MemberSettings, SimMember } from "./member.ts";
import {
  checkKeyPackage,
  createExternalSender,
  type ExternalSenderKey,
  externalProposal,
  parseCommit,
  parseWelcome,
  proposalsPayload,
  sameBytes,
  snowflakeBytes,
  welcomeFor,
} from "./mls.ts";

/**
 * The voice gateway's DAVE side for one voice session of the bot: protocol version negotiation, the
 * MLS delivery service (external sender, key packages, add/remove proposals with append and revoke,
 * the first valid commit of an epoch announced with a transition, welcomes cut per new member),
 * transitions (prepare, ready, execute, with a timeout), downgrade to protocol 0 while a member
 * without DAVE is present and upgrade after it leaves, the sole-member reset, and recovery after
 * op 31. The other people in the bot's channel are simulated members (davey sessions) that commit,
 * get welcomed and decrypt the bot's frames. Work runs one event at a time, in order.
 */

export type Json = Record<string, unknown>;

/** What the delivery service needs from the bot's voice session. */
export interface BotLink {
  userId: string;
  channelId(): string;
  sendJson(op: number, d: unknown): void;
  sendBinary(op: number, payload: Uint8Array): void;
  /** Other users now in the bot's channel. */
  present(): string[];
}

export interface CallConfig {
  /** Settings of simulated members by user id. */
  memberSettings(userId: string): MemberSettings;
  transitionTimeoutMs: number;
  /** Takes one pending corruption of the bot's next op 29 or op 30, if any. */
  takeCorruption(kind: "commit" | "welcome"): boolean;
  /** While true, commits wait (as if the gateway were slow to pick one) until `releaseCommits`. */
  holdingCommits(): boolean;
  changed(): void;
}

export interface HeardFrame {
  /** The Opus frame a present member got out of it (undefined: nobody could use it). */
  opus: Buffer | undefined;
  /** Carried DAVE's E2EE wrapping. */
  e2ee: boolean;
  /** Members (present or departed) that decrypted it or, for plaintext, accepted it. */
  decryptedBy: string[];
  failedBy: string[];
}

export interface DaveEvent {
  at: number;
  what: string;
  detail?: Json;
}

export interface ExecutedTransition {
  id: number;
  protocolVersion: number;
  /** `performance.now()` when op 22 went out. */
  at: number;
  epoch: bigint;
  /** Users in the group after it. */
  members: string[];
}

interface Participant {
  userId: string;
  member?: SimMember;
  keyPackage?: { kp: KeyPackage; ref: Uint8Array };
  externalSenderSent: boolean;
  /** Sent op 31 (or joined): a new key package is due before the group changes around it. */
  awaitingKeyPackage: boolean;
  /** Refs (hex) of unrevoked proposals this participant was sent in the current epoch. */
  received: Set<string>;
}

interface Leaf {
  userId: string;
  /** The member said it lost the group (op 31): its leaf must be removed. */
  stale: boolean;
}

interface Proposal {
  refHex: string;
  ref: Uint8Array;
  kind: "add" | "remove";
  userId: string;
  leaf?: number;
  keyPackageRef?: Uint8Array;
  encoded: Uint8Array;
}

interface Transition {
  id: number;
  protocolVersion: number;
  waiting: Set<string>;
  recipients: string[];
  timer: NodeJS.Timeout;
}

const KEY_PACKAGE_WAIT_MS = 1500;

export class DaveCall {
  readonly bot: BotLink;
  /** Protocol version in effect (after the last executed transition). */
  protocolVersion = 0;
  established = false;
  epoch = 0n;
  readonly events: DaveEvent[] = [];
  readonly transitions: ExecutedTransition[] = [];
  /** Members who left; they keep trying the bot's frames. */
  readonly departed: SimMember[] = [];
  /** Commits refused (stale epoch, wrong proposals, unparsable), with the reason. */
  readonly rejectedCommits: string[] = [];
  readonly invalidKeyPackages: string[] = [];
  /** op 31 received from the bot, by transition id. */
  readonly invalidReports: number[] = [];
  readonly errors: Error[] = [];
  /** Key packages the bot sent. */
  botKeyPackages = 0;
  /** Commits the bot sent (op 28) and how many of them the gateway announced. */
  botCommits = 0;
  botCommitsAnnounced = 0;
  welcomesToBot = 0;
  /** Commits waiting while the gateway holds them. */
  readonly heldCommits: Array<{ from: string; payload: Buffer }> = [];

  readonly #config: CallConfig;
  readonly #participants = new Map<string, Participant>();
  #leaves: Array<Leaf | null> = [];
  #groupId: Uint8Array = new Uint8Array(8);
  readonly #proposals = new Map<string, Proposal>();
  #transition?: Transition;
  #nextTransitionId = 1;
  #externalSender?: ExternalSenderKey;
  #queue: Promise<void> = Promise.resolve();
  #upgrading = false;
  #closed = false;
  #waitTimer?: NodeJS.Timeout;

  constructor(bot: BotLink, config: CallConfig) {
    this.bot = bot;
    this.#config = config;
  }

  // ── public view ────────────────────────────────────────────────────────────────────────────

  /** Simulated members now in the channel. */
  get members(): SimMember[] {
    return [...this.#participants.values()].flatMap((p) => (p.member ? [p.member] : []));
  }

  member(userId: string): SimMember | undefined {
    return this.#participants.get(userId)?.member ?? this.departed.findLast((m) => m.userId === userId);
  }

  /** Users holding a (non-stale) leaf of the established group, in leaf order. */
  groupMembers(): string[] {
    return this.#leaves.flatMap((l) => (l && !l.stale ? [l.userId] : []));
  }

  /** True once the bot is in the established group and no transition is pending. */
  get settled(): boolean {
    return this.established && !this.#transition && this.groupMembers().includes(this.bot.userId);
  }

  /**
   * One of the bot's Opus frames (transport decryption done) as the people in the channel get it:
   * every present member tries it, and so does every departed one (to show it cannot follow). The
   * audio is the first present member's result; with nobody else there, only a frame without E2EE
   * is audio at all.
   */
  hear(frame: Buffer): HeardFrame {
    const decryptedBy: string[] = [];
    const failedBy: string[] = [];
    let opus: Buffer | undefined;
    let e2ee = false;
    const present = this.members;
    for (const m of present) {
      const r = m.receive(this.bot.userId, frame);
      e2ee ||= r.e2ee;
      if (r.ok) {
        opus ??= r.opus;
        decryptedBy.push(m.userId);
      } else failedBy.push(m.userId);
    }
    for (const m of this.departed) {
      const r = m.receive(this.bot.userId, frame);
      if (!r.ok) failedBy.push(m.userId);
      else if (r.e2ee) decryptedBy.push(m.userId);
    }
    if (present.length === 0) {
      e2ee = isDaveFrame(frame);
      if (!e2ee) opus = frame;
    }
    return { opus, e2ee, decryptedBy, failedBy };
  }

  /** Resolves after every queued event has been handled. */
  idle(): Promise<void> {
    return this.#queue;
  }

  // ── inputs ─────────────────────────────────────────────────────────────────────────────────

  /** SELECT PROTOCOL accepted: the version SESSION DESCRIPTION carries. */
  negotiate(botMaxVersion: number): number {
    const version =
      botMaxVersion >= 1 && this.#present().every((id) => this.#settingsOf(id).dave !== false) ? 1 : 0;
    this.protocolVersion = version;
    this.#participants.set(this.bot.userId, this.#participant(this.bot.userId));
    this.#log("negotiate", { protocolVersion: version });
    return version;
  }

  /** After SESSION DESCRIPTION went out: the external sender package, and the members' state. */
  begin(): void {
    const version = this.protocolVersion;
    this.#enqueue(async () => {
      this.#externalSender = await createExternalSender("1");
      this.#groupId = snowflakeBytes(this.bot.channelId());
      // Members already in the channel settle their own group first; the bot's key package, sent
      // as soon as it reads SESSION DESCRIPTION, is handled after this.
      if (version === 1) this.#sendExternalSender(this.#participants.get(this.bot.userId)!);
      await this.#syncMembers();
    });
  }

  /** The world changed (someone joined or left the bot's channel). */
  sync(): void {
    this.#enqueue(() => this.#syncMembers());
  }

  fromBotJson(op: number, d: Json): void {
    if (op === DAVE_OPS.TransitionReady) {
      this.#enqueue(async () => this.#ready(this.bot.userId, Number(d.transition_id)));
    } else if (op === DAVE_OPS.MlsInvalidCommitWelcome) {
      const id = Number(d.transition_id);
      this.invalidReports.push(id);
      this.#enqueue(() => this.#invalid(this.bot.userId, id));
    }
  }

  fromBotBinary(op: number, payload: Buffer): void {
    if (op === DAVE_OPS.MlsKeyPackage) {
      this.botKeyPackages += 1;
      this.#enqueue(() => this.#keyPackage(this.bot.userId, payload));
    } else if (op === DAVE_OPS.MlsCommitWelcome) {
      this.botCommits += 1;
      this.#enqueue(() => this.#commit(this.bot.userId, payload));
    }
  }

  /** Handles the commits held so far, in arrival order. */
  releaseCommits(): void {
    this.#enqueue(async () => {
      for (const c of this.heldCommits.splice(0)) await this.#commit(c.from, c.payload, true);
    });
  }

  /** Sends the bot an op 27 it cannot parse (for testing how a client survives one). */
  sendGarbageProposals(): void {
    this.bot.sendBinary(DAVE_OPS.MlsProposals, Buffer.from([0, 5, 1, 2, 3, 4, 5]));
    this.#log("garbage proposals sent");
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#transition?.timer);
    clearTimeout(this.#waitTimer);
    for (const m of [...this.members, ...this.departed]) m.dispose();
  }

  // ── machinery ──────────────────────────────────────────────────────────────────────────────

  #enqueue(task: () => Promise<void>): void {
    this.#queue = this.#queue
      .then(async () => {
        if (this.#closed) return;
        await task();
        await this.#reconcile();
      })
      .catch((error: unknown) => {
        this.errors.push(error instanceof Error ? error : new Error(String(error)));
      })
      .finally(() => this.#config.changed());
  }

  #log(what: string, detail?: Json): void {
    this.events.push({ at: performance.now(), what, ...(detail ? { detail } : {}) });
  }

  #settingsOf(userId: string): MemberSettings {
    return this.#config.memberSettings(userId);
  }

  #present(): string[] {
    return this.bot.present();
  }

  #participant(userId: string, member?: SimMember): Participant {
    return { userId, member, externalSenderSent: false, awaitingKeyPackage: false, received: new Set() };
  }

  #isBot(p: Participant): boolean {
    return p.userId === this.bot.userId;
  }

  #wantVersion(): number {
    return [...this.#participants.values()].every((p) => this.#isBot(p) || p.member?.dave) ? 1 : 0;
  }

  #armKeyPackageWait(): void {
    clearTimeout(this.#waitTimer);
    this.#waitTimer = setTimeout(() => {
      for (const p of this.#participants.values()) p.awaitingKeyPackage = false;
      this.#enqueue(async () => {});
    }, KEY_PACKAGE_WAIT_MS);
    this.#waitTimer.unref();
  }

  async #syncMembers(): Promise<void> {
    const present = new Set(this.#present());
    for (const [userId, p] of this.#participants) {
      if (this.#isBot(p) || present.has(userId)) continue;
      this.#participants.delete(userId);
      if (p.member) {
        p.member.departed = true;
        this.departed.push(p.member);
      }
      this.#transition?.waiting.delete(userId);
      this.#log("member left", { userId });
    }
    for (const userId of present) {
      if (this.#participants.has(userId)) continue;
      const member = new SimMember(userId, this.bot.channelId(), this.#settingsOf(userId));
      const p = this.#participant(userId, member);
      this.#participants.set(userId, p);
      this.#log("member joined", { userId, dave: member.dave });
      if (member.dave && (this.protocolVersion === 1 || this.#upgrading)) await this.#memberKeyPackage(p, 1);
    }
    this.#checkTransitionDone();
  }

  async #memberKeyPackage(p: Participant, version: number): Promise<void> {
    const kp = p.member?.reset(version);
    if (!kp) return;
    this.#sendExternalSender(p);
    await this.#keyPackage(p.userId, kp);
  }

  #sendExternalSender(p: Participant): void {
    if (p.externalSenderSent || !this.#externalSender) return;
    p.externalSenderSent = true;
    if (this.#isBot(p)) this.bot.sendBinary(DAVE_OPS.MlsExternalSender, this.#externalSender.encoded);
    else p.member?.setExternalSender(this.#externalSender.encoded);
  }

  async #keyPackage(userId: string, bytes: Uint8Array): Promise<void> {
    const p = this.#participants.get(userId);
    if (!p) return;
    const check = await checkKeyPackage(bytes, userId);
    if (!check.ok) {
      this.invalidKeyPackages.push(`${userId}: ${check.reason}`);
      this.#log("invalid key package", { userId, reason: check.reason });
      return;
    }
    const previous = p.keyPackage;
    p.keyPackage = { kp: check.keyPackage, ref: check.ref };
    p.awaitingKeyPackage = false;
    this.#log("key package", { userId });
    // A replaced key package: its add proposal, if any is out, is revoked.
    if (previous) {
      for (const prop of this.#proposals.values()) {
        if (prop.kind === "add" && prop.userId === userId) this.#revoke([prop]);
      }
    }
  }

  /** Brings the group towards what the channel needs, one step at a time. */
  async #reconcile(): Promise<void> {
    if (this.#closed || this.#transition) return;
    if ([...this.#participants.values()].some((p) => p.awaitingKeyPackage)) return;
    const want = this.#wantVersion();
    if (want === 0 && this.protocolVersion === 1) return this.#downgrade();
    if (want === 1 && this.protocolVersion === 0 && !this.#upgrading) return this.#upgrade();
    if (this.protocolVersion === 0 && !this.#upgrading) return;
    // Outstanding adds of people who left are revoked.
    const gone = [...this.#proposals.values()].filter(
      (p) => p.kind === "add" && !this.#participants.has(p.userId),
    );
    if (gone.length > 0) this.#revoke(gone);
    if (this.established) await this.#reconcileEstablished();
    else await this.#reconcilePending();
  }

  async #reconcileEstablished(): Promise<void> {
    const present = this.#participants;
    const removals: Array<{ leaf: number; userId: string }> = [];
    this.#leaves.forEach((leaf, index) => {
      if (leaf && (leaf.stale || !present.has(leaf.userId)))
        removals.push({ leaf: index, userId: leaf.userId });
    });
    const inGroup = new Set(this.groupMembers());
    const adds = [...present.values()].filter(
      (p) => p.keyPackage && !inGroup.has(p.userId) && (this.#isBot(p) || p.member?.dave),
    );
    const remaining = this.groupMembers().filter((id) => present.has(id));
    if (remaining.length <= 1 && adds.length === 0) {
      if (remaining.length === 1) await this.#soleMemberReset(present.get(remaining[0]!)!);
      else this.#resetGroup();
      return;
    }
    if (remaining.length === 0) {
      this.#resetGroup();
      return;
    }
    const fresh: Proposal[] = [];
    for (const r of removals) {
      if ([...this.#proposals.values()].some((p) => p.kind === "remove" && p.leaf === r.leaf)) continue;
      fresh.push(await this.#propose("remove", r.userId, { removed: r.leaf }));
    }
    for (const p of adds) {
      if ([...this.#proposals.values()].some((x) => x.kind === "add" && x.userId === p.userId)) continue;
      fresh.push(await this.#propose("add", p.userId, undefined, p.keyPackage!));
    }
    if (fresh.length === 0) return;
    const committers = remaining.map((id) => present.get(id)!);
    await this.#deliverProposals(committers, fresh);
  }

  async #reconcilePending(): Promise<void> {
    // Initial group creation: every pending member with a key package is proposed to the others.
    const pending = [...this.#participants.values()].filter(
      (p) => p.keyPackage && (this.#isBot(p) || p.member?.dave),
    );
    if (pending.length < 2) return;
    const fresh: Proposal[] = [];
    for (const p of pending) {
      if ([...this.#proposals.values()].some((x) => x.kind === "add" && x.userId === p.userId)) continue;
      fresh.push(await this.#propose("add", p.userId, undefined, p.keyPackage!));
    }
    if (fresh.length === 0) return;
    const all = [...this.#proposals.values()];
    for (const recipient of pending) {
      if (this.established || this.#transition) return;
      this.#sendExternalSender(recipient);
      const due = all.filter((x) => x.userId !== recipient.userId && !recipient.received.has(x.refHex));
      if (due.length > 0) await this.#deliverProposals([recipient], due);
    }
  }

  async #propose(
    kind: "add" | "remove",
    userId: string,
    remove?: { removed: number },
    keyPackage?: { kp: KeyPackage; ref: Uint8Array },
  ): Promise<Proposal> {
    const signed = await externalProposal(
      { groupId: this.#groupId, epoch: this.epoch, externalSender: this.#externalSender! },
      kind === "add"
        ? { proposalType: "add", add: { keyPackage: keyPackage!.kp } }
        : { proposalType: "remove", remove: remove! },
    );
    const proposal: Proposal = {
      refHex: Buffer.from(signed.ref).toString("hex"),
      ref: signed.ref,
      kind,
      userId,
      ...(remove ? { leaf: remove.removed } : {}),
      ...(keyPackage ? { keyPackageRef: keyPackage.ref } : {}),
      encoded: signed.encoded,
    };
    this.#proposals.set(proposal.refHex, proposal);
    this.#log(`propose ${kind}`, {
      userId,
      epoch: Number(this.epoch),
      ...(remove ? { leaf: remove.removed } : {}),
    });
    return proposal;
  }

  async #deliverProposals(recipients: Participant[], proposals: Proposal[]): Promise<void> {
    const payload = proposalsPayload(
      "append",
      proposals.map((p) => p.encoded),
    );
    const commits: Array<{ from: string; payload: Buffer }> = [];
    for (const r of recipients) {
      for (const p of proposals) r.received.add(p.refHex);
      if (this.#isBot(r)) {
        this.bot.sendBinary(DAVE_OPS.MlsProposals, payload);
        continue;
      }
      const member = r.member!;
      // Every member caches the proposals (a commit references them); only committers send one.
      const result = member.proposals(payload, this.#present().concat(this.bot.userId));
      if (member.commits && result.commit) {
        commits.push({
          from: r.userId,
          payload: result.welcome ? Buffer.concat([result.commit, result.welcome]) : result.commit,
        });
      }
    }
    for (const c of commits) {
      if (this.#transition) break;
      await this.#commit(c.from, c.payload);
    }
  }

  #revoke(proposals: Proposal[]): void {
    for (const p of proposals) this.#proposals.delete(p.refHex);
    this.#log("revoke", { users: proposals.map((p) => p.userId) });
    for (const r of this.#participants.values()) {
      const had = proposals.filter((p) => r.received.delete(p.refHex));
      if (had.length === 0) continue;
      const payload = proposalsPayload(
        "revoke",
        had.map((p) => p.ref),
      );
      if (this.#isBot(r)) this.bot.sendBinary(DAVE_OPS.MlsProposals, payload);
      else r.member?.proposals(payload, this.#present().concat(this.bot.userId));
    }
  }

  async #commit(from: string, payload: Buffer, released = false): Promise<void> {
    if (!released && this.#config.holdingCommits()) {
      this.heldCommits.push({ from, payload });
      this.#log("commit held", { from });
      return;
    }
    const committer = this.#participants.get(from);
    const reject = (reason: string) => {
      this.rejectedCommits.push(`${from}: ${reason}`);
      this.#log("commit rejected", { from, reason });
    };
    if (!committer) return reject("not in the channel");
    if (this.#transition) return reject("a commit for this epoch was already announced");
    const parsed = parseCommit(payload);
    if (!parsed) return reject("not an MLS public commit");
    if (!sameBytes(parsed.groupId, this.#groupId)) return reject("wrong group");
    if (parsed.epoch !== this.epoch) return reject(`epoch ${parsed.epoch}, expected ${this.epoch}`);
    if (parsed.inlineProposals > 0) return reject("proposals by value");
    if (parsed.pathIdentity !== undefined && parsed.pathIdentity !== from) {
      return reject("the commit changes the committer's credential");
    }
    const expectedLeaf = this.established ? this.#leaves.findIndex((l) => l?.userId === from && !l.stale) : 0;
    if (parsed.senderLeaf !== expectedLeaf) return reject(`sender leaf ${parsed.senderLeaf}`);
    const refs = parsed.refs.map((r) => Buffer.from(r).toString("hex"));
    const expected = [...committer.received].filter((r) => this.#proposals.has(r));
    if (refs.length === 0) return reject("no proposals");
    if (refs.length !== expected.length || !refs.every((r) => expected.includes(r))) {
      return reject("does not reference exactly the unrevoked proposals");
    }
    const proposals = refs.map((r) => this.#proposals.get(r)!);
    const adds = proposals.filter((p) => p.kind === "add");
    const rest = payload.subarray(parsed.length);
    const welcome = rest.length > 0 ? parseWelcome(rest) : undefined;
    if (adds.length > 0 && !welcome) return reject("adds without a welcome");
    if (welcome && adds.some((a) => !welcomeFor(welcome, a.keyPackageRef!))) {
      return reject("the welcome lacks a new member's secrets");
    }
    const commitBytes = payload.subarray(0, parsed.length);
    if (from === this.bot.userId) this.botCommitsAnnounced += 1;
    await this.#announce(from, commitBytes, proposals, welcome);
  }

  async #announce(
    from: string,
    commit: Buffer,
    proposals: Proposal[],
    welcome: ReturnType<typeof parseWelcome>,
  ): Promise<void> {
    const before = this.established ? this.groupMembers().filter((id) => this.#participants.has(id)) : [from];
    if (!this.established) this.#leaves = [{ userId: from, stale: false }];
    for (const p of proposals.filter((x) => x.kind === "remove")) this.#leaves[p.leaf!] = null;
    while (this.#leaves.length > 0 && this.#leaves.at(-1) === null) this.#leaves.pop();
    const added: Array<{ userId: string; welcome: Uint8Array | undefined }> = [];
    for (const p of proposals.filter((x) => x.kind === "add")) {
      const free = this.#leaves.indexOf(null);
      const leaf: Leaf = { userId: p.userId, stale: false };
      if (free >= 0) this.#leaves[free] = leaf;
      else this.#leaves.push(leaf);
      added.push({ userId: p.userId, welcome: welcome ? welcomeFor(welcome, p.keyPackageRef!) : undefined });
    }
    this.established = true;
    this.epoch += 1n;
    this.#proposals.clear();
    for (const p of this.#participants.values()) p.received.clear();
    const id = this.#nextId();
    const version = 1;
    const recipients = [
      ...before.filter((u) => this.groupMembers().includes(u)),
      ...added.map((a) => a.userId),
    ];
    const transition: Transition = {
      id,
      protocolVersion: version,
      waiting: new Set(recipients),
      recipients,
      timer: setTimeout(() => this.#enqueue(async () => this.#execute(id)), this.#config.transitionTimeoutMs),
    };
    transition.timer.unref();
    this.#transition = transition;
    this.#log("announce commit", {
      from,
      transitionId: id,
      epoch: Number(this.epoch),
      adds: added.map((a) => a.userId),
      removes: proposals.filter((x) => x.kind === "remove").map((x) => x.userId),
    });
    const head = Buffer.alloc(2);
    head.writeUInt16BE(id);
    for (const userId of before) {
      if (!this.groupMembers().includes(userId)) continue;
      const p = this.#participants.get(userId);
      if (!p) continue;
      if (this.#isBot(p)) {
        const body = Buffer.concat([head, commit]);
        this.bot.sendBinary(DAVE_OPS.MlsAnnounceCommitTransition, this.#maybeCorrupt("commit", body));
      } else if (p.member?.commit(id, commit)) this.#readyNow(userId, id);
      else await this.#invalid(userId, id);
    }
    for (const a of added) {
      const p = this.#participants.get(a.userId);
      if (!p || !a.welcome) continue;
      if (this.#isBot(p)) {
        this.welcomesToBot += 1;
        const body = Buffer.concat([head, a.welcome]);
        this.bot.sendBinary(DAVE_OPS.MlsWelcome, this.#maybeCorrupt("welcome", body));
      } else if (p.member?.welcome(id, Buffer.from(a.welcome))) this.#readyNow(a.userId, id);
      else await this.#invalid(a.userId, id);
    }
    this.#checkTransitionDone();
  }

  #maybeCorrupt(kind: "commit" | "welcome", body: Buffer): Buffer {
    if (!this.#config.takeCorruption(kind)) return body;
    const copy = Buffer.from(body);
    copy[copy.length - 1]! ^= 0xff;
    copy[copy.length - 9]! ^= 0x55;
    this.#log(`corrupted ${kind} sent to the bot`);
    return copy;
  }

  #nextId(): number {
    const id = this.#nextTransitionId;
    this.#nextTransitionId = (this.#nextTransitionId % 0xffff) + 1;
    return id;
  }

  #ready(userId: string, id: number): void {
    this.#log("ready", { userId, transitionId: id });
    this.#readyNow(userId, id);
  }

  #readyNow(userId: string, id: number): void {
    const t = this.#transition;
    if (!t || t.id !== id) return;
    t.waiting.delete(userId);
    this.#checkTransitionDone();
  }

  #checkTransitionDone(): void {
    const t = this.#transition;
    if (t && t.waiting.size === 0) this.#execute(t.id);
  }

  #execute(id: number): void {
    const t = this.#transition;
    if (!t || t.id !== id) return;
    clearTimeout(t.timer);
    this.#transition = undefined;
    for (const userId of t.recipients) {
      const p = this.#participants.get(userId);
      if (!p) continue;
      if (this.#isBot(p)) this.bot.sendJson(DAVE_OPS.ExecuteTransition, { transition_id: id });
      else p.member?.executeTransition(id);
    }
    const was = this.protocolVersion;
    this.protocolVersion = t.protocolVersion;
    this.#upgrading = false;
    if (t.protocolVersion === 0) this.#resetGroup();
    this.transitions.push({
      id,
      protocolVersion: t.protocolVersion,
      at: performance.now(),
      epoch: this.epoch,
      members: this.groupMembers(),
    });
    this.#log("execute transition", {
      transitionId: id,
      from: was,
      to: t.protocolVersion,
      late: [...t.waiting],
    });
  }

  /** op 31: the participant could not process the commit or welcome of transition `id`. */
  async #invalid(userId: string, id: number): Promise<void> {
    const p = this.#participants.get(userId);
    this.#log("invalid commit/welcome", { userId, transitionId: id });
    if (!p) return;
    for (const leaf of this.#leaves) if (leaf?.userId === userId) leaf.stale = true;
    p.keyPackage = undefined;
    if (this.#isBot(p)) {
      p.awaitingKeyPackage = true;
      this.#armKeyPackageWait();
    }
    this.#readyNow(userId, id);
    if (!this.#isBot(p)) await this.#memberKeyPackage(p, 1);
  }

  #downgrade(): void {
    const id = this.#nextId();
    const recipients = [...this.#participants.values()]
      .filter((p) => this.#isBot(p) || p.member?.dave)
      .map((p) => p.userId);
    const transition: Transition = {
      id,
      protocolVersion: 0,
      waiting: new Set(recipients),
      recipients,
      timer: setTimeout(() => this.#enqueue(async () => this.#execute(id)), this.#config.transitionTimeoutMs),
    };
    transition.timer.unref();
    this.#transition = transition;
    this.#log("downgrade", { transitionId: id });
    for (const userId of recipients) {
      const p = this.#participants.get(userId)!;
      if (this.#isBot(p))
        this.bot.sendJson(DAVE_OPS.PrepareTransition, { transition_id: id, protocol_version: 0 });
      else {
        p.member?.prepareTransition(id, 0);
        transition.waiting.delete(userId);
      }
    }
    this.#checkTransitionDone();
  }

  async #upgrade(): Promise<void> {
    this.#upgrading = true;
    this.#resetGroup();
    this.#log("upgrade");
    for (const p of this.#participants.values()) {
      if (this.#isBot(p)) {
        this.bot.sendJson(DAVE_OPS.PrepareEpoch, { protocol_version: 1, epoch: 1 });
        this.#sendExternalSender(p);
        p.awaitingKeyPackage = true;
        this.#armKeyPackageWait();
      } else if (p.member?.dave) {
        await this.#memberKeyPackage(p, 1);
      }
    }
  }

  async #soleMemberReset(p: Participant): Promise<void> {
    this.#log("sole member reset", { userId: p.userId });
    this.#resetGroup();
    if (this.#isBot(p)) {
      this.bot.sendJson(DAVE_OPS.PrepareEpoch, { protocol_version: 1, epoch: 1 });
      this.bot.sendJson(DAVE_OPS.PrepareTransition, { transition_id: 0, protocol_version: 1 });
      p.awaitingKeyPackage = true;
      this.#armKeyPackageWait();
    } else {
      await this.#memberKeyPackage(p, 1);
      p.member?.prepareTransition(0, 1);
    }
  }

  /** Back to an unestablished group: no leaves, no proposals, every key package spent. */
  #resetGroup(): void {
    this.established = false;
    this.epoch = 0n;
    this.#leaves = [];
    this.#proposals.clear();
    this.#groupId = snowflakeBytes(this.bot.channelId());
    for (const p of this.#participants.values()) {
      p.received.clear();
      p.keyPackage = undefined;
    }
  }
}
