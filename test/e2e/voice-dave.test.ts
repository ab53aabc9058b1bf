import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { dominantFrequency } from "../fakes/audio/frequency.ts";
import { toneFrequencyFor } from "../fakes/audio/tone.ts";
import type { DaveCall, ExecutedTransition } from "../fakes/voice/dave/delivery.ts";
import {
  type FakeVoice,
  type PacketInfo,
  startFakeVoice,
  trustFakeVoiceCertificate,
  VOICE_CLOSE,
  type VoiceSession,
} from "../fakes/voice/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/**
 * DAVE (Discord's end-to-end encrypted voice) end to end: the whole bot joins the fake voice server,
 * which runs the MLS delivery service and simulates the other people in the channel as DAVE members
 * (davey sessions). Each test drives one part of the protocol's lifecycle and checks the audio the
 * members decrypted: joining by Welcome and by the bot's own commit, members joining and leaving in
 * the middle of a clip, the sole-member reset, a downgrade to transport-only encryption and back,
 * recovery from a corrupt Welcome or commit, and what members are told when DAVE cannot work.
 */

/** Frames in flight when a transition executes may still use the previous epoch. */
const TRANSITION_MARGIN_MS = 150;
const VOICE = "Calm_Woman";
const LONG_TEXT =
  "This is a long clip read aloud for the end to end encryption tests, long enough that people can join and leave the call while it plays, and the group changes under it more than once before it is over.";

let h: Harness;
let voice: FakeVoice;
let voiceChannelId: string;
let textChannelId: string;
const packets: Array<{ session: VoiceSession; info: PacketInfo }> = [];
const users: string[] = [];

beforeAll(async () => {
  trustFakeVoiceCertificate();
  h = await startHarness({ env: { VOICE_IDLE_TIMEOUT_SECONDS: "60" } });
  voice = await startFakeVoice(h.discord);
  voice.on("packet", (session, info) => packets.push({ session, info }));
  const f = h.discord.fixtures;
  voiceChannelId = f.channels.voice.id;
  textChannelId = f.channels.text.id;
  for (const name of ["ada", "bo", "cy", "di", "ed", "fay"]) {
    users.push(h.discord.addMember({ username: name, globalName: name }));
  }
}, 30_000);

afterAll(async () => {
  await h?.close();
  await voice?.close();
});

const world = () => h.discord.state.world;
const botId = () => world().botId;
const botInVoice = () => world().voiceStates.get(botId())?.channelId ?? null;

let callsBefore = 0;
beforeEach(() => {
  voice.dave.reset();
  packets.length = 0;
  callsBefore = voice.dave.calls.length;
});

afterEach(async () => {
  const admin = h.discord.fixtures.users.admin.id;
  if (botInVoice()) {
    await h.discord.dispatchCommand({ name: "leave", user: admin }).waitForResponse();
    await waitFor(() => botInVoice() === null, 5000, "the bot to leave voice");
  }
  for (const user of users) if (world().voiceStates.has(user)) h.discord.setVoiceState(user, null);
  for (const user of users) voice.reconnectMember(user);
  h.minimax.reset();
  // The fake's own delivery service never failed internally.
  expect(voice.dave.calls.slice(callsBefore).flatMap((c) => c.errors)).toEqual([]);
  expect(voice.internalErrors).toEqual([]);
});

function inVoice(...ids: string[]): void {
  for (const id of ids) h.discord.setVoiceState(id, voiceChannelId);
}

function speak(user: string, text = LONG_TEXT) {
  return h.discord.dispatchCommand({ name: "speak", user, options: { text, voice: VOICE, play: true } });
}

/** The bot's newest voice session once it has played `ms` of audio. */
async function playing(before: number, ms: number, timeoutMs = 15_000): Promise<VoiceSession> {
  await waitFor(
    () => (voice.sessions.slice(before).at(-1)?.durationMs() ?? 0) >= ms,
    timeoutMs,
    `${ms} ms of audio`,
  );
  return voice.sessions.slice(before).at(-1)!;
}

function callOf(session: VoiceSession): DaveCall {
  if (!session.dave) throw new Error("the session has no DAVE call");
  return session.dave;
}

async function transition(
  call: DaveCall,
  match: (t: ExecutedTransition) => boolean,
  what: string,
): Promise<ExecutedTransition> {
  await waitFor(() => call.transitions.some(match), 8000, what);
  return call.transitions.find(match)!;
}

/** Audible frames of the session that arrived after `t` (plus the margin) and before `until`. */
function framesAfter(session: VoiceSession, t: number, until = Number.POSITIVE_INFINITY): PacketInfo[] {
  return packets
    .filter((p) => p.session === session && p.info.audible && !p.info.silence)
    .map((p) => p.info)
    .filter((i) => i.at > t + TRANSITION_MARGIN_MS && i.at < until);
}

/** Every frame E2EE, decrypted by each of `by` and by none of `notBy`; returns the frames checked. */
function expectE2ee(frames: PacketInfo[], by: string[], notBy: string[] = []): void {
  expect(frames.length).toBeGreaterThanOrEqual(10);
  const bad = frames.filter(
    (f) =>
      !f.e2ee ||
      by.some((u) => !f.decryptedBy?.includes(u)) ||
      notBy.some((u) => f.decryptedBy?.includes(u) || !f.failedBy?.includes(u)),
  );
  expect(bad.map((f) => ({ e2ee: f.e2ee, decryptedBy: f.decryptedBy, failedBy: f.failedBy }))).toEqual([]);
}

async function waitMoreAudio(session: VoiceSession, ms: number): Promise<void> {
  const target = session.durationMs() + ms;
  await waitFor(() => session.durationMs() >= target, 10_000, `${ms} ms more audio`);
}

function noticesIn(channelId: string, pattern: RegExp): string[] {
  return h.discord
    .messagesIn(channelId)
    .map((m) => m.content)
    .filter((c) => pattern.test(c));
}

describe("DAVE on (protocol 1)", () => {
  it("joins the members' established group by Welcome: every frame after it decrypts for each member, and is the audio heard", async () => {
    const [a, b] = users as [string, string];
    inVoice(a, b);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 1500);
    const call = callOf(session);
    const joined = await transition(call, (t) => t.members.includes(botId()), "the bot's join transition");

    expect(session.daveProtocolVersion).toBe(1);
    expect(call.welcomesToBot).toBe(1);
    expect(call.botCommitsAnnounced).toBe(0);
    expect(call.botKeyPackages).toBe(1);
    expect(joined.members.sort()).toEqual([a, b, botId()].sort());
    expectE2ee(framesAfter(session, joined.at), [a, b]);
    expect(session.firstE2eeAt).toBeDefined();
    // The fake's audio is what the members decrypted: the voice's tone.
    expect(
      Math.abs(dominantFrequency(session.pcm(), 48_000, 2) - toneFrequencyFor(VOICE)),
    ).toBeLessThanOrEqual(3);
    expect(call.errors).toEqual([]);
    expect(call.invalidReports).toEqual([]);
    expect(call.rejectedCommits).toEqual([]);
  });

  it("creates the group by its own commit, then commits the Add of a member who joins mid-clip", async () => {
    const [a, b] = users as [string, string];
    // Members that leave committing to the bot (as a client without a local group yet would).
    voice.dave.configure(a, { commits: false });
    voice.dave.configure(b, { commits: false });
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 800);
    const call = callOf(session);
    const first = await transition(call, (t) => t.members.includes(a), "the first group");
    expect(call.botCommitsAnnounced).toBe(1);
    expect(call.welcomesToBot).toBe(0);

    inVoice(b);
    const added = await transition(call, (t) => t.members.includes(b), "the second member's Add");
    await waitMoreAudio(session, 800);
    expect(call.botCommitsAnnounced).toBe(2);
    expect(added.epoch).toBe(first.epoch + 1n);
    expectE2ee(framesAfter(session, first.at, added.at), [a]);
    expectE2ee(framesAfter(session, added.at), [a, b]);
  });

  it("revokes the Add of a member who leaves before it is committed; the stale commit is refused, the next one works", async () => {
    const [a, b, c] = users as [string, string, string];
    for (const id of [a, b, c]) voice.dave.configure(id, { commits: false });
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    await transition(call, (t) => t.members.includes(a), "the first group");

    voice.dave.holdCommits = true;
    inVoice(b);
    await waitFor(() => call.heldCommits.length === 1, 5000, "the bot's commit of the Add");
    h.discord.setVoiceState(b, null);
    await waitFor(() => call.events.some((e) => e.what === "revoke"), 5000, "the revoke");
    voice.dave.holdCommits = false;
    call.releaseCommits();
    await waitFor(() => call.rejectedCommits.length === 1, 5000, "the stale commit refused");
    expect(call.rejectedCommits[0]).toMatch(/unrevoked proposals/);
    expect(call.transitions.some((t) => t.members.includes(b))).toBe(false);

    inVoice(c);
    const added = await transition(call, (t) => t.members.includes(c), "the next member's Add");
    await waitMoreAudio(session, 500);
    expect(added.members.sort()).toEqual([a, c, botId()].sort());
    expectE2ee(framesAfter(session, added.at), [a, c]);
  });

  it("has a member who leaves removed: the departed member cannot decrypt the new epoch", async () => {
    const [a, b, c] = users as [string, string, string];
    inVoice(a, b, c);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 800);
    const call = callOf(session);
    const joined = await transition(call, (t) => t.members.includes(botId()), "the bot's join");

    h.discord.setVoiceState(c, null);
    const removed = await transition(call, (t) => t.at > joined.at && !t.members.includes(c), "the removal");
    await waitMoreAudio(session, 800);
    expect(removed.members.sort()).toEqual([a, b, botId()].sort());
    expectE2ee(framesAfter(session, joined.at, removed.at - TRANSITION_MARGIN_MS), [a, b, c]);
    expectE2ee(framesAfter(session, removed.at), [a, b], [c]);
    expect(call.member(c)?.departed).toBe(true);
    expect(call.member(c)?.stats.failed).toBeGreaterThan(10);
  });

  it("resets when it is the sole member left, and builds a new group when someone comes back", async () => {
    const [a] = users as [string];
    voice.dave.configure(a, { commits: false });
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    await transition(call, (t) => t.members.includes(a), "the first group");
    const keyPackages = call.botKeyPackages;

    // The member's voice connection drops (their voice state stays, so the bot stays too).
    voice.disconnectMember(a);
    await waitFor(
      () => call.events.some((e) => e.what === "sole member reset"),
      5000,
      "the sole-member reset",
    );
    await waitFor(() => call.botKeyPackages === keyPackages + 1, 5000, "a new key package from the bot");
    expect(call.established).toBe(false);
    expect(call.epoch).toBe(0n);

    const gone = performance.now();
    voice.reconnectMember(a);
    const regrouped = await transition(call, (t) => t.at > gone && t.members.includes(a), "the new group");
    await waitMoreAudio(session, 600);
    // A new group from epoch 1, by the bot's own commit; the old member object cannot read it.
    expect(regrouped.epoch).toBe(1n);
    expect(call.botCommitsAnnounced).toBe(2);
    const fresh = call.member(a)!;
    expect(fresh.departed).toBe(false);
    expectE2ee(framesAfter(session, regrouped.at), [a]);
    const old = call.departed.find((m) => m.userId === a)!;
    const oldDecrypted = old.stats.decrypted;
    await waitMoreAudio(session, 300);
    expect(old.stats.decrypted).toBe(oldDecrypted);
  });

  it("downgrades to transport-only while a member without DAVE is there, and upgrades after they leave", async () => {
    const [a, plain] = users as [string, string];
    voice.dave.configure(plain, { dave: false });
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    const joined = await transition(call, (t) => t.members.includes(botId()), "the bot's join");

    inVoice(plain);
    const down = await transition(call, (t) => t.protocolVersion === 0, "the downgrade");
    await waitMoreAudio(session, 600);
    const plainFrames = framesAfter(session, down.at);
    expect(plainFrames.length).toBeGreaterThanOrEqual(10);
    expect(plainFrames.filter((f) => f.e2ee)).toEqual([]);
    expect(plainFrames.filter((f) => !f.decryptedBy?.includes(plain) || !f.decryptedBy.includes(a))).toEqual(
      [],
    );

    h.discord.setVoiceState(plain, null);
    const up = await transition(call, (t) => t.at > down.at && t.protocolVersion === 1, "the upgrade");
    await waitMoreAudio(session, 600);
    expect(up.epoch).toBe(1n);
    expectE2ee(framesAfter(session, joined.at, down.at - TRANSITION_MARGIN_MS), [a]);
    expectE2ee(framesAfter(session, up.at), [a]);
  });

  it("recovers from a corrupt Welcome: reports it (op 31), rejoins the group, and its audio decrypts again", async () => {
    const [a, b] = users as [string, string];
    voice.dave.corruptNext("welcome");
    inVoice(a, b);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    const recovered = await transition(call, (t) => t.members.includes(botId()), "the bot back in the group");
    await waitMoreAudio(session, 600);
    expect(voice.dave.pendingFaults).toBe(0);
    expect(call.invalidReports).toHaveLength(1);
    expect(call.welcomesToBot).toBe(2);
    expect(call.botKeyPackages).toBe(2);
    expectE2ee(framesAfter(session, recovered.at), [a, b]);
    expect(voice.sessions.length).toBe(before + 1);
    expect(noticesIn(textChannelId, /encrypt/i)).toEqual([]);
  });

  it("recovers from a corrupt commit the same way, in the middle of a clip", async () => {
    const [a, b] = users as [string, string];
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    await transition(call, (t) => t.members.includes(botId()), "the bot's join");

    voice.dave.corruptNext("commit");
    inVoice(b);
    await waitFor(() => call.invalidReports.length === 1, 5000, "op 31 from the bot");
    const back = await transition(
      call,
      (t) =>
        t.members.includes(b) && t.members.includes(botId()) && t.at > 0 && call.invalidReports.length === 1,
      "the group with both",
    );
    const last = call.transitions.at(-1)!;
    await waitMoreAudio(session, 600);
    expect(back.members).toContain(b);
    expect(call.groupMembers().sort()).toEqual([a, b, botId()].sort());
    expectE2ee(framesAfter(session, last.at), [a, b]);
    expect(noticesIn(textChannelId, /encrypt/i)).toEqual([]);
  });

  it("survives op 27 proposals it cannot parse (the library would throw them out of its message handler)", async () => {
    const [a] = users as [string];
    inVoice(a);
    const before = voice.sessions.length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    const session = await playing(before, 600);
    const call = callOf(session);
    await transition(call, (t) => t.members.includes(botId()), "the bot's join");
    call.sendGarbageProposals();
    await waitFor(
      () => h.logs.some((l) => l.msg === "a DAVE step failed; the group will recover"),
      5000,
      "the contained DAVE error in the log",
    );
    const line = h.logs.find((l) => l.msg === "a DAVE step failed; the group will recover")!;
    expect(line).toMatchObject({ level: 40, step: "proposals" });
    await waitMoreAudio(session, 400);
    expect(botInVoice()).toBe(voiceChannelId);
  });

  it("gives up after fresh handshakes keep failing: one notice in the bound text channel and a log line with the cause", async () => {
    const [a, b] = users as [string, string];
    voice.dave.corruptNext("welcome", 100);
    inVoice(a, b);
    const before = voice.sessions.length;
    const noticesBefore = noticesIn(textChannelId, /end-to-end encryption/).length;
    await speak(a).waitForResponse((m) => /Speaking in/.test(m.content));
    await waitFor(() => botInVoice() === null, 20_000, "the bot to give up and leave");
    await waitFor(
      () => noticesIn(textChannelId, /end-to-end encryption/).length > noticesBefore,
      5000,
      "the notice",
    );
    const sessionsAtGiveUp = voice.sessions.length;
    // Fresh handshakes were tried first (each one a new voice session), then it stopped.
    expect(sessionsAtGiveUp - before).toBeGreaterThanOrEqual(3);
    const log = h.logs.find(
      (l) => l.msg === "DAVE keeps failing after fresh voice handshakes; leaving voice",
    );
    expect(log).toMatchObject({ level: 50, channel: voiceChannelId });
    expect(String(log?.cause)).toMatch(/DAVE/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(voice.sessions.length).toBe(sessionsAtGiveUp);
    const notices = noticesIn(textChannelId, /end-to-end encryption/);
    expect(notices.length - noticesBefore).toBe(1);
    expect(notices.at(-1)).toMatch(/kept failing/);
  });

  it("stops at close code 4017 (DAVE required) with one notice instead of rejoining forever", async () => {
    const [a] = users as [string];
    voice.dave.minProtocolVersion = 2;
    inVoice(a);
    const noticesBefore = noticesIn(textChannelId, /end-to-end encrypted voice/).length;
    const refusalsBefore = voice.dave.refusals;
    void speak(a);
    await voice.waitForClose((r) => r.closeCode === VOICE_CLOSE.DaveRequired);
    await waitFor(
      () => noticesIn(textChannelId, /end-to-end encrypted voice/).length > noticesBefore,
      5000,
      "the notice",
    );
    await waitFor(() => botInVoice() === null, 5000, "the bot out of voice");
    const refusals = voice.dave.refusals;
    await new Promise((r) => setTimeout(r, 1500));
    expect(voice.dave.refusals).toBe(refusals);
    expect(refusals - refusalsBefore).toBeLessThanOrEqual(2);
    expect(noticesIn(textChannelId, /end-to-end encrypted voice/).length - noticesBefore).toBe(1);
    const log = h.logs.find((l) => (l.msg as string)?.includes("requires a DAVE"));
    expect(log).toMatchObject({ level: 50, closeCode: 4017, channel: voiceChannelId });
  });
});

describe("DAVE declined by the server (protocol 0)", () => {
  it("plays over transport-only encryption, heard by every member", async () => {
    const [a, b] = users as [string, string];
    voice.dave.enabled = false;
    inVoice(a, b);
    const before = voice.sessions.length;
    await speak(a, "A short clip over transport encryption only.").waitForResponse((m) =>
      /Speaking in/.test(m.content),
    );
    const session = await playing(before, 800);
    expect(session.daveProtocolVersion).toBe(0);
    expect(session.dave).toBeUndefined();
    expect(session.e2eeFrames).toBe(0);
    expect(
      Math.abs(dominantFrequency(session.pcm(), 48_000, 2) - toneFrequencyFor(VOICE)),
    ).toBeLessThanOrEqual(3);
  });
});
