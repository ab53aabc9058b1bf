import { AttachmentBuilder, type TextChannel } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientAndFake, startClientAndFake } from "./test-client.ts";

const WAVEFORM = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 4) % 256)).toString("base64");

describe("fake discord channel messages (bot token)", () => {
  let ctx: ClientAndFake;
  const channel = (id: string) => ctx.client.channels.cache.get(id) as TextChannel;

  beforeAll(async () => {
    ctx = await startClientAndFake({
      channels: [
        { key: "readOnly", name: "announcements", botDeny: ["SEND_MESSAGES"] },
        { key: "noFiles", name: "no-files", botDeny: ["AttachFiles"] },
      ],
    });
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("enforce_nonce returns the earlier message instead of posting a second one", async () => {
    const f = ctx.fake.fixtures;
    const ch = channel(f.channels.text.id);
    const before = ctx.fake.messagesIn(f.channels.text.id).length;
    const first = await ch.send({ content: "once", nonce: "job-abc123", enforceNonce: true });
    const again = await ch.send({ content: "once", nonce: "job-abc123", enforceNonce: true });
    expect(again.id).toBe(first.id);
    const plain = await ch.send({ content: "twice", nonce: "job-abc123" });
    expect(plain.id).not.toBe(first.id);
    expect(ctx.fake.messagesIn(f.channels.text.id).length).toBe(before + 2);
  });

  it("channel.send is refused with 50013 where the bot lacks SEND_MESSAGES, and ATTACH_FILES is enforced", async () => {
    const f = ctx.fake.fixtures;
    await expect(channel(f.channels.readOnly!.id).send("hello")).rejects.toMatchObject({
      status: 403,
      code: 50013,
    });
    await expect(channel(f.channels.noFiles!.id).send("text only")).resolves.toBeDefined();
    const withFile = channel(f.channels.noFiles!.id).send({
      files: [new AttachmentBuilder(Buffer.from("x"), { name: "a.txt" })],
    });
    await expect(withFile).rejects.toMatchObject({ status: 403, code: 50013 });
    expect(ctx.fake.messagesIn(f.channels.readOnly!.id)).toEqual([]);

    // The overwrite can change at runtime; discord.js gets CHANNEL_UPDATE and sees the new permissions.
    ctx.fake.setBotPermissions(f.channels.text2.id, { deny: ["SendMessages"] });
    await expect
      .poll(() => channel(f.channels.text2.id).permissionsFor(ctx.client.user!)?.has("SendMessages"))
      .toBe(false);
    await expect(channel(f.channels.text2.id).send("x")).rejects.toMatchObject({ code: 50013 });
    ctx.fake.setBotPermissions(f.channels.text2.id, {});
    await expect(channel(f.channels.text2.id).send("x")).resolves.toBeDefined();
  });

  it("validates voice messages: metadata required (50161), a single audio file (50160), no extra content (50159)", async () => {
    const { fake } = ctx;
    const text = channel(fake.fixtures.channels.text.id);
    const ogg = () => new AttachmentBuilder(Buffer.from("OggS fake opus"), { name: "voice-message.ogg" });
    await expect(text.send({ flags: 8192, files: [ogg().setDuration(2.5)] })).rejects.toMatchObject({
      status: 400,
      code: 50161,
    });
    await expect(
      text.send({
        flags: 8192,
        files: [
          new AttachmentBuilder(Buffer.from("hi"), { name: "a.txt" }).setDuration(1).setWaveform(WAVEFORM),
        ],
      }),
    ).rejects.toMatchObject({ code: 50160 });
    await expect(
      text.send({ flags: 8192, content: "hi", files: [ogg().setDuration(1).setWaveform(WAVEFORM)] }),
    ).rejects.toMatchObject({
      code: 50159,
    });
    const tooLong = Buffer.alloc(257, 1).toString("base64");
    await expect(
      text.send({ flags: 8192, files: [ogg().setDuration(1).setWaveform(tooLong)] }),
    ).rejects.toMatchObject({ code: 50161 });

    const sent = await text.send({ flags: 8192, files: [ogg().setDuration(2.5).setWaveform(WAVEFORM)] });
    expect(sent.flags.has("IsVoiceMessage")).toBe(true);
    const stored = fake.message(sent.id)!;
    expect(stored.flags).toBe(8192);
    expect(stored.attachments[0]).toMatchObject({
      filename: "voice-message.ogg",
      content_type: "audio/ogg",
      duration_secs: 2.5,
      waveform: WAVEFORM,
    });
    await expect(sent.edit("changed")).rejects.toMatchObject({ code: 50162 });
  });

  it("enforces content and embed limits and refuses empty messages", async () => {
    const text = channel(ctx.fake.fixtures.channels.text.id);
    await expect(text.send("x".repeat(2001))).rejects.toMatchObject({
      code: 50035,
      rawError: { errors: { content: { _errors: [{ code: "BASE_TYPE_MAX_LENGTH" }] } } },
    });
    await expect(text.send({ embeds: [{ description: "d".repeat(4097) }] })).rejects.toMatchObject({
      code: 50035,
    });
    const big = Array.from({ length: 2 }, () => ({ title: "t".repeat(256), description: "d".repeat(3000) }));
    await expect(text.send({ embeds: big })).rejects.toMatchObject({
      rawError: { errors: { embeds: { _errors: [{ code: "MAX_EMBED_SIZE_EXCEEDED" }] } } },
    });
    await expect(text.send({ content: "   " })).rejects.toMatchObject({ code: 50006 });
    await expect(text.send("x".repeat(2000))).resolves.toBeDefined();
  });

  it("stores edits, serves history through GET /messages, and emits MESSAGE_CREATE for user messages", async () => {
    const { fake, client } = ctx;
    const text = channel(fake.fixtures.channels.text2.id);
    const status = await text.send("Queued");
    await status.edit("Done");
    const stored = fake.message(status.id)!;
    expect(stored.content).toBe("Done");
    expect(stored.history.map((h) => h.content)).toEqual(["Queued"]);
    expect(stored.edited_timestamp).not.toBeNull();
    const fetched = await text.messages.fetch({ limit: 10 });
    expect(fetched.has(status.id)).toBe(true);

    const created = new Promise((resolve) =>
      client.once("messageCreate", (m) => resolve([m.author.id, m.content])),
    );
    fake.postUserMessage({ channelId: text.id, content: "read me" });
    // Without the MESSAGE_CONTENT intent discord.js receives the message without its content.
    await expect(created).resolves.toEqual([fake.fixtures.users.member.id, ""]);
    await status.delete();
    expect(fake.messagesIn(text.id).some((m) => m.id === status.id)).toBe(false);
  });
});

describe("fake discord REST basics (no client)", () => {
  let ctx: ClientAndFake;
  beforeAll(async () => {
    ctx = await startClientAndFake();
  });
  afterAll(async () => {
    await ctx?.close();
  });

  it("401 without the bot token, 404 for unknown routes, no auth for interaction webhooks", async () => {
    const { fake } = ctx;
    const unauth = await fetch(`${fake.apiUrl}/v10/users/@me`);
    expect(unauth.status).toBe(401);
    expect(await unauth.json()).toEqual({ message: "401: Unauthorized", code: 0 });
    const unknown = await fetch(`${fake.apiUrl}/v10/nope`, {
      headers: { authorization: `Bot ${fake.botToken}` },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: "404: Not Found", code: 0 });
    const webhook = await fetch(
      `${fake.apiUrl}/v10/webhooks/${fake.fixtures.application.id}/not-a-token/messages/%40original`,
    );
    expect(webhook.status).toBe(401);
    expect(await webhook.json()).toEqual({ message: "Invalid Webhook Token", code: 50027 });
    const req = fake.requests.at(-1)!;
    expect(req.path).toBe(`/api/v10/webhooks/${fake.fixtures.application.id}/not-a-token/messages/@original`);
    expect(req.rawPath).toContain("%40original");
  });

  it("413 for a body over 25 MiB, 400 for more than 10 files", async () => {
    const { fake, client } = ctx;
    const text = fake.fixtures.channels.text.id;
    const huge = await fetch(`${fake.apiUrl}/v10/channels/${text}/messages`, {
      method: "POST",
      headers: { authorization: `Bot ${fake.botToken}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "x".repeat(25 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toEqual({ message: "Request entity too large", code: 40005 });
    const files = Array.from(
      { length: 11 },
      (_, k) => new AttachmentBuilder(Buffer.from(`f${k}`), { name: `f${k}.txt` }),
    );
    const channel = client.channels.cache.get(text) as TextChannel;
    await expect(channel.send({ files })).rejects.toMatchObject({ status: 400, code: 50035 });
    await expect(channel.send({ files: files.slice(0, 10) })).resolves.toMatchObject({
      attachments: { size: 10 },
    });
  });

  it("serves the application and the bot's member", async () => {
    const { fake, client } = ctx;
    const app = await client.application!.fetch();
    expect(app.id).toBe(fake.fixtures.application.id);
    const me = await client.guilds.cache
      .get(fake.fixtures.guild.id)!
      .members.fetch({ user: fake.fixtures.users.admin.id, force: true });
    expect(me.roles.cache.has(fake.fixtures.roles.admin.id)).toBe(true);
  });

  it("failNext injects a 429 that discord.js retries transparently", async () => {
    const { fake, client } = ctx;
    fake.reset();
    fake.failNext({ method: "GET", path: "/users/@me", status: 429 });
    const user = (await client.rest.get("/users/@me")) as { id: string };
    expect(user.id).toBe(fake.fixtures.bot.id);
    expect(fake.requests.filter((r) => r.route === "/users/@me").map((r) => r.status)).toEqual([429, 200]);
  });
});
