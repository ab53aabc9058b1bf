import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeVoice, startFakeVoice, trustFakeVoiceCertificate } from "../fakes/voice/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/**
 * Auto-read parity end to end: the real bot (discord.js, @discordjs/voice) in the fake Discord's voice
 * channel, with the server's `/settings reading` and `/settings voice-channel` choices. What the bot
 * says is read from the texts it asks the fake MiniMax to speak; a message that must not be read is
 * followed by one that must, and once that one is spoken the first is known to have been skipped
 * (both go through the same steps, the skipped one stops earlier).
 */

let h: Harness;
let voice: FakeVoice;
let voiceChannelId: string;
let textChannelId: string;
let member: string;
let bea: string;
let carl: string;
let dan: string;
let mutedRole: string;
let counter = 0;

/** A text never spoken before in this run (the audio cache would answer a repeated one silently). */
const fresh = (words: string) => `${words} number ${++counter}`;

const spoken = () =>
  h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").map((r) => (r.json as { text: string }).text);

async function heard(text: string | RegExp, what = String(text)): Promise<string> {
  const match = (t: string) => (typeof text === "string" ? t === text : text.test(t));
  await waitFor(() => spoken().some(match), 20_000, `the bot to say ${what}`);
  return spoken().find(match)!;
}

const post = (opts: Parameters<Harness["discord"]["postUserMessage"]>[0]) => h.discord.postUserMessage(opts);

beforeAll(async () => {
  trustFakeVoiceCertificate();
  h = await startHarness({
    env: { AUTO_READ: "true", VOICE_IDLE_TIMEOUT_SECONDS: "120" },
    discord: {
      roles: [{ key: "muted", name: "Muted" }],
      channels: [{ key: "stage", name: "Stage", type: 13 }],
    },
  });
  voice = await startFakeVoice(h.discord);
  const f = h.discord.fixtures;
  voiceChannelId = f.channels.voice.id;
  textChannelId = f.channels.text.id;
  member = f.users.member.id;
  mutedRole = f.roles.muted!.id;
  bea = h.discord.addMember({ username: "bea", globalName: "Bea", nick: "Bea Nick" });
  carl = h.discord.addMember({ username: "carl", globalName: "Carl", roles: [mutedRole] });
  dan = h.discord.addMember({ username: "dan", globalName: "Dan" });
  await applySettings(h.discord, { auto_read: true });
  for (const user of [member, bea, carl]) h.discord.setVoiceState(user, voiceChannelId);
  const joined = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
  expect(joined.content).toMatch(/will be read aloud/);
}, 60_000);

afterAll(async () => {
  await h?.close();
  await voice?.close();
});

beforeEach(async () => {
  // Each test starts from the defaults, auto-read on.
  await h.discord
    .dispatchCommand({ name: "settings reset", user: h.discord.fixtures.users.admin.id, options: {} })
    .waitForResponse();
  await applySettings(h.discord, { auto_read: true });
});

describe("auto-read parity", () => {
  it("reads the voice channel's own chat (text-in-voice), out loud in the call", async () => {
    const before = voice.sessions.at(-1)?.durationMs() ?? 0;
    const outsider = fresh("I am not in the call");
    post({ channelId: voiceChannelId, userId: dan, content: outsider });
    const words = fresh("hello from the call chat");
    post({ channelId: voiceChannelId, userId: member, content: words });
    expect(await heard(new RegExp(`${words}$`))).toBe(`Member said: ${words}`);
    // require_voice holds in the voice chat too: Dan is not in the call.
    expect(spoken().some((t) => t.includes(outsider))).toBe(false);
    await waitFor(
      () => (voice.sessions.at(-1)?.durationMs() ?? 0) > before + 300,
      15_000,
      "audio in the call",
    );
  });

  it("does not read the voice channel's chat when text_in_voice is off", async () => {
    await applySettings(h.discord, { text_in_voice: false });
    const skipped = fresh("voice chat while off");
    post({ channelId: voiceChannelId, userId: bea, content: skipped });
    const read = fresh("bound channel still read");
    post({ channelId: textChannelId, userId: bea, content: read });
    await heard(new RegExp(`${read}$`));
    expect(spoken().some((t) => t.includes(skipped))).toBe(false);
  });

  it("never reads a member with the ignored role; reads them once the role is no longer ignored", async () => {
    await applySettings(h.discord, { ignore_role: { role: mutedRole } });
    const silent = fresh("Carl should stay silent");
    post({ userId: carl, content: silent });
    const marker = fresh("marker after Carl");
    post({ userId: bea, content: marker });
    await heard(new RegExp(`${marker}$`));
    expect(spoken().some((t) => t.includes(silent))).toBe(false);

    await applySettings(h.discord, { ignore_role: { role: h.discord.fixtures.roles.everyone.id } });
    const now = fresh("Carl may speak now");
    post({ userId: carl, content: now });
    expect(await heard(new RegExp(`${now}$`))).toBe(`Carl said: ${now}`);
  });

  it("uses the server's template and name style, and does not repeat the name within a minute", async () => {
    await applySettings(h.discord, { name_template: "message from {name}", name_style: "username" });
    // Someone else speaks first, so Carl is a new speaker whatever the tests before said.
    const opener = fresh("opening line");
    post({ userId: member, content: opener });
    await heard(new RegExp(`${opener}$`));
    const first = fresh("template check");
    post({ userId: carl, content: first });
    expect(await heard(new RegExp(`${first}$`))).toBe(`message from carl: ${first}`);
    const second = fresh("same speaker again");
    post({ userId: carl, content: second });
    expect(await heard(new RegExp(`${second}$`))).toBe(second);
  });

  it("speaks the server nickname by default", async () => {
    const opener = fresh("someone else first");
    post({ userId: member, content: opener });
    await heard(new RegExp(`${opener}$`));
    const next = fresh("nickname check");
    post({ userId: bea, content: next });
    expect(await heard(new RegExp(`${next}$`))).toBe(`Bea Nick said: ${next}`);
  });

  it("describes a sticker, an image and a forwarded message", async () => {
    const sticker = `Wave${++counter}`;
    post({ userId: bea, stickers: [{ name: sticker }] });
    expect(await heard(`Bea Nick sent a sticker: ${sticker}`)).toBeDefined();

    const image = fresh("look at my cat");
    post({
      userId: member,
      content: image,
      files: [{ filename: "cat.png", contentType: "image/png", data: "not really a png" }],
    });
    expect(await heard(new RegExp(`${image}, with an image$`))).toMatch(/^Member said: /);

    const original = post({
      channelId: h.discord.fixtures.channels.text2.id,
      userId: dan,
      content: fresh("see you at eight"),
    });
    post({ userId: carl, forwardOf: original });
    expect(await heard(`Carl forwarded a message: ${original.content}`)).toBeDefined();
  });

  it("never reads a member who opted out, and Read aloud on their messages is refused to others", async () => {
    const optOut = await h.discord
      .dispatchCommand({ name: "voice read-me", user: bea, options: { enabled: false } })
      .waitForResponse();
    expect(optOut.content).toMatch(/Read aloud:\*\* off/);
    try {
      const secret = fresh("Bea does not want this read");
      const target = post({ userId: bea, content: secret });
      post({ userId: bea, stickers: [{ name: "Quiet" }] });
      const marker = fresh("marker after Bea");
      post({ userId: member, content: marker });
      await heard(new RegExp(`${marker}$`));
      expect(spoken().some((t) => t.includes(secret) || t.includes("Quiet"))).toBe(false);

      const refused = await h.discord
        .dispatchCommand({ name: "Read aloud", type: 3, user: member, targetMessage: target })
        .waitForResponse();
      expect(refused.content).toMatch(/asked not to be read aloud/);
      expect(refused.flags & 64).toBe(64);
      const shown = await h.discord.dispatchCommand({ name: "voice show", user: bea }).waitForResponse();
      expect(shown.content).toMatch(/Read aloud:\*\* off/);
    } finally {
      await h.discord
        .dispatchCommand({ name: "voice read-me", user: bea, options: { enabled: true } })
        .waitForResponse();
    }
    const back = fresh("Bea is back");
    post({ userId: bea, content: back });
    await heard(new RegExp(`${back}$`));
  });

  it("announces joins and leaves only when turned on, and never an opted-out member", async () => {
    // Off by default.
    h.discord.setVoiceState(dan, voiceChannelId);
    const marker = fresh("marker while announcements are off");
    post({ userId: member, content: marker });
    await heard(new RegExp(`${marker}$`));
    expect(spoken()).not.toContain("Dan joined");
    h.discord.setVoiceState(dan, null);

    await applySettings(h.discord, { join_announcements: true });
    const erin = h.discord.addMember({ username: "erin", globalName: "Erin" });
    await h.discord
      .dispatchCommand({ name: "voice read-me", user: erin, options: { enabled: false } })
      .waitForResponse();
    h.discord.setVoiceState(erin, voiceChannelId);
    h.discord.setVoiceState(dan, voiceChannelId);
    await heard("Dan joined");
    h.discord.setVoiceState(dan, null);
    await heard("Dan left");
    h.discord.setVoiceState(erin, null);
    const after = fresh("marker after the quiet member");
    post({ userId: member, content: after });
    await heard(new RegExp(`${after}$`));
    expect(spoken().filter((t) => /^Erin (joined|left)$/.test(t))).toEqual([]);
    // Said once each, though the member moved twice.
    const announced = h.minimax.requests.filter((r) => (r.json as { text?: string }).text === "Dan joined");
    expect(announced).toHaveLength(1);
  });

  it("/help describes auto-read, its settings and the opt-out", async () => {
    const reply = await h.discord.dispatchCommand({ name: "help" }).waitForResponse();
    const text = JSON.stringify(reply.embeds);
    for (const part of [
      "/settings reading auto_read:true",
      "/voice read-me enabled:false",
      "/settings voice-channel",
    ]) {
      expect(text).toContain(part);
    }
  });

  // Last: it moves the bot to a stage channel.
  it("in a stage channel, reads the speakers and ignores the audience (unless the server reads it)", async () => {
    const stage = h.discord.fixtures.channels.stage!.id;
    for (const user of [member, bea, carl]) h.discord.setVoiceState(user, null);
    await waitFor(
      () => !h.discord.state.world.voiceStates.has(h.discord.state.world.botId),
      10_000,
      "the bot to leave the empty channel",
    );
    h.discord.setVoiceState(member, stage, { suppress: false });
    h.discord.setVoiceState(bea, stage);
    expect(h.discord.state.world.voiceStates.get(bea)?.suppress).toBe(true);
    const joined = await h.discord.dispatchCommand({ name: "join", user: member }).waitForResponse();
    expect(joined.content).toMatch(/Joined/);

    const audience = fresh("from the audience");
    post({ channelId: stage, userId: bea, content: audience });
    const audienceHere = fresh("audience in the bound channel");
    post({ userId: bea, content: audienceHere });
    const speaker = fresh("from the speaker");
    post({ channelId: stage, userId: member, content: speaker });
    await heard(new RegExp(`${speaker}$`));
    expect(spoken().some((t) => t.includes(audience) || t.includes(audienceHere))).toBe(false);

    await applySettings(h.discord, { ignore_audience: false });
    const heardNow = fresh("audience heard now");
    post({ channelId: stage, userId: bea, content: heardNow });
    expect(await heard(new RegExp(`${heardNow}$`))).toBe(`Bea Nick said: ${heardNow}`);
  });
});
