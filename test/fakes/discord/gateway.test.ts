import { ChannelType, GatewayIntentBits } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientAndFake, startClientAndFake } from "./test-client.ts";

describe("fake discord gateway with the real discord.js client", () => {
  let ctx: ClientAndFake;

  beforeAll(async () => {
    ctx = await startClientAndFake({ voiceStates: { member: "voice" } });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("logs in and caches the fixture guild: channels, own member, voice states", () => {
    const { client, fake } = ctx;
    const f = fake.fixtures;
    expect(client.user?.id).toBe(f.bot.id);
    const guild = client.guilds.cache.get(f.guild.id);
    expect(guild?.name).toBe(f.guild.name);
    expect(guild?.channels.cache.get(f.channels.text.id)?.type).toBe(ChannelType.GuildText);
    const voice = guild?.channels.cache.get(f.channels.voice.id);
    expect(voice?.type).toBe(ChannelType.GuildVoice);
    expect(voice?.isVoiceBased() && voice.bitrate).toBe(64_000);
    expect(guild?.members.me?.id).toBe(f.bot.id);
    expect(guild?.voiceStates.cache.get(f.users.member.id)?.channelId).toBe(f.channels.voice.id);
    // Without GUILD_PRESENCES Discord only sends the bot and members in voice.
    expect(guild?.members.cache.has(f.users.member.id)).toBe(true);
    expect(guild?.members.cache.has(f.users.admin.id)).toBe(false);
    expect(guild?.roles.everyone.id).toBe(f.guild.id);
    expect(guild?.members.me?.permissions.has("AttachFiles")).toBe(true);
  });

  it("records the only REST call of login and the IDENTIFY intents", () => {
    const { fake } = ctx;
    const gatewayBot = fake.requests.find((r) => r.route === "/gateway/bot");
    expect(gatewayBot?.headers.authorization).toBe(`Bot ${fake.botToken}`);
    expect(gatewayBot?.status).toBe(200);
    const [session] = fake.gatewaySessions();
    expect(session?.intents).toBe(
      GatewayIntentBits.Guilds | GatewayIntentBits.GuildVoiceStates | GatewayIntentBits.GuildMessages,
    );
    expect(session?.seq).toBeGreaterThanOrEqual(2);
  });

  it("setVoiceState sends VOICE_STATE_UPDATE that discord.js applies", async () => {
    const { client, fake } = ctx;
    const f = fake.fixtures;
    const moved = new Promise((resolve) =>
      client.once("voiceStateUpdate", (_old, now) => resolve(now.channelId)),
    );
    fake.setVoiceState(f.users.admin.id, f.channels.voice.id);
    await expect(moved).resolves.toBe(f.channels.voice.id);
    const guild = client.guilds.cache.get(f.guild.id)!;
    expect(guild.voiceStates.cache.get(f.users.admin.id)?.channelId).toBe(f.channels.voice.id);
    const left = new Promise((resolve) =>
      client.once("voiceStateUpdate", (_old, now) => resolve(now.channelId)),
    );
    fake.setVoiceState(f.users.admin.id, null);
    await expect(left).resolves.toBeNull();
  });

  it("answers op 4 with the bot's VOICE_STATE_UPDATE and lets extensions hook the op", async () => {
    const { client, fake } = ctx;
    const f = fake.fixtures;
    const seen: unknown[] = [];
    const off = fake.onGatewayOp(4, (d) => {
      seen.push(d);
    });
    const joined = new Promise((resolve) =>
      client.on("voiceStateUpdate", (_old, now) => {
        if (now.id === f.bot.id) resolve(now.channelId);
      }),
    );
    const guild = client.guilds.cache.get(f.guild.id)!;
    guild.shard.send({
      op: 4,
      d: { guild_id: f.guild.id, channel_id: f.channels.voice.id, self_mute: false, self_deaf: true },
    });
    await expect(joined).resolves.toBe(f.channels.voice.id);
    expect(seen).toHaveLength(1);
    expect(fake.gatewayOps.find((o) => o.op === 4)?.d).toMatchObject({ self_deaf: true });
    off();
  });

  it("resumes after a dropped connection and replays missed dispatches", async () => {
    const { client, fake } = ctx;
    const f = fake.fixtures;
    const before = fake.gatewaySessions()[0]!;
    const resumed = new Promise((resolve) => client.once("shardResume", () => resolve(true)));
    fake.disconnectGateway(4000);
    // Sent while the client is away: must arrive through RESUME's replay.
    fake.setVoiceState(f.users.owner.id, f.channels.voice.id);
    await resumed;
    expect(fake.gatewayOps.some((o) => o.op === 6)).toBe(true);
    expect(fake.gatewaySessions()).toHaveLength(1);
    expect(fake.gatewaySessions()[0]!.sessionId).toBe(before.sessionId);
    const guild = client.guilds.cache.get(f.guild.id)!;
    await expect
      .poll(() => guild.voiceStates.cache.get(f.users.owner.id)?.channelId, { timeout: 3000 })
      .toBe(f.channels.voice.id);
  });
});
