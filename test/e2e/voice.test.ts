import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dominantFrequency } from "../fakes/audio/frequency.ts";
import { toneFrequencyFor } from "../fakes/audio/tone.ts";
import {
  type FakeVoice,
  startFakeVoice,
  trustFakeVoiceCertificate,
  type VoiceSession,
} from "../fakes/voice/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/**
 * Voice channels end to end: the bot (createApp, real discord.js and @discordjs/voice with DAVE
 * support) joins the fake Discord's voice server over TLS and UDP; the fake decrypts and decodes the
 * RTP it receives, so these tests check the audio itself: length, pitch (the fake MiniMax's tone
 * identifies the voice) and order.
 */

/**
 * Clips are told apart by the silence frames the player sends after each one; a longer arrival gap
 * only means this shared machine stalled the sender for a moment, so it must not split a clip.
 */
const SEGMENT_GAP_MS = 400;

let h: Harness;
let voice: FakeVoice;
let guildId: string;
let voiceChannelId: string;
let textChannelId: string;
let member: string;
let second: string;
let admin: string;

beforeAll(async () => {
  trustFakeVoiceCertificate();
  h = await startHarness({ env: { AUTO_READ: "true", VOICE_IDLE_TIMEOUT_SECONDS: "60" } });
  voice = await startFakeVoice(h.discord);
  const f = h.discord.fixtures;
  guildId = f.guild.id;
  voiceChannelId = f.channels.voice.id;
  textChannelId = f.channels.text.id;
  member = f.users.member.id;
  admin = f.users.admin.id;
  second = h.discord.addMember({ username: "bea", globalName: "Bea" });
}, 30_000);

afterAll(async () => {
  await h?.close();
  await voice?.close();
});

const botInVoice = () =>
  h.discord.state.world.voiceStates.get(h.discord.state.world.botId)?.channelId ?? null;

afterEach(async () => {
  h.discord.setBotPermissions(voiceChannelId, {});
  if (botInVoice()) {
    h.discord.setVoiceState(admin, null);
    await h.discord.dispatchCommand({ name: "leave", user: admin }).waitForResponse();
    await waitFor(() => botInVoice() === null, 5000, "the bot to leave voice");
  }
  for (const user of [member, second, admin]) {
    if (h.discord.state.world.voiceStates.has(user)) h.discord.setVoiceState(user, null);
  }
  h.minimax.reset();
});

/** The newest voice session after `before` sessions, once it played at least `minMs` and went quiet. */
async function audioAfter(
  before: number,
  minMs: number,
  quietMs = 400,
  timeoutMs = 15_000,
): Promise<VoiceSession> {
  await waitFor(
    () => {
      const s = voice.sessions.slice(before).at(-1);
      return (
        !!s &&
        s.packets > 0 &&
        s.durationMs() >= minMs &&
        performance.now() - (s.lastPacketAt ?? 0) >= quietMs
      );
    },
    timeoutMs,
    `${minMs} ms of audio`,
  );
  return voice.sessions.slice(before).at(-1)!;
}

/** Length of the clip the fake MiniMax serves for a text and voice (it is deterministic). */
async function servedMs(body: { text: string; voice: string }): Promise<number> {
  const res = await fetch(`${h.minimax.url}/v1/t2a_v2`, {
    method: "POST",
    headers: { authorization: "Bearer e2e-key", "content-type": "application/json" },
    body: JSON.stringify({
      model: "speech-2.5-turbo-preview",
      text: body.text,
      voice_setting: { voice_id: body.voice },
      audio_setting: { format: "pcm", sample_rate: 24000, channel: 1 },
    }),
  });
  const json = (await res.json()) as { data: { audio: string } };
  return (Buffer.from(json.data.audio, "hex").length / 2 / 24000) * 1000;
}

function speak(user: string, words: string, voiceId: string) {
  return h.discord.dispatchCommand({
    name: "speak",
    user,
    options: { text: words, voice: voiceId, play: true },
  });
}

describe("/speak play:true", () => {
  it("joins the caller's channel and streams the clip: right length, right voice, over DAVE-capable voice v8", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    const words = "Hello from the voice channel, this is a streaming test.";
    const expected = await servedMs({ text: words, voice: "Calm_Woman" });
    const reply = await speak(member, words, "Calm_Woman").waitForResponse((m) =>
      /Speaking in/.test(m.content),
    );
    expect(reply.content).toContain(`<#${voiceChannelId}>`);
    const session = await audioAfter(before, expected * 0.9);
    expect(session.channelId).toBe(voiceChannelId);
    expect(session.maxDaveProtocolVersion).toBeGreaterThanOrEqual(1);
    // DAVE is on (as on Discord): the member in the channel heard it end-to-end encrypted.
    expect(session.daveProtocolVersion).toBe(1);
    expect(session.e2eeFrames).toBeGreaterThan(0);
    expect(session.dave?.member(member)?.stats.decrypted).toBeGreaterThan(0);
    expect(session.decryptFailures).toBe(0);
    expect(session.timestampErrors).toBe(0);
    expect(Math.abs(session.durationMs() - expected) / expected).toBeLessThan(0.1);
    expect(
      Math.abs(dominantFrequency(session.pcm(), 48_000, 2) - toneFrequencyFor("Calm_Woman")),
    ).toBeLessThanOrEqual(3);
    // Synthesis was streamed as raw 24 kHz PCM, not fetched whole.
    const body = h.minimax.requests.find(
      (r) => r.path === "/v1/t2a_v2" && (r.json as { stream?: boolean }).stream === true,
    )?.json as Record<string, unknown>;
    expect(body).toMatchObject({
      stream: true,
      audio_setting: { format: "pcm", sample_rate: 24000, channel: 1 },
    });
  });

  it("plays two members' clips in turn: a second member does not wait behind the first one's queue", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    h.discord.setVoiceState(second, voiceChannelId);
    const before = voice.sessions.length;
    await speak(member, "First clip from the first member here.", "Calm_Woman").waitForResponse((m) =>
      /Speaking/.test(m.content),
    );
    await speak(member, "Second clip from the first member here.", "Calm_Woman").waitForResponse((m) =>
      /Queued/.test(m.content),
    );
    const third = await speak(second, "Only clip from the second member.", "Deep_Voice_Man").waitForResponse(
      (m) => /Queued/.test(m.content),
    );
    expect(third.content).toContain("#1 in line");
    const session = await audioAfter(before, 5000, 600, 20_000);
    const clips = session.segments(SEGMENT_GAP_MS).filter((s) => s.durationMs > 300);
    expect(clips).toHaveLength(3);
    const tones = clips.map((c) => dominantFrequency(c.pcm, 48_000, 2));
    const a = toneFrequencyFor("Calm_Woman");
    const b = toneFrequencyFor("Deep_Voice_Man");
    expect(a).not.toBe(b);
    for (const [i, want] of [a, b, a].entries()) expect(Math.abs(tones[i]! - want)).toBeLessThanOrEqual(3);
  });

  it("keeps playing through a dropped voice connection (resume)", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    const words = "A clip that survives a dropped voice connection in the middle.";
    const expected = await servedMs({ text: words, voice: "Calm_Woman" });
    await speak(member, words, "Calm_Woman").waitForResponse((m) => /Speaking/.test(m.content));
    await waitFor(() => (voice.sessions.slice(before).at(-1)?.durationMs() ?? 0) > 800, 10_000, "playback");
    voice.drop(4015, guildId);
    const session = await audioAfter(before, expected * 0.85, 600);
    expect(session.resumed).toBeGreaterThanOrEqual(1);
    expect(session.decryptFailures).toBe(0);
    // Nothing lost but the packets sent while the socket was down.
    expect(session.durationMs()).toBeGreaterThan(expected * 0.85);
    expect(session.durationMs()).toBeLessThan(expected * 1.1);
  });

  it("from outside voice, plays in the one channel where people are listening", async () => {
    h.discord.setVoiceState(second, voiceChannelId);
    const before = voice.sessions.length;
    const reply = await speak(member, "For the people in the call.", "Calm_Woman").waitForResponse((m) =>
      /Speaking in/.test(m.content),
    );
    expect(reply.content).toContain(`<#${voiceChannelId}>`);
    const session = await audioAfter(before, 500);
    expect(session.channelId).toBe(voiceChannelId);
  });

  it("without a voice channel, posts the audio and says how to hear it in voice", async () => {
    const reply = await speak(member, "Nobody is in voice.", "Calm_Woman").waitForResponse(
      (m) => m.attachments.length > 0,
    );
    expect(reply.content).toMatch(/Join a voice channel/);
    expect(botInVoice()).toBeNull();
  });
});

describe("/skip, /stop and /queue", () => {
  it("/skip cuts the current clip and the next one plays; /queue shows it with buttons", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    const long = "This is a long clip that will be skipped. ".repeat(4);
    const longMs = await servedMs({ text: long, voice: "Calm_Woman" });
    await speak(member, long, "Calm_Woman").waitForResponse((m) => /Speaking/.test(m.content));
    await speak(member, "The short one after it.", "Deep_Voice_Man").waitForResponse((m) =>
      /Queued/.test(m.content),
    );
    await waitFor(
      () => (voice.sessions.slice(before).at(-1)?.durationMs() ?? 0) > 500,
      10_000,
      "playback to start",
    );
    const queue = await h.discord.dispatchCommand({ name: "queue", user: member }).waitForResponse();
    expect(queue.content).toMatch(/Now playing/);
    expect(queue.content).toMatch(/Up next\*\* \(1\)/);
    expect(JSON.stringify(queue.components)).toContain("queue:skip");
    const skip = await h.discord.dispatchCommand({ name: "skip", user: member }).waitForResponse();
    expect(skip.content).toMatch(/Skipped/);
    const session = await audioAfter(before, 1000, 600);
    const clips = session.segments(SEGMENT_GAP_MS).filter((s) => s.durationMs > 300);
    expect(clips).toHaveLength(2);
    expect(clips[0]!.durationMs).toBeLessThan(longMs * 0.7);
    expect(
      Math.abs(dominantFrequency(clips[1]!.pcm, 48_000, 2) - toneFrequencyFor("Deep_Voice_Man")),
    ).toBeLessThanOrEqual(3);
  });

  it("/stop clears the queue and playback ends, the bot stays", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    await speak(
      member,
      "A clip that will be stopped part way through it. ".repeat(3),
      "Calm_Woman",
    ).waitForResponse((m) => /Speaking/.test(m.content));
    await speak(member, "Never heard.", "Deep_Voice_Man").waitForResponse((m) => /Queued/.test(m.content));
    await waitFor(
      () => (voice.sessions.slice(before).at(-1)?.durationMs() ?? 0) > 400,
      10_000,
      "playback to start",
    );
    const stop = await h.discord.dispatchCommand({ name: "stop", user: member }).waitForResponse();
    expect(stop.content).toMatch(/Stopped and cleared 2 items/);
    const session = await audioAfter(before, 100, 800);
    expect(session.segments(SEGMENT_GAP_MS).filter((s) => s.durationMs > 300)).toHaveLength(1);
    expect(botInVoice()).toBe(voiceChannelId);
    const queue = await h.discord.dispatchCommand({ name: "queue", user: member }).waitForResponse();
    expect(queue.content).toMatch(/Nothing is playing/);
  });

  it("members outside the channel cannot skip", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    await speak(
      member,
      "Protected clip that keeps going for a while. ".repeat(2),
      "Calm_Woman",
    ).waitForResponse((m) => /Speaking/.test(m.content));
    const refused = await h.discord.dispatchCommand({ name: "skip", user: second }).waitForResponse();
    expect(refused.content).toMatch(/Only members in/);
    expect(refused.flags & 64).toBe(64);
  });
});

describe("/join and /leave", () => {
  it("names the missing Speak permission instead of joining silently", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    h.discord.setBotPermissions(voiceChannelId, { deny: ["Speak"] });
    const reply = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(reply.content).toMatch(/missing Speak/);
    expect(reply.flags & 64).toBe(64);
    expect(botInVoice()).toBeNull();
  });

  it("asks the caller to join a voice channel first", async () => {
    const reply = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(reply.content).toMatch(/Join a voice channel first/);
  });

  it("leaves by itself when the last human leaves, and says so", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const joined = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(joined.content).toMatch(/Joined/);
    expect(botInVoice()).toBe(voiceChannelId);
    h.discord.setVoiceState(member, null);
    await waitFor(() => botInVoice() === null, 5000, "the bot to leave");
    await h.discord.waitForMessage((m) => m.channel_id === textChannelId && /Everyone left/.test(m.content));
  });

  it("cleans up after a kick and can join again", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    await h.discord
      .dispatchCommand({ name: "join", user: member })
      .waitForResponse((m) => /Joined/.test(m.content));
    voice.kick(guildId);
    await h.discord.waitForMessage((m) => /I was disconnected/.test(m.content));
    const queue = await h.discord.dispatchCommand({ name: "queue", user: member }).waitForResponse();
    expect(queue.content).toMatch(/not in a voice channel/);
    const again = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(again.content).toMatch(/Joined/);
  });
});

describe("/queue buttons and a deleted channel", () => {
  it("the Stop button on /queue clears everything and the view updates", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    await speak(member, "A clip the Stop button will end early on. ".repeat(3), "Calm_Woman").waitForResponse(
      (m) => /Speaking/.test(m.content),
    );
    const view = await h.discord.dispatchCommand({ name: "queue", user: member }).waitForResponse();
    const click = h.discord.dispatchComponent({ customId: "queue:stop", user: member, message: view });
    await click.waitForAck();
    await waitFor(
      () => /Nothing is playing/.test(h.discord.message(view.id)?.content ?? ""),
      5000,
      "the view to update",
    );
    expect(botInVoice()).toBe(voiceChannelId);
  });

  it("leaves and says so when its voice channel is deleted", async () => {
    const doomed = h.discord.addChannel({ name: "Temporary", type: 2 });
    h.discord.setVoiceState(member, doomed);
    await h.discord
      .dispatchCommand({ name: "join", user: member })
      .waitForResponse((m) => /Joined/.test(m.content));
    expect(botInVoice()).toBe(doomed);
    h.discord.dispatchEvent("CHANNEL_DELETE", { id: doomed, type: 2, guild_id: guildId, name: "Temporary" });
    await h.discord.waitForMessage((m) => /voice channel was deleted/.test(m.content));
    await waitFor(() => botInVoice() === null, 5000, "the bot to leave");
  });
});

describe("Read aloud", () => {
  it("plays the message in the caller's voice channel, mentions read as names", async () => {
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    const target = h.discord.postUserMessage({
      userId: second,
      content: `Hey <@${member}>, look at https://example.com/x`,
    });
    const reply = await h.discord
      .dispatchCommand({ name: "Read aloud", type: 3, user: member, targetMessage: target })
      .waitForResponse();
    expect(reply.content).toMatch(/Reading it in/);
    await audioAfter(before, 500);
    const body = h.minimax.requests.find((r) => r.path === "/v1/t2a_v2")?.json as { text: string };
    expect(body.text).toMatch(/^Bea said: Hey \S+, look at a link$/);
    expect(body.text).not.toContain("<@");
  });

  it("follows the server's /speak switch", async () => {
    const set = (on: boolean) =>
      h.discord
        .dispatchCommand({
          name: "settings",
          subcommand: "access",
          user: admin,
          options: { speak_enabled: on },
        })
        .waitForResponse();
    await set(false);
    try {
      const target = h.discord.postUserMessage({ userId: second, content: "Not today" });
      const reply = await h.discord
        .dispatchCommand({ name: "Read aloud", type: 3, user: member, targetMessage: target })
        .waitForResponse();
      expect(reply.content).toMatch(/turned \/speak off/);
    } finally {
      await set(true);
    }
  });

  it("outside voice, replies privately with the audio", async () => {
    const target = h.discord.postUserMessage({ userId: second, content: "Read me privately" });
    const reply = await h.discord
      .dispatchCommand({ name: "Read aloud", type: 3, user: member, targetMessage: target })
      .waitForResponse((m) => m.attachments.length > 0);
    expect(reply.flags & 64).toBe(64);
    expect(reply.attachments[0]!.filename).toMatch(/\.mp3$/);
  });
});

describe("auto-read", () => {
  it("reads cleaned-up chat from members in the channel once the server turns it on", async () => {
    await h.discord
      .dispatchCommand({ name: "settings", subcommand: "reading", user: admin, options: { auto_read: true } })
      .waitForResponse();
    h.discord.setVoiceState(member, voiceChannelId);
    const before = voice.sessions.length;
    const joined = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(joined.content).toMatch(/will be read aloud/);
    // Not in voice: not read.
    h.discord.postUserMessage({ userId: second, content: "I am not listening" });
    h.discord.postUserMessage({ userId: member, content: "soooooo cool ||secret|| see https://x.example" });
    await audioAfter(before, 500);
    const texts = h.minimax.requests
      .filter((r) => r.path === "/v1/t2a_v2")
      .map((r) => (r.json as { text: string }).text);
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatch(/said: sooo cool spoiler see a link$/);
    await h.discord
      .dispatchCommand({
        name: "settings",
        subcommand: "reading",
        user: admin,
        options: { auto_read: false },
      })
      .waitForResponse();
  });
});

it("only asks for the Message Content intent because AUTO_READ is set", () => {
  const identify = h.discord.gatewayOps.find((op) => op.op === 2);
  const intents = (identify?.d as { intents: number } | undefined)?.intents ?? 0;
  expect(intents & (1 << 15)).not.toBe(0);
});
