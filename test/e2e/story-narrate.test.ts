import { join } from "node:path";
import { MPEGDecoder } from "mpg123-decoder";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createUsageLedger } from "../../src/settings/usage.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import { dominantFrequency } from "../fakes/audio/frequency.ts";
import { toneFrequencyFor } from "../fakes/audio/tone.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/** The fields of a t2a_async_v2 body these tests read. */
interface AsyncCreateBody {
  text: string;
  voice_setting: { voice_id: string };
}

/**
 * Multi-voice stories end to end: a script with speaker tags and a speaker → voice mapping becomes one
 * async task per speaker turn, each in its voice, joined into one mp3 whose subtitles name the speaker.
 */

const EPHEMERAL = 64;
const VOICES = { Narrator: "Wise_Woman", Alice: "Calm_Woman", Bob: "Deep_Voice_Man" } as const;
const MAPPING = Object.entries(VOICES)
  .map(([name, voice]) => `${name}=${voice}`)
  .join(", ");
const SCRIPT = [
  "Narrator: It was a quiet evening in the old house by the sea.",
  "Alice: Did you hear that noise coming from the attic?",
  "Bob: It is only the wind, nothing more than the wind.",
].join("\n");
const SPOKEN = SCRIPT.split("\n").map((l) => l.slice(l.indexOf(":") + 2));

let h: Harness;
let storage: Storage;

const channelId = () => h.discord.fixtures.channels.text.id;
const creates = () =>
  h.minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").map((r) => r.json as AsyncCreateBody);
const isEphemeral = (m: FakeMessage) => ((m.flags ?? 0) & EPHEMERAL) === EPHEMERAL;
const withText = (m: FakeMessage) => m.content.length > 0;

function jobIdFrom(text: string): string {
  const m = /job `([^`]+)`/.exec(text);
  if (!m) throw new Error(`no job id in: ${text}`);
  return m[1]!;
}

function srtCues(srt: string): { start: number; end: number; text: string }[] {
  const ms = (t: string) => {
    const [h, m, rest] = t.split(":");
    const [s, milli] = rest!.split(",");
    return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(milli);
  };
  return srt
    .trim()
    .split(/\n\n+/)
    .map((block) => {
      const [, times, ...text] = block.split("\n");
      const [start, end] = times!.split(" --> ");
      return { start: ms(start!), end: ms(end!), text: text.join(" ") };
    });
}

beforeAll(async () => {
  h = await startHarness({ minimax: { asyncProcessingMs: 150 } });
  storage = await createStorage(`sqlite://${join(h.dataDir, "bot.sqlite")}`);
});
afterAll(async () => {
  await storage?.close();
  await h?.close();
});
beforeEach(() => {
  h.minimax.clearFaults();
});

describe("/narrate a multi-voice story", () => {
  it("a three-speaker script becomes one mp3 whose segments have the three voices' tones in order, with speaker-named cues", async () => {
    const member = h.discord.addMember({ username: `story${Date.now()}` });
    const before = creates().length;
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      user: member,
      channelId: channelId(),
      options: { text: SCRIPT, voices: MAPPING, title: "The Attic" },
    });
    const queued = await handle.waitForResponse((m) => m.content.includes("job `"));
    expect(isEphemeral(queued)).toBe(true);
    const jobId = jobIdFrom(queued.content);
    const result = await h.discord.waitForMessage((m) => m.content.includes(`-# job ${jobId}`), 30_000);
    // Only the requester is pinged (the credit line), never a name from the script.
    expect(result.allowed_mentions).toEqual({ parse: [], users: [member] });

    // One task per speaker turn, in order, each in the speaker's voice with only that speaker's text.
    const sent = creates().slice(before);
    expect(sent.map((b) => b.voice_setting.voice_id)).toEqual(Object.values(VOICES));
    expect(sent.map((b) => b.text)).toEqual(SPOKEN);

    const names = result.attachments.map((a) => a.filename);
    expect(names).toEqual(["the-attic.mp3", "the-attic.srt"]);
    const mp3 = h.discord.attachmentBytes(result.id, 0);
    const cues = srtCues(h.discord.attachmentBytes(result.id, 1).toString("utf8"));

    // Every cue names its speaker, and the speakers come in script order.
    const speakers = cues.map((c) => c.text.slice(0, c.text.indexOf(":")));
    expect([...new Set(speakers)]).toEqual(Object.keys(VOICES));
    expect(speakers).toEqual([...speakers].sort((a, b) => order(a) - order(b)));
    expect(cues.map((c) => c.text.slice(c.text.indexOf(":") + 2)).join(" ")).toBe(SPOKEN.join(" "));

    // The joined audio: in the middle of each speaker's cues, that speaker's voice is heard.
    const decoder = new MPEGDecoder();
    await decoder.ready;
    const decoded = decoder.decode(mp3);
    decoder.free();
    expect(decoded.errors).toEqual([]);
    const rate = decoded.sampleRate;
    const samples = decoded.channelData[0]!;
    for (const [speaker, voice] of Object.entries(VOICES)) {
      const mine = cues.filter((c) => c.text.startsWith(`${speaker}:`));
      const mid = (mine[0]!.start + mine.at(-1)!.end) / 2;
      const from = Math.round(((mid - 150) * rate) / 1000);
      const window = samples.subarray(from, from + Math.round((300 * rate) / 1000));
      const pcm = Int16Array.from(window, (v) => Math.round(v * 32767));
      expect(Math.abs(dominantFrequency(pcm, rate, 1) - toneFrequencyFor(voice))).toBeLessThan(5);
    }
    // The whole file lasts as long as its last cue ends (give or take the final frame).
    expect(samples.length / rate).toBeGreaterThanOrEqual(cues.at(-1)!.end / 1000 - 0.1);

    // The member's budget holds the whole script's spoken characters, charged once.
    const ledger = createUsageLedger(budgetStoreFor(storage));
    const used = await ledger.summary(h.discord.fixtures.guild.id, member, {});
    expect(used.user.day).toBe(SPOKEN.join("").length);
  });

  it("a script may declare its voices itself in an @voices header", async () => {
    const before = creates().length;
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: `@voices Alice=Calm_Woman, Bob=Deep_Voice_Man\nAlice: Hello Bob.\nBob: Hello Alice.` },
    });
    const jobId = jobIdFrom((await handle.waitForResponse((m) => m.content.includes("job `"))).content);
    const result = await h.discord.waitForMessage((m) => m.content.includes(`-# job ${jobId}`), 30_000);
    expect(
      creates()
        .slice(before)
        .map((b) => b.voice_setting.voice_id),
    ).toEqual(["Calm_Woman", "Deep_Voice_Man"]);
    const srt = h.discord.attachmentBytes(result.id, 1).toString("utf8");
    expect(srt).toMatch(/Alice: Hello Bob\./);
    expect(srt).toMatch(/Bob: Hello Alice\./);
  });

  it.each([
    [
      "an unknown speaker",
      { text: "Alice: Hi.\nCarol: Hey.", voices: "Alice=Calm_Woman" },
      /Line 2 is spoken by Carol, who has no voice/,
    ],
    [
      "an unknown voice",
      { text: "Alice: Hi.", voices: "Alice=No_Such_Voice" },
      /I do not know the voice of Alice \(`No_Such_Voice`\)/,
    ],
    [
      "too many speakers",
      { text: "A: x", voices: Array.from({ length: 9 }, (_, i) => `S${i}=Wise_Woman`).join(", ") },
      /at most 8 speakers/,
    ],
    [
      "a text before any speaker",
      { text: "Once upon a time.\nAlice: Hi.", voices: "Alice=Calm_Woman" },
      /Line 1 has no speaker/,
    ],
    [
      "flac",
      { text: "Alice: Hi.", voices: "Alice=Calm_Woman", format: "flac" },
      /Multi-voice stories come as mp3/,
    ],
  ])("refuses %s privately, before anything is spent", async (_name, options, message) => {
    const before = h.minimax.requests.length;
    const reply = await h.discord
      .dispatchCommand({ name: "narrate", channelId: channelId(), options })
      .waitForResponse(withText);
    expect(reply.content).toMatch(message);
    expect(isEphemeral(reply)).toBe(true);
    expect(h.minimax.requests.slice(before).filter((r) => r.path.startsWith("/v1/t2a"))).toEqual([]);
  });
});

describe("/request a multi-voice story", () => {
  it("a submitted script keeps its voices through the queue and is narrated as a story", async () => {
    await applySettings(h.discord, { approval_required: false, narration_channel: { channel: channelId() } });
    const before = creates().length;
    const reply = await h.discord
      .dispatchCommand({
        name: "request submit",
        channelId: channelId(),
        options: {
          title: "Two Friends",
          text: "Alice: Good morning.\nBob: Good morning to you.",
          voices: MAPPING,
        },
      })
      .waitForResponse(withText);
    expect(reply.content).toMatch(/Request `[^`]+` is in the narration queue/);
    const result = await h.discord.waitForMessage(
      (m) => m.content.includes("Two Friends") && m.content.includes("-# job") && m.attachments.length > 0,
      30_000,
    );
    expect(
      creates()
        .slice(before)
        .map((b) => [b.voice_setting.voice_id, b.text]),
    ).toEqual([
      ["Calm_Woman", "Good morning."],
      ["Deep_Voice_Man", "Good morning to you."],
    ]);
    const srt = h.discord.attachmentBytes(result.id, 1).toString("utf8");
    expect(srt).toMatch(/Alice: Good morning\./);
    expect(srt).toMatch(/Bob: Good morning to you\./);
  });

  it("refuses a bad script at submission", async () => {
    const reply = await h.discord
      .dispatchCommand({
        name: "request submit",
        channelId: channelId(),
        options: { title: "Oops", text: "Alice: Hi.\nZed: Hey.", voices: "Alice=Calm_Woman" },
      })
      .waitForResponse(withText);
    expect(reply.content).toMatch(/Line 2 is spoken by Zed, who has no voice/);
    expect(isEphemeral(reply)).toBe(true);
  });

  it("refuses a voice nobody has at submission, before a moderator sees the card", async () => {
    const reply = await h.discord
      .dispatchCommand({
        name: "request submit",
        channelId: channelId(),
        options: {
          title: "Miscast",
          text: "Alice: Hi.\nBob: Hey.",
          voices: "Alice=Calm_Woman, Bob=Nobody_At_All",
        },
      })
      .waitForResponse(withText);
    expect(reply.content).toMatch(/I do not know the voice of Bob \(`Nobody_At_All`\)/);
    expect(isEphemeral(reply)).toBe(true);
    expect(h.discord.allMessages().some((m) => JSON.stringify(m).includes("Miscast"))).toBe(false);
  });
});

function order(speaker: string): number {
  return Object.keys(VOICES).indexOf(speaker);
}
