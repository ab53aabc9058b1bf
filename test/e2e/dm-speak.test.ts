import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { budgetStoreFor } from "../../src/settings/budget-store-for.ts";
import { createUsageLedger } from "../../src/settings/usage.ts";
import { PERSONAL_SCOPE } from "../../src/speak/planner.ts";
import { createStorage, type Storage } from "../../src/storage/storage.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness } from "./harness.ts";

/**
 * The bot as a member's own app (a user install): `/speak` and Read aloud in DMs and group DMs,
 * answered through the interaction alone (the bot cannot post in a group DM), on the member's own
 * daily budget and cooldown, with voice playback refused.
 */

const EPHEMERAL = 64;
const isEphemeral = (m: FakeMessage) => ((m.flags ?? 0) & EPHEMERAL) === EPHEMERAL;
const DAILY = 60;

let h: Harness;
let storage: Storage;

const synthCalls = () => h.minimax.requests.filter((r) => r.path === "/v1/t2a_v2").length;
const channelPosts = () =>
  h.discord.requests.filter((r) => r.method === "POST" && /^\/channels\/\d+\/messages$/.test(r.route)).length;
const newUser = (name: string) => h.discord.addMember({ username: `${name}${Date.now()}` });
const personalUsage = async (userId: string) =>
  (await createUsageLedger(budgetStoreFor(storage)).summary(PERSONAL_SCOPE, userId, {})).user.day;
const withText = (m: FakeMessage) => m.content.length > 0;

beforeAll(async () => {
  h = await startHarness({
    // Global registration: a user's own install offers global commands only.
    env: {
      DISCORD_GUILD_ID: "",
      DM_DAILY_CHARS: String(DAILY),
      DM_COOLDOWN_SECONDS: "3600",
      SYNC_MAX_CHARS: "100",
    },
  });
  storage = await createStorage(`sqlite://${join(h.dataDir, "bot.sqlite")}`);
});
afterAll(async () => {
  await storage?.close();
  await h?.close();
});

describe("registration", () => {
  it("offers /speak and Read aloud to user installs in DMs and group DMs, and no server command", () => {
    const defs = h.discord.registeredCommands();
    const personal = defs.filter((d) => (d.integration_types as number[]).includes(1)).map((d) => d.name);
    expect(personal).toEqual(expect.arrayContaining(["Read aloud", "speak"]));
    // What needs a server (its settings, voice channels, posting results) is offered in servers only.
    for (const name of ["narrate", "request", "settings", "join", "jobs", "usage", "pronounce"]) {
      expect(personal).not.toContain(name);
    }
    for (const name of ["speak", "Read aloud"]) {
      expect(defs.find((d) => d.name === name)).toMatchObject({
        integration_types: [0, 1],
        contexts: [0, 1, 2],
      });
    }
    expect(defs.find((d) => d.name === "narrate")).toMatchObject({ integration_types: [0], contexts: [0] });
    expect(() =>
      h.discord.dispatchCommand({ name: "narrate", install: "user", guildId: null, options: { text: "x" } }),
    ).toThrow(/not offered there/);
  });
});

describe("/speak as a member's own app", () => {
  it("answers in a group DM through the interaction, spends the member's own budget, then the cooldown refuses", async () => {
    const user = newUser("dm");
    const posts = channelPosts();
    const handle = h.discord.dispatchCommand({
      name: "speak",
      user,
      install: "user",
      guildId: null,
      context: "privateChannel",
      options: { text: "Hello from a group chat." },
    });
    const reply = await handle.waitForResponse((m) => m.attachments.length > 0);
    expect(reply.attachments[0]!.filename).toBe("speech.mp3");
    expect(h.discord.attachmentBytes(reply.id, 0).subarray(0, 3).toString("latin1")).toMatch(/^(ID3|\xff)/);
    expect(reply.content).toMatch(/24 characters/);
    expect(reply.allowed_mentions).toEqual({ parse: [] });
    // Never a channel message: the bot is not part of a group DM.
    expect(channelPosts()).toBe(posts);
    expect(await personalUsage(user)).toBe(24);

    const calls = synthCalls();
    const again = await h.discord
      .dispatchCommand({
        name: "speak",
        user,
        install: "user",
        guildId: null,
        context: "privateChannel",
        options: { text: "And once more." },
      })
      .waitForResponse(withText);
    expect(again.content).toMatch(/^Slow down a little: you can speak again in \d+ s/);
    expect(isEphemeral(again)).toBe(true);
    expect(synthCalls()).toBe(calls);
    expect(await personalUsage(user)).toBe(24);
  });

  it("refuses a text over the member's daily budget before calling MiniMax", async () => {
    const user = newUser("budget");
    const calls = synthCalls();
    const reply = await h.discord
      .dispatchCommand({
        name: "speak",
        user,
        install: "user",
        guildId: null,
        options: { text: "x".repeat(DAILY + 10) },
      })
      .waitForResponse(withText);
    expect(reply.content).toBe(
      `That needs ${DAILY + 10} characters, but your daily budget has ${DAILY} of ${DAILY} characters left. ` +
        reply.content.slice(reply.content.indexOf("It resets")),
    );
    expect(isEphemeral(reply)).toBe(true);
    expect(synthCalls()).toBe(calls);
    expect(await personalUsage(user)).toBe(0);
  });

  it("refuses play:true privately: there is no voice channel outside servers", async () => {
    const calls = synthCalls();
    const reply = await h.discord
      .dispatchCommand({
        name: "speak",
        user: newUser("play"),
        install: "user",
        guildId: null,
        options: { text: "Play this.", play: true },
      })
      .waitForResponse(withText);
    expect(reply.content).toMatch(/only in the voice channels of servers that have added me/);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.components ?? []).toEqual([]);
    expect(synthCalls()).toBe(calls);
  });

  it("refuses a long text instead of starting a narration it could not post", async () => {
    const reply = await h.discord
      .dispatchCommand({
        name: "speak",
        user: newUser("long"),
        install: "user",
        guildId: null,
        options: { text: "A long story. ".repeat(10).trim() },
      })
      .waitForResponse(withText);
    expect(reply.content).toMatch(/outside servers I speak at most 100 at once.*\/narrate in a server/);
    expect(isEphemeral(reply)).toBe(true);
  });

  it("sends a voice message request as an audio file, through the interaction", async () => {
    const posts = channelPosts();
    const reply = await h.discord
      .dispatchCommand({
        name: "speak",
        user: newUser("vm"),
        install: "user",
        guildId: null,
        context: "privateChannel",
        options: { text: "A voice note.", format: "voice" },
      })
      .waitForResponse((m) => m.attachments.length > 0);
    expect(reply.attachments[0]!.filename).toBe("voice-message.ogg");
    expect(reply.content).toMatch(/Voice messages cannot be sent here/);
    expect(channelPosts()).toBe(posts);
  });
});

describe("Read aloud as a member's own app", () => {
  it("reads a DM message back privately as audio, on the member's own budget", async () => {
    const user = newUser("reader");
    const reply = await h.discord
      .dispatchCommand({
        name: "Read aloud",
        type: 3,
        user,
        install: "user",
        guildId: null,
        targetMessage: { content: "See you at noon.", authorId: user },
      })
      .waitForResponse((m) => m.attachments.length > 0);
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.attachments[0]!.filename).toBe("speech.mp3");
    expect(reply.content).not.toMatch(/voice channel/);
    expect(await personalUsage(user)).toBe("See you at noon.".length);
  });
});
