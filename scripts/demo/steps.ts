import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { audioDurationMs } from "../../src/audio/duration.ts";
import type { AudioFormat } from "../../src/audio/format.ts";
import { bufferFromInt16 } from "../../src/audio/resample.ts";
import { pcmToWav } from "../../src/audio/wav.ts";
import type { FakeMessage } from "../../test/fakes/discord/index.ts";
import {
  describeFile,
  formatBytes,
  formatSeconds,
  isEphemeral,
  isVoiceMessage,
  messageLines,
} from "./show.ts";
import { DEMO_KEY, DEMO_SYNC_MAX_CHARS, type Stack, until } from "./stack.ts";

/** The member's script: what they do, step by step, and what they see. */

export interface DemoContext {
  stack: Stack;
  outDir: string;
  /** Prints one line of the step's story. */
  say(line: string): void;
  /** Files written so far (names inside `outDir`). */
  files: string[];
}

export interface Step {
  /** What the member does, as a one-line title. */
  title: string;
  run(ctx: DemoContext): Promise<void>;
}

const VOICE = "Calm_Woman";
const VOICE_MATCH_TOLERANCE = 0.1;

export const SPEAK_TEXT = "Hello from the demo";
export const VOICE_MESSAGE_TEXT = "This one arrives as a native voice message, with its waveform.";
export const PLAY_TEXT = "Now playing in the voice channel, streamed as it is generated.";
export const NARRATION_TEXT = [
  "Chapter one. The lighthouse keeper climbed the stairs every evening at dusk, counting the steps as",
  "her father had taught her. There were one hundred and twelve of them, worn smooth in the middle by a",
  "century of boots. At the top she trimmed the wick, polished the great lens until it shone, and",
  "watched the ships come home across the bay. Some nights the fog rolled in so thick that the beam",
  "seemed to stop a few yards from the glass, and she would ring the bell by hand until morning.",
  "Chapter two. One winter a letter arrived from the mainland: the light was to be automated, and the",
  "keeper was no longer needed. She read it twice, folded it into her coat pocket, and went up the",
  "stairs as usual. That night the fog was thicker than ever, and far out on the water a small boat",
  "had lost its way. She rang the bell until her arms ached, and just before dawn she heard oars.",
].join(" ");

const hasFiles = (m: FakeMessage) => m.attachments.length > 0;

/** Saves a message's attachments as `<step>-<filename>` and prints one line for each. */
async function saveAttachments(ctx: DemoContext, step: number, msg: FakeMessage): Promise<string[]> {
  const saved: string[] = [];
  for (const [i, att] of msg.attachments.entries()) {
    const bytes = ctx.stack.discord.attachmentBytes(msg.id, i);
    const name = `${step}-${att.filename}`;
    await writeFile(join(ctx.outDir, name), bytes);
    ctx.files.push(name);
    saved.push(name);
    ctx.say(`  📎 ${describeFile(att, bytes)}  → saved as ${name}`);
  }
  return saved;
}

function show(ctx: DemoContext, label: string, msg: FakeMessage): void {
  for (const line of messageLines(ctx.stack.discord, label, msg)) ctx.say(`  ${line}`);
}

function replyLabel(msg: FakeMessage): string {
  return isEphemeral(msg) ? "bot replies (only you can see it)" : "bot replies";
}

function member(ctx: DemoContext): string {
  return ctx.stack.discord.fixtures.users.member.id;
}

function textChannel(ctx: DemoContext): string {
  return ctx.stack.discord.fixtures.channels.text.id;
}

const speakFile: Step = {
  title: `/speak text:"${SPEAK_TEXT}" voice:${VOICE} → an mp3 attachment`,
  async run(ctx) {
    const { discord } = ctx.stack;
    ctx.say(`  member in #general: /speak text:"${SPEAK_TEXT}" voice:${VOICE}`);
    const handle = discord.dispatchCommand({
      name: "speak",
      user: member(ctx),
      channelId: textChannel(ctx),
      options: { text: SPEAK_TEXT, voice: VOICE },
    });
    const reply = await handle.waitForResponse(hasFiles, 15_000);
    const thinking = handle.ack?.type === 5 ? ` ("${discord.fixtures.bot.username} is thinking…")` : "";
    ctx.say(`  acknowledged in ${Math.round(handle.ackMs ?? 0)} ms${thinking}`);
    show(ctx, replyLabel(reply), reply);
    const saved = await saveAttachments(ctx, 1, reply);
    if (!saved.some((n) => n.endsWith(".mp3"))) throw new Error("the reply carried no mp3");
  },
};

const speakVoiceMessage: Step = {
  title: "/speak format:voice → a native voice message",
  async run(ctx) {
    const { discord } = ctx.stack;
    ctx.say(`  member in #general: /speak text:"${VOICE_MESSAGE_TEXT}" format:voice`);
    const handle = discord.dispatchCommand({
      name: "speak",
      user: member(ctx),
      channelId: textChannel(ctx),
      options: { text: VOICE_MESSAGE_TEXT, voice: VOICE, format: "voice" },
    });
    const vm = await discord.waitForMessage(
      (m) => isVoiceMessage(m) && m.channel_id === textChannel(ctx),
      15_000,
    );
    ctx.say("  a voice message appears in #general (Ogg/Opus, plays inline with its waveform)");
    await saveAttachments(ctx, 2, vm);
    const reply = await handle.waitForResponse((m) => m.content.length > 0, 10_000);
    show(ctx, replyLabel(reply), reply);
  },
};

type Embed = { fields?: { name: string; value: string }[]; footer?: { text?: string } };

function embedField(msg: FakeMessage, name: string): string | undefined {
  return (msg.embeds as Embed[]).flatMap((e) => e.fields ?? []).find((f) => f.name === name)?.value;
}

const FINAL_STATES = /Done|Failed|Cancelled|Expired/;

const narration: Step = {
  title: `a long /speak (over SYNC_MAX_CHARS) → a narration job, its status, then the audio and .srt`,
  async run(ctx) {
    const { discord } = ctx.stack;
    const chars = NARRATION_TEXT.length;
    ctx.say(
      `  member in #general: /speak text:"${NARRATION_TEXT.slice(0, 40)}…" (${chars} characters; ` +
        `SYNC_MAX_CHARS is ${DEMO_SYNC_MAX_CHARS} in the demo)`,
    );
    const started = performance.now();
    const handle = discord.dispatchCommand({
      name: "speak",
      user: member(ctx),
      channelId: textChannel(ctx),
      options: { text: NARRATION_TEXT, voice: VOICE },
    });
    const reply = await handle.waitForResponse((m) => /job `[^`]+`/.test(m.content), 15_000);
    show(ctx, replyLabel(reply), reply);
    const jobId = /job `([^`]+)`/.exec(reply.content)![1]!;

    const statusOf = () =>
      discord
        .messagesIn(textChannel(ctx))
        .find((m) => (m.embeds as Embed[]).some((e) => e.footer?.text === `job ${jobId}`));
    let last: string | undefined;
    const finalState = await until(
      () => {
        const status = statusOf();
        const state = status && embedField(status, "State");
        if (state && state !== last) {
          last = state;
          const at = formatSeconds(performance.now() - started);
          const elapsed = embedField(status, "Elapsed");
          ctx.say(`  [${at}] status message in #general: ${state}${elapsed ? ` (elapsed ${elapsed})` : ""}`);
        }
        return state && FINAL_STATES.test(state) ? state : undefined;
      },
      30_000,
      `narration job ${jobId} to finish`,
    );
    if (!/Done/.test(finalState)) throw new Error(`the narration job ended as ${finalState}`);

    const results = await until(
      () => {
        const found = discord
          .messagesIn(textChannel(ctx))
          .filter((m) => m.content.includes(`-# job ${jobId}`));
        return found.length > 0 && found;
      },
      10_000,
      "the narration's result message",
    );
    const saved: string[] = [];
    for (const msg of results) {
      show(ctx, "bot posts in #general", msg);
      saved.push(...(await saveAttachments(ctx, 3, msg)));
    }
    if (!saved.some((n) => n.endsWith(".mp3"))) throw new Error("the narration posted no mp3");
    if (!saved.some((n) => n.endsWith(".srt"))) throw new Error("the narration posted no .srt subtitles");
  },
};

/** Length of the clip the fake MiniMax serves for a request the bot streamed (it is deterministic). */
async function servedClipMs(ctx: DemoContext, streamed: Record<string, unknown>): Promise<number> {
  const { stream: _stream, stream_options: _options, ...body } = streamed;
  const res = await fetch(`${ctx.stack.minimax.url}/v1/t2a_v2`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEMO_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as { data?: { audio?: string } };
  if (!json.data?.audio) throw new Error(`the fake MiniMax did not replay the clip (HTTP ${res.status})`);
  const audio = Buffer.from(json.data.audio, "hex");
  const setting = (body.audio_setting ?? {}) as {
    format?: AudioFormat;
    sample_rate?: number;
    channel?: number;
  };
  const ms = audioDurationMs(audio, setting.format ?? "mp3", {
    sampleRate: setting.sample_rate ?? 32_000,
    channels: setting.channel ?? 1,
  });
  if (ms === undefined) throw new Error("could not tell the length of the served clip");
  return ms;
}

const playInVoice: Step = {
  title: "/speak play:true in a voice channel → the bot joins and plays; then /leave",
  async run(ctx) {
    const { discord, minimax, voice } = ctx.stack;
    const world = discord.state.world;
    const voiceChannel = discord.fixtures.channels.voice;
    const botChannel = () => world.voiceStates.get(world.botId)?.channelId ?? null;
    discord.setVoiceState(member(ctx), voiceChannel.id);
    ctx.say(`  member joins the voice channel 🔊 ${voiceChannel.name}`);
    const sessionsBefore = voice.sessions.length;
    const requestsBefore = minimax.requests.length;

    ctx.say(`  member in #general: /speak text:"${PLAY_TEXT}" play:true`);
    const handle = discord.dispatchCommand({
      name: "speak",
      user: member(ctx),
      channelId: textChannel(ctx),
      options: { text: PLAY_TEXT, voice: VOICE, play: true },
    });
    const reply = await handle.waitForResponse((m) => m.content.length > 0, 15_000);
    show(ctx, replyLabel(reply), reply);
    if (!/Speaking in|Queued/.test(reply.content))
      throw new Error("the bot did not say it would speak in voice");

    const streamed = await until(
      () =>
        minimax.requests
          .slice(requestsBefore)
          .find((r) => r.path === "/v1/t2a_v2" && (r.json as { stream?: boolean })?.stream === true)?.json as
          | Record<string, unknown>
          | undefined,
      10_000,
      "the bot to stream the clip from MiniMax",
    );
    const clipMs = await servedClipMs(ctx, streamed);
    const session = await until(
      () => {
        const s = voice.sessions.slice(sessionsBefore).at(-1);
        const quiet = s && performance.now() - (s.lastPacketAt ?? 0) >= 500;
        return s && s.packets > 0 && s.durationMs() >= clipMs * (1 - VOICE_MATCH_TOLERANCE) && quiet
          ? s
          : undefined;
      },
      clipMs + 15_000,
      "the clip to play in the voice channel",
    );
    const heardMs = session.durationMs();
    const drift = (heardMs - clipMs) / clipMs;
    const channelName = world.channels.get(session.channelId)?.name ?? session.channelId;
    ctx.say(
      `  the bot joined 🔊 ${channelName} (voice gateway v8, ${session.mode ?? "?"}) and played ` +
        `${session.packets} Opus packets`,
    );
    ctx.say(
      `  the fake voice server decoded ${formatSeconds(heardMs)} of audio; the clip MiniMax served is ` +
        `${formatSeconds(clipMs)} (${drift >= 0 ? "+" : ""}${(drift * 100).toFixed(1)}%)`,
    );
    if (Math.abs(drift) > VOICE_MATCH_TOLERANCE)
      throw new Error(
        `the voice channel heard ${formatSeconds(heardMs)}, but the clip is ${formatSeconds(clipMs)}`,
      );
    if (session.decryptFailures > 0)
      throw new Error(`${session.decryptFailures} voice packets failed to decrypt`);
    ctx.say("  ✓ it matches the clip");

    const wav = pcmToWav(bufferFromInt16(session.pcm()), {
      sampleRate: 48_000,
      channels: 2,
      bitsPerSample: 16,
    });
    const name = "4-voice-channel.wav";
    await writeFile(join(ctx.outDir, name), wav);
    ctx.files.push(name);
    ctx.say(`  🎧 what the voice channel heard: ${name} · ${formatBytes(wav.length)} · 48 kHz stereo`);

    ctx.say("  member: /leave");
    const leave = await discord
      .dispatchCommand({ name: "leave", user: member(ctx), channelId: textChannel(ctx) })
      .waitForResponse((m) => m.content.length > 0, 10_000);
    show(ctx, replyLabel(leave), leave);
    await until(() => botChannel() === null, 10_000, "the bot to leave the voice channel");
    ctx.say(`  the bot has left 🔊 ${voiceChannel.name}`);
    discord.setVoiceState(member(ctx), null);
  },
};

export const STEPS: readonly Step[] = [speakFile, speakVoiceMessage, narration, playInVoice];
