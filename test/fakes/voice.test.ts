import { createSocket } from "node:dgram";
import { once } from "node:events";
import { Readable } from "node:stream";
import {
  type AudioPlayer,
  AudioPlayerStatus,
  createAudioPlayer,
  createAudioResource,
  entersState,
  joinVoiceChannel,
  StreamType,
  type VoiceConnection,
  VoiceConnectionStatus,
} from "@discordjs/voice";
import { GatewayIntentBits } from "discord.js";
import { encodeExternalSender, encodeMlsMessage } from "ts-mls";
import { encode } from "ts-mls/codec/tlsEncoder.js";
import { varLenDataEncoder } from "ts-mls/codec/variableLength.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { dominantFrequency } from "./audio/frequency.ts";
import { synthPcm } from "./audio/tone.ts";
import { type ClientAndFake, startClientAndFake } from "./discord/index.ts";
import { mlsVector, parseClientFrame, readMlsVarint, serverFrame } from "./voice/dave/framing.ts";
import {
  checkKeyPackage,
  createExternalSender,
  externalProposal,
  proposalsPayload,
  snowflakeBytes,
} from "./voice/dave/mls.ts";
import {
  decryptRtp,
  discoveryRequest,
  encryptRtp,
  type FakeVoice,
  MODE_AES_GCM,
  MODE_XCHACHA,
  parseDiscoveryResponse,
  rtpHeader,
  startFakeVoice,
  VOICE_CLOSE,
  type VoiceSession,
} from "./voice/index.ts";

const RATE = 48_000;
const TONE_TOLERANCE_HZ = 3;

describe("fake voice server with the real discord.js and @discordjs/voice", () => {
  let ctx: ClientAndFake;
  let voice: FakeVoice | undefined;
  let connection: VoiceConnection | undefined;
  let player: AudioPlayer | undefined;
  const connectionErrors: Error[] = [];

  beforeAll(async () => {
    ctx = await startClientAndFake(
      {},
      { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] },
    );
  });
  afterEach(async () => {
    player?.stop(true);
    player = undefined;
    if (connection && connection.state.status !== VoiceConnectionStatus.Destroyed) connection.destroy();
    connection = undefined;
    await voice?.close();
    voice = undefined;
    expect(connectionErrors).toEqual([]);
    connectionErrors.length = 0;
    expect(ctx.fake.internalErrors).toEqual([]);
  });
  afterAll(async () => {
    await ctx?.close();
  });

  const f = () => ctx.fake.fixtures;

  function join(): VoiceConnection {
    const guild = ctx.client.guilds.cache.get(f().guild.id)!;
    connection = joinVoiceChannel({
      channelId: f().channels.voice.id,
      guildId: guild.id,
      adapterCreator: guild.voiceAdapterCreator,
    });
    connection.on("error", (error) => connectionErrors.push(error));
    return connection;
  }

  async function joinReady(): Promise<VoiceConnection> {
    const conn = join();
    await entersState(conn, VoiceConnectionStatus.Ready, 5000);
    return conn;
  }

  /** Plays clips back to back (each starts as soon as the previous one is idle). */
  async function play(conn: VoiceConnection, clips: Array<{ hz: number; ms: number }>): Promise<void> {
    player = createAudioPlayer();
    conn.subscribe(player);
    for (const clip of clips) {
      const pcm = synthPcm({ durationMs: clip.ms, sampleRate: RATE, channels: 2, frequency: clip.hz });
      player.play(createAudioResource(Readable.from([pcm]), { inputType: StreamType.Raw }));
      await entersState(player, AudioPlayerStatus.Playing, 2000);
      await entersState(player, AudioPlayerStatus.Idle, clip.ms + 3000);
    }
  }

  function expectCleanStream(session: VoiceSession): void {
    expect(session.decryptFailures).toBe(0);
    expect(session.rejectedPackets).toBe(0);
    expect(session.decodeErrors).toBe(0);
    expect(session.sequenceErrors).toBe(0);
    expect(session.timestampErrors).toBe(0);
    expect(session.nonceReuses).toBe(0);
  }

  function expectTone(pcm: Int16Array, hz: number): void {
    expect(Math.abs(dominantFrequency(pcm, RATE, 2) - hz)).toBeLessThanOrEqual(TONE_TOLERANCE_HZ);
  }

  it.each([
    { mode: MODE_AES_GCM, hz: 440 },
    { mode: MODE_XCHACHA, hz: 565 },
  ])("plays 1 s of $hz Hz that decrypts and decodes with $mode offered alone", async ({ mode, hz }) => {
    voice = await startFakeVoice(ctx.fake, { modes: [mode] });
    const conn = await joinReady();
    await play(conn, [{ hz, ms: 1000 }]);
    const session = await voice.waitForAudio({ minDurationMs: 900, quietMs: 100 });

    expect(session.mode).toBe(mode);
    expect(session.selectProtocol).toMatchObject({ protocol: "udp", data: { mode } });
    expectCleanStream(session);
    expect(Math.abs(session.durationMs() - 1000)).toBeLessThanOrEqual(100);
    expect(session.packets).toBe(50);
    // The player prepares five trailing silence frames but 0.19.2 sends four: the fifth stays prepared
    // (unsent) once the player is idle, and goes out just before the next clip.
    expect(session.silenceFrames).toBe(4);
    expectTone(session.pcm(), hz);
    expect(session.speaking[0]).toMatchObject({ speaking: 1, ssrc: session.ssrc });
    expect(session.speaking.at(-1)?.speaking).toBe(0);
    // IP discovery told the client where its packets came from, and it selected exactly that.
    expect(session.selectProtocol?.data).toMatchObject(session.discoveredAddress!);
    expect(session.discoveredAddress?.address).toBe("127.0.0.1");
    expect(session.firstPacketAt).toBeLessThan(session.lastPacketAt!);
  });

  it("identifies with the bot's voice state and, with DAVE declined, accepts version 0", async () => {
    voice = await startFakeVoice(ctx.fake, { heartbeatIntervalMs: 100, dave: false });
    await joinReady();
    const session = await voice.waitForSession();
    const world = ctx.fake.state.world;
    expect(session.identify).toMatchObject({
      server_id: f().guild.id,
      user_id: f().bot.id,
      session_id: world.voiceStates.get(f().bot.id)?.sessionId,
      token: voice.issuedToken(),
    });
    expect(session.maxDaveProtocolVersion).toBeGreaterThanOrEqual(1);
    expect(session.daveProtocolVersion).toBe(0);
    // Both modes offered, AES-GCM first: the client takes the first it supports.
    expect(session.mode).toBe(MODE_AES_GCM);
    expect(voice.connections[0]?.query).toEqual({ v: "8" });
    // v8 heartbeats acknowledge the latest sequenced message (READY 1, SESSION DESCRIPTION 2).
    await expect.poll(() => session.heartbeats, { timeout: 2000 }).toBeGreaterThanOrEqual(2);
    expect(session.lastSeqAck).toBe(session.seq);
    expect(session.seq).toBe(2);
  });

  it("speaks DAVE: the client joins the members' group by Welcome and they decrypt every frame after it", async () => {
    const a = f().users.member.id;
    const b = f().users.admin.id;
    ctx.fake.setVoiceState(a, f().channels.voice.id);
    ctx.fake.setVoiceState(b, f().channels.voice.id);
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    const session = await voice.waitForSession();
    const heard: Array<{ at: number; e2ee: boolean; by: string[]; silence: boolean }> = [];
    voice.on("packet", (_s, info) =>
      heard.push({ at: info.at, e2ee: info.e2ee, by: info.decryptedBy ?? [], silence: info.silence }),
    );
    await expect.poll(() => session.dave?.settled, { timeout: 5000 }).toBe(true);
    const call = session.dave!;
    await play(conn, [{ hz: 410, ms: 800 }]);
    await voice.waitForAudio({ minDurationMs: 750, quietMs: 100 });

    expect(session.daveProtocolVersion).toBe(1);
    expect(call.welcomesToBot).toBe(1);
    expect(call.botCommitsAnnounced).toBe(0);
    expect(call.groupMembers().sort()).toEqual([a, b, f().bot.id].sort());
    expect(call.rejectedCommits.filter((r) => !r.includes("epoch"))).toEqual([]);
    expect(call.errors).toEqual([]);
    // Every audible frame was E2EE and both members decrypted it; the audio is what they decrypted.
    const audible = heard.filter((p) => !p.silence);
    expect(audible.length).toBeGreaterThanOrEqual(40);
    for (const p of audible) {
      expect(p.e2ee).toBe(true);
      expect(p.by.sort()).toEqual([a, b].sort());
    }
    expect(session.plainFrames).toBe(0);
    expect(session.undecryptable).toBe(0);
    expectTone(session.pcm(), 410);
    expect(call.member(a)?.stats.decrypted).toBe(audible.length);
    ctx.fake.setVoiceState(a, null);
    ctx.fake.setVoiceState(b, null);
  });

  it("closes 4017 when the client offers no DAVE, and the client keeps retrying (what the bot must stop)", async () => {
    voice = await startFakeVoice(ctx.fake);
    const guild = ctx.client.guilds.cache.get(f().guild.id)!;
    connection = joinVoiceChannel({
      channelId: f().channels.voice.id,
      guildId: guild.id,
      adapterCreator: guild.voiceAdapterCreator,
      daveEncryption: false,
    });
    await voice.waitForClose(VOICE_CLOSE.DaveRequired);
    await expect.poll(() => voice!.dave.refusals, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(voice.sessions).toHaveLength(0);
  });

  it("lets the offer order decide the mode", async () => {
    voice = await startFakeVoice(ctx.fake, { modes: [MODE_XCHACHA, MODE_AES_GCM] });
    await joinReady();
    expect((await voice.waitForSession((s) => s.mode !== undefined)).mode).toBe(MODE_XCHACHA);
  });

  it("refuses a wrong token with 4004; the client rejoins and gets in once the token is right", async () => {
    voice = await startFakeVoice(ctx.fake, { tokenOverride: (issued) => `${issued}x` });
    const conn = join();
    const refused = await voice.waitForClose(VOICE_CLOSE.AuthenticationFailed);
    expect(refused.closedBy).toBe("server");
    expect(refused.session).toBeUndefined();
    expect(voice.sessions).toHaveLength(0);
    voice.tokenOverride = undefined;
    await entersState(conn, VoiceConnectionStatus.Ready, 5000);
    expect(voice.sessions).toHaveLength(1);
    expect(voice.sessions[0]?.token).toBe(voice.issuedToken());
  });

  it("resumes the same session after drop(4015) and keeps the audio flowing", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    const session = await voice.waitForSession();
    const playing = play(conn, [{ hz: 330, ms: 1000 }]);
    await voice.waitForAudio({ minDurationMs: 300 });
    expect(voice.drop(VOICE_CLOSE.VoiceServerCrashed)).toEqual([session]);
    await playing;
    await voice.waitForAudio({ minDurationMs: 900, quietMs: 100 });

    expect(session.resumed).toBe(1);
    expect(session.closeCodes).toEqual([VOICE_CLOSE.VoiceServerCrashed]);
    expect(voice.sessions).toEqual([session]);
    expect(voice.connections.map((c) => c.kind)).toEqual(["identify", "resume"]);
    expectCleanStream(session);
    expect(Math.abs(session.durationMs() - 1000)).toBeLessThanOrEqual(100);
    expectTone(session.pcm(), 330);
  });

  it("replays messages the client missed while dropped", async () => {
    // DAVE declined: only CLIENTS_CONNECT is missed (with DAVE the new member's MLS messages would be too).
    voice = await startFakeVoice(ctx.fake, { dave: false });
    const conn = await joinReady();
    const session = await voice.waitForSession();
    voice.drop();
    // A member joins while the socket is down: CLIENTS_CONNECT is buffered with the next seq.
    ctx.fake.setVoiceState(f().users.member.id, f().channels.voice.id);
    await expect.poll(() => session.resumed, { timeout: 3000 }).toBe(1);
    expect(session.replayed).toBe(1);
    await entersState(conn, VoiceConnectionStatus.Ready, 2000);
    const state = conn.state.status === VoiceConnectionStatus.Ready ? conn.state.networking.state : undefined;
    const clients = state && "connectionData" in state ? state.connectionData.connectedClients : undefined;
    expect(clients && [...clients]).toEqual([f().users.member.id]);
    ctx.fake.setVoiceState(f().users.member.id, null);
  });

  it("makes a refused RESUME (4006) end in a fresh IDENTIFY that carries on playing", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    const first = await voice.waitForSession();
    voice.failNext("resume");
    voice.drop(VOICE_CLOSE.VoiceServerCrashed);
    const second = await voice.waitForSession((s) => s !== first);
    await entersState(conn, VoiceConnectionStatus.Ready, 5000);
    expect(first.ended).toBe(true);
    expect(voice.connections.map((c) => [c.kind, c.closeCode])).toEqual([
      ["identify", VOICE_CLOSE.VoiceServerCrashed],
      [undefined, VOICE_CLOSE.SessionNoLongerValid],
      ["identify", undefined],
    ]);
    await play(conn, [{ hz: 250, ms: 300 }]);
    const heard = await voice.waitForAudio({ minDurationMs: 250, quietMs: 80 });
    expect(heard).toBe(second);
    expect(first.packets).toBe(0);
  });

  it("kick() removes the bot and closes with 4014, which the client does not retry", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    const session = await voice.waitForSession();
    const guild = ctx.client.guilds.cache.get(f().guild.id)!;
    await expect.poll(() => guild.members.me?.voice.channelId).toBe(f().channels.voice.id);
    voice.kick();
    await entersState(conn, VoiceConnectionStatus.Disconnected, 2000);
    expect(conn.state).toMatchObject({ closeCode: VOICE_CLOSE.Disconnected });
    expect(session).toMatchObject({ ended: true, closed: true, closeCode: VOICE_CLOSE.Disconnected });
    await expect.poll(() => guild.members.me?.voice.channelId).toBeNull();
    expect(voice.sessions).toHaveLength(1);
  });

  it("ends the session when the bot leaves", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    const session = await voice.waitForSession();
    conn.destroy();
    await expect.poll(() => session.ended).toBe(true);
    expect(ctx.fake.state.world.voiceStates.has(f().bot.id)).toBe(false);
    expect(voice.activeSession()).toBeUndefined();
  });

  it("splits two clips played back to back into segments, in order", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    await play(conn, [
      { hz: 280, ms: 300 },
      { hz: 520, ms: 300 },
    ]);
    const session = await voice.waitForAudio({ minDurationMs: 550, quietMs: 100 });
    const segments = session.segments();
    expect(segments).toHaveLength(2);
    expectTone(segments[0]!.pcm, 280);
    expectTone(segments[1]!.pcm, 520);
    for (const segment of segments) expect(Math.abs(segment.durationMs - 300)).toBeLessThanOrEqual(30);
    expect(segments[0]!.endAt).toBeLessThan(segments[1]!.startAt);
    // 5 + 4: the first clip's held-back fifth silence frame went out as the second clip started.
    expect(session.silenceFrames).toBe(9);
  });

  it("drops audio Discord would not forward: bot server-muted", async () => {
    voice = await startFakeVoice(ctx.fake);
    const conn = await joinReady();
    ctx.fake.setVoiceState(f().bot.id, f().channels.voice.id, { mute: true });
    await play(conn, [{ hz: 440, ms: 200 }]);
    await expect.poll(() => voice!.sessions[0]?.inaudiblePackets ?? 0).toBeGreaterThanOrEqual(10);
    expect(voice.sessions[0]?.packets).toBe(0);
  });
});

interface ServerMessage {
  op: number;
  d: unknown;
  seq?: number;
}

describe("DAVE encodings, checked against ts-mls", () => {
  it("writes MLS vector lengths and op 27 bodies as ts-mls encodes them", async () => {
    for (const n of [0, 1, 63, 64, 300, 16_383, 16_384, 70_000]) {
      const bytes = new Uint8Array(n).fill(7);
      expect(mlsVector(bytes)).toEqual(Buffer.from(encode(varLenDataEncoder)(bytes)));
      expect(readMlsVarint(mlsVector(bytes))).toEqual({ length: n, size: n < 64 ? 1 : n < 16_384 ? 2 : 4 });
    }
    const sender = await createExternalSender("1");
    expect(Buffer.from(sender.encoded)).toEqual(
      Buffer.from(
        encodeExternalSender({
          signaturePublicKey: sender.publicKey,
          credential: { credentialType: "basic", identity: snowflakeBytes("1") },
        }),
      ),
    );
    const remove = await externalProposal(
      { groupId: snowflakeBytes("42"), epoch: 3n, externalSender: sender },
      { proposalType: "remove", remove: { removed: 1 } },
    );
    expect(Buffer.from(remove.encoded)).toEqual(Buffer.from(encodeMlsMessage(remove.message)));
    const append = proposalsPayload("append", [remove.encoded, remove.encoded]);
    expect(append[0]).toBe(0);
    expect(append.subarray(1)).toEqual(
      Buffer.from(encode(varLenDataEncoder)(Buffer.concat([remove.encoded, remove.encoded]))),
    );
    const revoke = proposalsPayload("revoke", [remove.ref]);
    expect(revoke[0]).toBe(1);
    expect(revoke.subarray(1)).toEqual(
      Buffer.from(encode(varLenDataEncoder)(encode(varLenDataEncoder)(remove.ref))),
    );
  });

  it("frames binary messages as seq:u16 op:u8 payload and refuses key packages that name someone else", async () => {
    expect(serverFrame(0x1234, 25, Buffer.from([9, 8]))).toEqual(Buffer.from([0x12, 0x34, 25, 9, 8]));
    expect(serverFrame(0x1_0001, 27, Buffer.alloc(0))).toEqual(Buffer.from([0, 1, 27]));
    expect(parseClientFrame(Buffer.from([26, 1, 2]))).toEqual({ op: 26, payload: Buffer.from([1, 2]) });
    const Davey = (await import("@snazzah/davey")).default;
    const client = new Davey.DAVESession(1, "111111111111111111", "222222222222222222");
    const kp = client.getSerializedKeyPackage();
    expect(await checkKeyPackage(kp, "111111111111111111")).toMatchObject({ ok: true });
    expect(await checkKeyPackage(kp, "333333333333333333")).toEqual({
      ok: false,
      reason: "credential names another user",
    });
    const tampered = Buffer.from(kp);
    tampered[tampered.length - 3]! ^= 1;
    expect(await checkKeyPackage(tampered, "111111111111111111")).toMatchObject({ ok: false });
  });
});

describe("fake voice server protocol checks with a raw client", () => {
  let ctx: ClientAndFake;
  let voice: FakeVoice;

  beforeAll(async () => {
    ctx = await startClientAndFake(
      {},
      { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] },
    );
    voice = await startFakeVoice(ctx.fake, { heartbeatIntervalMs: 100 });
  });
  afterAll(async () => {
    await voice?.close();
    await ctx?.close();
  });

  async function open(query = "?v=8"): Promise<{ ws: WebSocket; messages: ServerMessage[] }> {
    const ws = new WebSocket(`wss://${voice.endpoint}/${query}`);
    const messages: ServerMessage[] = [];
    ws.on("message", (data) => messages.push(JSON.parse(data.toString())));
    await once(ws, "open");
    return { ws, messages };
  }

  async function closeCode(ws: WebSocket): Promise<number> {
    const [code] = (await once(ws, "close")) as [number];
    return code;
  }

  /** Puts the bot in voice through the main gateway and returns what IDENTIFY needs. */
  async function botInVoice() {
    const ops = ctx.fake.gatewayOps.length;
    const guild = ctx.client.guilds.cache.get(ctx.fake.fixtures.guild.id)!;
    guild.shard.send({ op: 4, d: { guild_id: guild.id, channel_id: ctx.fake.fixtures.channels.voice.id } });
    await expect.poll(() => ctx.fake.gatewayOps.length).toBeGreaterThan(ops);
    const world = ctx.fake.state.world;
    return {
      server_id: world.guild.id,
      user_id: world.botId,
      session_id: world.voiceStates.get(world.botId)!.sessionId,
      token: voice.issuedToken()!,
      max_dave_protocol_version: 1,
    };
  }

  it("sends HELLO, closes 4003 for SELECT PROTOCOL before IDENTIFY, 4001 for unknown ops", async () => {
    const a = await open();
    await expect.poll(() => a.messages[0]).toEqual({ op: 8, d: { v: 8, heartbeat_interval: 100 } });
    a.ws.send(JSON.stringify({ op: 1, d: { protocol: "udp", data: {} } }));
    expect(await closeCode(a.ws)).toBe(VOICE_CLOSE.NotAuthenticated);
    const b = await open();
    b.ws.send(JSON.stringify({ op: 99, d: null }));
    expect(await closeCode(b.ws)).toBe(VOICE_CLOSE.UnknownOpcode);
    const c = await open();
    c.ws.send("{not json");
    expect(await closeCode(c.ws)).toBe(VOICE_CLOSE.FailedToDecode);
    const d = await open("?v=4");
    expect(await closeCode(d.ws)).toBe(VOICE_CLOSE.BadRequest);
  });

  it("closes 4006 for a stale voice session id and 4004 for another guild", async () => {
    const identify = await botInVoice();
    const a = await open();
    a.ws.send(JSON.stringify({ op: 0, d: { ...identify, session_id: "0".repeat(32) } }));
    expect(await closeCode(a.ws)).toBe(VOICE_CLOSE.SessionNoLongerValid);
    const b = await open();
    b.ws.send(JSON.stringify({ op: 0, d: { ...identify, server_id: "1" } }));
    expect(await closeCode(b.ws)).toBe(VOICE_CLOSE.AuthenticationFailed);
    const c = await open();
    c.ws.send(JSON.stringify({ op: 7, d: { ...identify, seq_ack: 0 } }));
    expect(await closeCode(c.ws)).toBe(VOICE_CLOSE.SessionNoLongerValid);
  });

  it("closes 4017 when a client does not offer DAVE", async () => {
    const identify = await botInVoice();
    const refusals = voice.dave.refusals;
    for (const offer of [{ max_dave_protocol_version: 0 }, { max_dave_protocol_version: undefined }]) {
      const a = await open();
      a.ws.send(JSON.stringify({ op: 0, d: { ...identify, ...offer } }));
      expect(await closeCode(a.ws)).toBe(VOICE_CLOSE.DaveRequired);
    }
    expect(voice.dave.refusals).toBe(refusals + 2);
  });

  it("answers IP discovery, refuses an unoffered mode with 4016, times out silent clients with 4009", async () => {
    const identify = await botInVoice();
    const { ws, messages } = await open();
    ws.send(JSON.stringify({ op: 0, d: identify }));
    await expect.poll(() => messages.find((m) => m.op === 2)).toBeDefined();
    const ready = messages.find((m) => m.op === 2)!;
    expect(ready.seq).toBe(1);
    expect(ready.d).toMatchObject({
      ip: "127.0.0.1",
      port: voice.udpPort,
      modes: [MODE_AES_GCM, MODE_XCHACHA],
    });
    const { ssrc } = ready.d as { ssrc: number };

    const udp = createSocket("udp4");
    udp.bind(0, "127.0.0.1");
    await once(udp, "listening");
    const answer = once(udp, "message") as Promise<[Buffer]>;
    udp.send(discoveryRequest(ssrc), voice.udpPort, "127.0.0.1");
    const [response] = await answer;
    expect(response).toHaveLength(74);
    expect(parseDiscoveryResponse(response)).toEqual({
      ssrc,
      address: "127.0.0.1",
      port: udp.address().port,
    });
    udp.close();

    ws.send(
      JSON.stringify({
        op: 1,
        d: { protocol: "udp", data: { address: "127.0.0.1", port: 1, mode: "xsalsa20_poly1305" } },
      }),
    );
    expect(await closeCode(ws)).toBe(VOICE_CLOSE.UnknownEncryptionMode);

    const silent = await open();
    expect(await closeCode(silent.ws)).toBe(VOICE_CLOSE.SessionTimeout);
  });

  it.each([MODE_AES_GCM, MODE_XCHACHA])("decrypts %s with CSRCs, a header extension and padding", (mode) => {
    const key = new Uint8Array(32).map((_, i) => i * 7);
    const opus = Buffer.from([0xfc, 0x01, 0x02, 0x03]);
    const fixed = rtpHeader(65535, 2 ** 32 - 480, 0xdeadbeef);
    fixed[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, one CSRC
    const clear = Buffer.concat([fixed, Buffer.from([0, 0, 0, 9]), Buffer.from([0xbe, 0xde, 0x00, 0x01])]);
    const secret = Buffer.concat([Buffer.from([0x10, 0xaa, 0, 0]), opus, Buffer.from([0, 0, 3])]);
    const packet = encryptRtp(clear, secret, mode, key, 42);

    const result = decryptRtp(packet, mode, key);
    expect(result.ok && result.payload).toEqual(opus);
    expect(result.ok && result.header).toMatchObject({ csrcCount: 1, sequence: 65535, ssrc: 0xdeadbeef });
    expect(result.ok && result.nonce).toBe(42);

    // The extension header is authenticated: changing it must fail like a wrong key does.
    const tampered = Buffer.from(packet);
    tampered.writeUInt8(tampered[18]! ^ 1, 18);
    expect(decryptRtp(tampered, mode, key)).toEqual({ ok: false, reason: "auth" });
    expect(decryptRtp(packet, mode, new Uint8Array(32))).toEqual({ ok: false, reason: "auth" });
  });
});
