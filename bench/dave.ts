import { createCipheriv, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import {
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  StreamType,
  VoiceConnectionStatus,
} from "@discordjs/voice";
import Davey from "@snazzah/davey";
import { GatewayIntentBits } from "discord.js";
import { createPcmToOpus } from "../src/voice/pcm-pipeline.ts";
import { synthPcm } from "../test/fakes/audio/tone.ts";
import { startClientAndFake } from "../test/fakes/discord/index.ts";
import { createExternalSender, externalProposal, proposalsPayload } from "../test/fakes/voice/dave/mls.ts";
import { startFakeVoice } from "../test/fakes/voice/index.ts";
import { speechLikePcm24k, threadCpuUs } from "./opus.ts";
import { fmt, summarize } from "./stats.ts";

/**
 * What DAVE (Discord's end-to-end encryption) costs the bot:
 *
 * (a) Handshake: voice IDENTIFY → the first audible frame a listener got, against the fake voice
 *     server with two simulated DAVE members in the channel; with DAVE that frame is the first
 *     E2EE one they decrypted (so the MLS exchange is in it), the baseline is the same join with
 *     DAVE declined (protocol 0), measured in the same run, rounds interleaved.
 * (b) Per frame: the bot's voice pipeline for one stream (24 kHz mono PCM → Opus → AES-GCM, the
 *     "new" pipeline of bench/voice-pipeline.ts, measured again here) with and without davey's
 *     `encryptOpus` on each packet, as @discordjs/voice 0.19 calls it; DAVE's share is its cost over
 *     the pipeline's total per stream (thread CPU, all rounds).
 */

const SOURCE_RATE = 24_000;
const BITRATE = 64_000;

export interface DaveBenchResult {
  handshake: { rounds: number; daveMs: number[]; plainMs: number[] };
  frame: {
    frames: number;
    pipelineUs: number;
    withDaveUs: number;
    daveAloneUs: number;
    /** davey's own count of encryption time, µs per frame (cross-check). */
    daveyReportedUs: number;
  };
}

/** A davey session that is a member of a two-member group, so it encrypts for real. */
async function readySession(): Promise<Davey.DAVESession> {
  const channel = "222222222222222222";
  const sender = await createExternalSender("1");
  const a = new Davey.DAVESession(1, "111111111111111111", channel);
  const b = new Davey.DAVESession(1, "333333333333333333", channel);
  a.setExternalSender(Buffer.from(sender.encoded));
  b.setExternalSender(Buffer.from(sender.encoded));
  const { decodeKeyPackage } = await import("ts-mls/keyPackage.js");
  const decoded = decodeKeyPackage(new Uint8Array(b.getSerializedKeyPackage()), 0);
  if (!decoded) throw new Error("bench: key package did not parse");
  const groupId = Buffer.alloc(8);
  groupId.writeBigUInt64BE(BigInt(channel));
  const add = await externalProposal(
    { groupId: new Uint8Array(groupId), epoch: 0n, externalSender: sender },
    { proposalType: "add", add: { keyPackage: decoded[0] } },
  );
  const payload = proposalsPayload("append", [add.encoded]);
  const { commit, welcome } = a.processProposals(0, payload.subarray(1), ["333333333333333333"]);
  if (!commit || !welcome) throw new Error("bench: no commit");
  a.processCommit(commit);
  b.processWelcome(welcome);
  if (!a.ready) throw new Error("bench: session not ready");
  return a;
}

function createSealer(): (packet: Buffer) => Buffer {
  const key = randomBytes(32);
  const nonceBuffer = Buffer.alloc(12);
  let nonce = 0;
  let sequence = 0;
  return (packet) => {
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 0x78;
    header.writeUIntBE(sequence, 2, 2);
    sequence = (sequence + 1) & 0xffff;
    nonce = (nonce + 1) >>> 0;
    nonceBuffer.writeUInt32BE(nonce, 0);
    const cipher = createCipheriv("aes-256-gcm", key, nonceBuffer);
    cipher.setAAD(header);
    const sealed = Buffer.concat([cipher.update(packet), cipher.final(), cipher.getAuthTag()]);
    return Buffer.concat([header, sealed, nonceBuffer.subarray(0, 4)]);
  };
}

/** The new pipeline end to end over `chunks`; returns the Opus packets it sent (after `wrap`). */
function pipeline(chunks: Buffer[], seal: (p: Buffer) => Buffer, wrap?: (p: Buffer) => Buffer): Buffer[] {
  const conv = createPcmToOpus({ sampleRate: SOURCE_RATE, channels: 1 }, { bitrate: BITRATE });
  const out: Buffer[] = [];
  const send = (packets: Buffer[]) => {
    for (const packet of packets) {
      seal(wrap ? wrap(packet) : packet);
      out.push(packet);
    }
  };
  for (const c of chunks) send(conv.push(c));
  send(conv.flush());
  return out;
}

async function benchFrames(seconds: number, rounds: number): Promise<DaveBenchResult["frame"]> {
  const pcm = speechLikePcm24k(seconds, 7);
  const chunks: Buffer[] = [];
  for (let o = 0; o < pcm.length; o += 4096) chunks.push(pcm.subarray(o, o + 4096));
  const session = await readySession();
  const seal = createSealer();
  const dave = (p: Buffer) => session.encryptOpus(p);
  let plainCpu = 0;
  let daveCpu = 0;
  let aloneCpu = 0;
  let frames = 0;
  pipeline(chunks, seal, dave); // warm-up
  const statsBefore = session.getEncryptionStats();
  let daveyFrames = 0;
  for (let r = 0; r < rounds; r++) {
    let t = threadCpuUs();
    const packets = pipeline(chunks, seal);
    plainCpu += threadCpuUs() - t;
    t = threadCpuUs();
    daveyFrames += pipeline(chunks, seal, dave).length;
    daveCpu += threadCpuUs() - t;
    t = threadCpuUs();
    for (const p of packets) dave(p);
    aloneCpu += threadCpuUs() - t;
    daveyFrames += packets.length;
    frames += packets.length;
  }
  const statsAfter = session.getEncryptionStats();
  const daveyUs = (statsAfter?.duration ?? 0) - (statsBefore?.duration ?? 0);
  return {
    frames,
    pipelineUs: plainCpu / frames,
    withDaveUs: daveCpu / frames,
    daveAloneUs: aloneCpu / frames,
    daveyReportedUs: daveyUs / Math.max(1, daveyFrames),
  };
}

async function benchHandshake(rounds: number): Promise<DaveBenchResult["handshake"]> {
  const ctx = await startClientAndFake(
    {},
    { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] },
  );
  const voice = await startFakeVoice(ctx.fake);
  const f = ctx.fake.fixtures;
  const guild = ctx.client.guilds.cache.get(f.guild.id)!;
  const listeners = [f.users.member.id, f.users.admin.id];
  const daveMs: number[] = [];
  const plainMs: number[] = [];
  const tone = synthPcm({ durationMs: 4000, sampleRate: 48_000, channels: 2, frequency: 440 });
  try {
    for (let i = 0; i < rounds * 2; i++) {
      const withDave = i % 2 === 0;
      voice.dave.enabled = withDave;
      for (const id of listeners) ctx.fake.setVoiceState(id, f.channels.voice.id);
      const before = voice.sessions.length;
      const player = createAudioPlayer();
      player.play(createAudioResource(Readable.from([tone]), { inputType: StreamType.Raw }));
      const connection = joinVoiceChannel({
        channelId: f.channels.voice.id,
        guildId: guild.id,
        adapterCreator: guild.voiceAdapterCreator,
      });
      connection.subscribe(player);
      await entersState(connection, VoiceConnectionStatus.Ready, 5000);
      const session = await voice.waitForSession((s) => voice.sessions.indexOf(s) >= before);
      const deadline = performance.now() + 5000;
      const first = () => (withDave ? session.firstE2eeAt : session.firstPacketAt);
      while (first() === undefined && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 2));
      const at = first();
      if (at !== undefined) (withDave ? daveMs : plainMs).push(at - session.identifiedAt);
      player.stop(true);
      connection.destroy();
      await new Promise((r) => setTimeout(r, 150));
      for (const id of listeners) ctx.fake.setVoiceState(id, null);
    }
  } finally {
    await voice.close();
    await ctx.close();
  }
  return { rounds, daveMs, plainMs };
}

export async function benchDave(
  opts: { rounds?: number; seconds?: number; handshakes?: number } = {},
): Promise<DaveBenchResult> {
  const frame = await benchFrames(opts.seconds ?? 10, opts.rounds ?? 5);
  const handshake = await benchHandshake(opts.handshakes ?? 6);
  return { handshake, frame };
}

export function printDave(r: DaveBenchResult): void {
  console.log(
    "DAVE end-to-end encryption (davey via @discordjs/voice 0.19; fake voice server with 2 DAVE members)",
  );
  const d = summarize(r.handshake.daveMs);
  const p = summarize(r.handshake.plainMs);
  console.log(
    `  handshake, IDENTIFY → first audible frame (${r.handshake.rounds} rounds each, interleaved):\n` +
      `    DAVE declined (baseline): p50 ${fmt(p.median, 1)} ms, p95 ${fmt(p.p95, 1)} ms\n` +
      `    DAVE (first E2EE frame decrypted): p50 ${fmt(d.median, 1)} ms, p95 ${fmt(d.p95, 1)} ms` +
      ` (+${fmt(d.median - p.median, 1)} ms, ${fmt(d.median / p.median, 2)}× the baseline)`,
  );
  const x = r.frame;
  console.log(
    `  per 20 ms frame, one stream, thread CPU over ${x.frames} frames:\n` +
      `    pipeline (PCM → Opus → AES-GCM), baseline: ${fmt(x.pipelineUs, 1)} µs\n` +
      `    pipeline with DAVE encryptOpus:            ${fmt(x.withDaveUs, 1)} µs\n` +
      `    DAVE encryptOpus alone: ${fmt(x.daveAloneUs, 1)} µs (davey reports ${fmt(x.daveyReportedUs, 1)} µs)` +
      ` = ${fmt((100 * x.daveAloneUs) / (x.pipelineUs + x.daveAloneUs), 1)}% of the stream's voice CPU`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printDave(await benchDave());
