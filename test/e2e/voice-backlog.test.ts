import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type FakeVoice,
  startFakeVoice,
  trustFakeVoiceCertificate,
  type VoiceSession,
} from "../fakes/voice/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/**
 * The voice backlog speed-up end to end (`/settings voice-channel backlog_speedup`): the real bot in the fake
 * Discord's voice channel, with the fake MiniMax recording every stream request. Clips queued behind
 * a long enough queue are requested with a higher `voice_setting.speed` (and, since the fake's tone
 * lasts 60 ms per character divided by the speed, they are heard shorter); with the setting off, none is.
 */

/** Clips are told apart by the silence frames the player sends after each one (see voice.test.ts). */
const SEGMENT_GAP_MS = 400;

let h: Harness;
let voice: FakeVoice;
let voiceChannelId: string;
let member: string;
let admin: string;

beforeAll(async () => {
  trustFakeVoiceCertificate();
  h = await startHarness({ env: { VOICE_IDLE_TIMEOUT_SECONDS: "60" } });
  voice = await startFakeVoice(h.discord);
  const f = h.discord.fixtures;
  voiceChannelId = f.channels.voice.id;
  member = f.users.member.id;
  admin = f.users.admin.id;
}, 30_000);

afterAll(async () => {
  await h?.close();
  await voice?.close();
});

const botInVoice = () =>
  h.discord.state.world.voiceStates.get(h.discord.state.world.botId)?.channelId ?? null;

afterEach(async () => {
  if (botInVoice()) {
    h.discord.setVoiceState(admin, null);
    await h.discord.dispatchCommand({ name: "leave", user: admin }).waitForResponse();
    await waitFor(() => botInVoice() === null, 5000, "the bot to leave voice");
  }
  for (const user of [member, admin]) {
    if (h.discord.state.world.voiceStates.has(user)) h.discord.setVoiceState(user, null);
  }
  await h.discord
    .dispatchCommand({
      name: "settings",
      subcommand: "reset",
      user: admin,
      options: { section: "voice-channel" },
    })
    .waitForResponse();
  h.minimax.reset();
});

function settings(options: Record<string, boolean | number>) {
  return h.discord
    .dispatchCommand({ name: "settings", subcommand: "voice-channel", user: admin, options })
    .waitForResponse((m) => /^Saved\./.test(m.content));
}

function speak(words: string) {
  return h.discord.dispatchCommand({
    name: "speak",
    user: member,
    options: { text: words, voice: "Calm_Woman", play: true },
  });
}

/** The newest voice session after `before` sessions, once it played `minMs` and went quiet. */
async function audioAfter(before: number, minMs: number): Promise<VoiceSession> {
  await waitFor(
    () => {
      const s = voice.sessions.slice(before).at(-1);
      return (
        !!s && s.packets > 0 && s.durationMs() >= minMs && performance.now() - (s.lastPacketAt ?? 0) >= 800
      );
    },
    25_000,
    `${minMs} ms of audio`,
  );
  return voice.sessions.slice(before).at(-1)!;
}

/** `voice_setting.speed` of each streamed synthesis request, by its text (absent: not sent). */
function requestedSpeeds(): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const r of h.minimax.requests) {
    const body = r.json as { stream?: boolean; text?: string; voice_setting?: { speed?: number } };
    if (r.path === "/v1/t2a_v2" && body.stream === true && body.text !== undefined) {
      out.set(body.text, body.voice_setting?.speed);
    }
  }
  return out;
}

/**
 * Queues four clips back to back: a long first one (it plays at once and holds the queue), then three
 * of the same length, so the last two are queued behind 1 and 2 waiting clips. Waits until all four
 * were heard; returns their texts in play order and the clips heard.
 */
async function queueFour(tag: string) {
  h.discord.setVoiceState(member, voiceChannelId);
  const before = voice.sessions.length;
  // 60 ms per character: about 3.5 s for the first, 1.5 s for the others at speed 1.
  const texts = [
    `The first ${tag} clip holds the queue for a little while, long enough.`,
    `Second ${tag} clip waits ok.`,
    `Third ${tag} clip waits, ok.`,
    `Fourth ${tag} clip waits ok.`,
  ];
  const replies: string[] = [];
  for (const [i, text] of texts.entries()) {
    const reply = await speak(text).waitForResponse((m) => (i === 0 ? /Speaking/ : /Queued/).test(m.content));
    replies.push(reply.content);
  }
  await waitFor(() => requestedSpeeds().size >= 4, 25_000, "all four clips to be requested");
  const session = await audioAfter(before, 5000);
  const clips = session.segments(SEGMENT_GAP_MS).filter((s) => s.durationMs > 300);
  return { texts, replies, clips };
}

describe("backlog speed-up", () => {
  it("when on, clips queued behind a long queue are requested and heard faster", async () => {
    await settings({ backlog_speedup: true, backlog_threshold: 1, backlog_max_speed: 1.5 });
    const shown = await h.discord
      .dispatchCommand({ name: "settings", subcommand: "show", user: admin })
      .waitForResponse();
    const listed = JSON.stringify(shown.embeds);
    expect(listed).toContain("**Speak faster when the voice queue is long:** yes");
    expect(listed).toContain("**Clips waiting before speaking faster:** `1`");

    const { texts, replies, clips } = await queueFour("fast");
    expect(replies.slice(1).map((r) => /#(\d+) in line/.exec(r)?.[1])).toEqual(["1", "2", "3"]);
    // The member is told why their clip sounds faster.
    expect(replies.map((r) => /Played at ([\d.]+)×/.exec(r)?.[1])).toEqual([
      undefined,
      undefined,
      "1.1",
      "1.2",
    ]);
    const speeds = requestedSpeeds();
    // Nothing waiting behind the first, one clip waiting (the threshold) for the second: as chosen.
    // Then one and two clips beyond the threshold: × 1.1 and × 1.2.
    expect(texts.map((t) => speeds.get(t))).toEqual([undefined, undefined, 1.1, 1.2]);
    // The fake's tone lasts 60 ms per character divided by the speed: the faster clips are shorter.
    expect(clips).toHaveLength(4);
    const [, second, third, fourth] = clips.map((c) => c.durationMs);
    expect(third! / second!).toBeGreaterThan(0.85);
    expect(third! / second!).toBeLessThan(0.97);
    expect(fourth! / second!).toBeGreaterThan(0.77);
    expect(fourth! / second!).toBeLessThan(0.9);
  }, 40_000);

  it("when off (the default), no clip is requested faster however long the queue", async () => {
    await settings({ backlog_threshold: 1 });
    const { texts, replies, clips } = await queueFour("plain");
    expect(replies.some((r) => /Played at/.test(r))).toBe(false);
    const speeds = requestedSpeeds();
    expect(texts.map((t) => speeds.get(t))).toEqual([undefined, undefined, undefined, undefined]);
    expect(clips).toHaveLength(4);
    const [, second, third, fourth] = clips.map((c) => c.durationMs);
    expect(third! / second!).toBeGreaterThan(0.9);
    expect(fourth! / second!).toBeGreaterThan(0.9);
  }, 40_000);

  it("registers the three options on /settings voice-channel, within Discord's 25", () => {
    type Option = { name: string; type: number; min_value?: number; max_value?: number; options?: Option[] };
    const def = h.discord.registeredCommands(h.discord.fixtures.guild.id).find((c) => c.name === "settings");
    const set = (def?.options as Option[] | undefined)?.find((o) => o.name === "voice-channel");
    expect(set?.options?.length).toBeLessThanOrEqual(25);
    const byName = new Map(set?.options?.map((o) => [o.name, o]));
    expect(byName.get("backlog_speedup")).toMatchObject({ type: 5 });
    expect(byName.get("backlog_threshold")).toMatchObject({ type: 4, min_value: 1, max_value: 25 });
    expect(byName.get("backlog_max_speed")).toMatchObject({ type: 10, min_value: 1, max_value: 2 });
  });
});
