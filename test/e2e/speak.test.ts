import { OggOpusDecoder } from "ogg-opus-decoder";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/** `/speak` end to end: the real discord.js client in the bot, the fake Discord and the fake MiniMax. */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.minimax.reset();
  h.minimax.clearFaults();
});

function synthBodies(): Record<string, unknown>[] {
  return h.minimax.requests
    .filter((r) => r.path === "/v1/t2a_v2")
    .map((r) => r.json as Record<string, unknown>);
}

/** What the fake MiniMax serves for this exact body (it is deterministic). */
async function servedAudio(body: unknown): Promise<Buffer> {
  const res = await fetch(`${h.minimax.url}/v1/t2a_v2`, {
    method: "POST",
    headers: { authorization: "Bearer e2e-key", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data: { audio: string } };
  return Buffer.from(json.data.audio, "hex");
}

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;

describe("/speak", () => {
  it("delivers exactly one attachment, byte-identical to the served audio, with every voice setting mapped", async () => {
    const handle = h.discord.dispatchCommand({
      name: "speak",
      user: h.discord.fixtures.users.member.id,
      options: {
        text: "Hello there, friends!",
        voice: "Calm_Woman",
        speed: 1.5,
        pitch: -3,
        volume: 2,
        emotion: "happy",
      },
    });
    const msg = await handle.waitForResponse(hasFiles);
    expect(handle.ackMs).toBeLessThan(3000);
    const bodies = synthBodies();
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      text: "Hello there, friends!",
      voice_setting: { voice_id: "Calm_Woman", speed: 1.5, pitch: -3, vol: 2, emotion: "happy" },
    });
    expect(msg.attachments).toHaveLength(1);
    expect(h.discord.attachmentBytes(msg.id, 0)).toEqual(await servedAudio(bodies[0]));
    expect(msg.attachments[0]!.filename).toBe("speech.mp3");
    expect(msg.content).toMatch(/^🔊 `Calm_Woman` · \d+\.\d s · 21 characters$/);
    expect(msg.allowed_mentions).toEqual({ parse: [] });
    expect(msg.flags ?? 0).toBe(0);
  });

  it("maps model, language, effect and format into the MiniMax body", async () => {
    const handle = h.discord.dispatchCommand({
      name: "speak",
      options: {
        text: "Options everywhere.",
        model: "speech-2.6-hd",
        emotion: "whisper",
        language: "English",
        effect: "robotic",
        format: "wav",
      },
    });
    const msg = await handle.waitForResponse(hasFiles);
    const [body] = synthBodies();
    expect(body).toMatchObject({
      model: "speech-2.6-hd",
      language_boost: "English",
      voice_setting: { voice_id: "Wise_Woman", emotion: "whisper" },
      voice_modify: { sound_effects: "robotic" },
      audio_setting: { format: "wav" },
    });
    expect(msg.attachments[0]!.filename).toBe("speech.wav");
    expect(h.discord.attachmentBytes(msg.id, 0).subarray(0, 4).toString("latin1")).toBe("RIFF");
  });

  it("serves a repeat from the cache without calling MiniMax", async () => {
    const options = { text: "Say it again, Sam." };
    const first = await h.discord.dispatchCommand({ name: "speak", options }).waitForResponse(hasFiles);
    expect(synthBodies()).toHaveLength(1);
    const second = await h.discord.dispatchCommand({ name: "speak", options }).waitForResponse(hasFiles);
    expect(synthBodies()).toHaveLength(1);
    expect(h.discord.attachmentBytes(second.id, 0)).toEqual(h.discord.attachmentBytes(first.id, 0));
  });

  it("keeps files under the interaction's upload limit: lower bitrate, then numbered parts", async () => {
    const text = "This sentence is long enough to need more than one small attachment. ".repeat(4).trim();
    const limit = 24 * 1024;
    const handle = h.discord.dispatchCommand({
      name: "speak",
      options: { text },
      attachmentSizeLimit: limit,
    });
    await handle.waitForResponse(hasFiles);
    await new Promise((r) => setTimeout(r, 300)); // follow-ups, if any
    const [body] = synthBodies() as { audio_setting?: { bitrate?: number } }[];
    expect(body!.audio_setting?.bitrate).toBeLessThan(128000);
    const files = handle
      .messages()
      .flatMap((m) => m.attachments.map((_, i) => h.discord.attachmentBytes(m.id, i)));
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) expect(f.length).toBeLessThanOrEqual(limit);
    expect(Buffer.concat(files)).toEqual(await servedAudio(body));
    expect(h.discord.requests.some((r) => r.status === 413)).toBe(false);
    const names = handle.messages().flatMap((m) => m.attachments.map((a) => a.filename));
    expect(names[0]).toMatch(/^speech-part1of\d+\.mp3$/);
  });

  it("posts a native voice message: Ogg/Opus mono 48 kHz with duration and a 256-point waveform", async () => {
    const channelId = h.discord.fixtures.channels.text.id;
    const handle = h.discord.dispatchCommand({
      name: "speak",
      channelId,
      options: {
        text: "A voice message for everyone to hear, long enough for a proper waveform.",
        format: "voice",
      },
    });
    const vm = await h.discord.waitForMessage((m) => ((m.flags ?? 0) & 8192) !== 0, 10_000);
    await handle.waitForResponse((m) => m.content.length > 0);
    const [body] = synthBodies() as { audio_setting: Record<string, unknown> }[];
    expect(body!.audio_setting).toMatchObject({ format: "pcm", sample_rate: 24000, channel: 1 });
    expect(vm.channel_id).toBe(channelId);
    expect(vm.content).toBe("");
    expect(vm.attachments).toHaveLength(1);
    const att = vm.attachments[0]!;
    expect(att.filename).toBe("voice-message.ogg");
    const waveform = Buffer.from(att.waveform!, "base64");
    expect(waveform.length).toBe(256);
    expect(Math.max(...waveform)).toBe(255);
    const ogg = h.discord.attachmentBytes(vm.id, 0);
    expect(ogg.subarray(0, 4).toString("latin1")).toBe("OggS");
    const decoder = new OggOpusDecoder();
    await decoder.ready;
    try {
      const decoded = await decoder.decodeFile(ogg);
      expect(decoded.sampleRate).toBe(48000);
      expect(decoded.channelData).toHaveLength(1);
      const seconds = decoded.samplesDecoded / decoded.sampleRate;
      expect(Math.abs(seconds - att.duration_secs!)).toBeLessThan(0.05);
      expect(att.duration_secs).toBeGreaterThan(1);
    } finally {
      decoder.free();
    }
  });

  it.each([
    [1026, "input new_sensitive", /refused this text/],
    [1004, "not authorized", /rejected the bot's API key/],
    [1002, "rate limit", /busy \(rate limit\)/],
  ])("answers MiniMax %i clearly and privately, and keeps serving", async (code, msg, answer) => {
    h.minimax.inject({ kind: "baseResp", code, msg, route: "/v1/t2a_v2", times: 5 });
    const handle = h.discord.dispatchCommand({ name: "speak", options: { text: `Refusal test ${code}.` } });
    const reply = await handle.waitForResponse((m) => answer.test(m.content));
    expect((reply.flags ?? 0) & 64).toBe(64);
    expect(reply.attachments).toHaveLength(0);
    h.minimax.clearFaults();
    const ok = await h.discord
      .dispatchCommand({ name: "speak", options: { text: `Back to normal ${code}.` } })
      .waitForResponse(hasFiles);
    expect(ok.attachments).toHaveLength(1);
  });

  it("never lets user text ping: @everyone in the text and voice stays inert", async () => {
    const handle = h.discord.dispatchCommand({
      name: "speak",
      options: { text: "@everyone <@&123456789012345678> hello" },
    });
    await handle.waitForResponse(hasFiles);
    const sent = handle.messages();
    expect(sent.length).toBeGreaterThan(0);
    for (const m of sent) {
      expect(m.mentions_everyone).toBe(false);
      expect(m.allowed_mentions).toEqual({ parse: [] });
    }
  });

  it("hands a text over SYNC_MAX_CHARS to a narration job instead of synthesizing it at once", async () => {
    const handle = h.discord.dispatchCommand({ name: "speak", options: { text: "word ".repeat(700) } });
    const reply = await handle.waitForResponse((m) => m.content.length > 0);
    expect(reply.content).toMatch(/narrated as a job[\s\S]*job `[^`]+`, 3499 characters/);
    expect((reply.flags ?? 0) & 64).toBe(64);
    expect(synthBodies()).toHaveLength(0);
    await waitFor(() => h.minimax.requests.some((r) => r.path === "/v1/t2a_async_v2"), 5000, "async task");
  });

  it("acknowledges 20 concurrent /speak within 3 s each and answers them all", async () => {
    const handles = Array.from({ length: 20 }, (_, i) =>
      h.discord.dispatchCommand({ name: "speak", options: { text: `Concurrent request number ${i}.` } }),
    );
    const messages = await Promise.all(handles.map((x) => x.waitForResponse(hasFiles, 20_000)));
    expect(messages).toHaveLength(20);
    for (const x of handles) expect(x.ackMs).toBeLessThan(3000);
  });
});

describe("autocomplete", () => {
  it("offers Wise_Woman for 'wise', at most 25 choices", async () => {
    const choices = await h.discord
      .dispatchAutocomplete({ name: "speak", options: { text: "x", voice: "wise" }, focused: "voice" })
      .waitForAck();
    expect(choices.map((c) => c.value)).toContain("Wise_Woman");
    expect(choices.length).toBeLessThanOrEqual(25);
  });

  it("completes language boosts", async () => {
    const choices = await h.discord
      .dispatchAutocomplete({ name: "speak", options: { text: "x", language: "germ" }, focused: "language" })
      .waitForAck();
    expect(choices).toEqual([{ name: "German", value: "German" }]);
  });
});

describe("/voice and /voices", () => {
  it("saves personal defaults that /speak then uses", async () => {
    const set = h.discord.dispatchCommand({
      name: "voice set",
      user: h.discord.fixtures.users.admin.id,
      options: { voice: "Deep_Voice_Man", speed: 0.8 },
    });
    expect((await set.waitForResponse()).content).toMatch(/Saved[\s\S]*Deep_Voice_Man/);
    await h.discord
      .dispatchCommand({
        name: "speak",
        user: h.discord.fixtures.users.admin.id,
        options: { text: "With my defaults." },
      })
      .waitForResponse(hasFiles);
    expect(synthBodies()[0]).toMatchObject({ voice_setting: { voice_id: "Deep_Voice_Man", speed: 0.8 } });
    const reset = h.discord.dispatchCommand({ name: "voice reset", user: h.discord.fixtures.users.admin.id });
    expect((await reset.waitForResponse()).content).toMatch(/cleared/);
  });

  it("pages through voices with buttons", async () => {
    const handle = h.discord.dispatchCommand({ name: "voices" });
    const first = await handle.waitForResponse((m) => m.embeds.length > 0);
    const footer = (m: FakeMessage) => (m.embeds[0] as { footer?: { text?: string } }).footer?.text;
    expect(footer(first)).toMatch(/^Page 1 of (\d+)/);
    const rows = first.components as { components: { label?: string; custom_id: string }[] }[];
    const next = rows[0]?.components.find((c) => c.label === "Next");
    expect(next).toBeDefined();
    const click = h.discord.dispatchComponent({ customId: next!.custom_id, message: first.id });
    await click.waitForAck();
    expect(footer(h.discord.message(first.id)!)).toMatch(/^Page 2 of/);
  });

  it("/help explains the commands", async () => {
    const reply = await h.discord.dispatchCommand({ name: "help" }).waitForResponse();
    expect(JSON.stringify(reply.embeds)).toContain("/speak");
  });
});
afterAll(() => {
  if (process.env.E2E_LOGS) {
    for (const l of h.logs) if ((l.level as number) >= 40) console.log(JSON.stringify(l).slice(0, 1500));
  }
});
