import { once } from "node:events";
import { type ChatInputCommandInteraction, type Client, MessageFlags } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDiscordClient } from "../../src/discord/client.ts";
import { isInteractionTokenRoute } from "../../src/discord/interaction-rest.ts";
import { answerEphemeral, showProgress } from "../../src/discord/reply.ts";
import type { RecordedRequest } from "../fakes/discord/http.ts";
import { type FakeDiscord, startFakeDiscord } from "../fakes/discord/index.ts";

/**
 * Interaction writes are not queued behind the bot's global limit (Discord does not count them
 * against it), while bot-token routes keep discord.js's limit, and a 429 is honoured everywhere. The
 * client's global limit is lowered to 1 request per second so that the difference shows.
 */

let fake: FakeDiscord;
let client: Client;
/** Each `/hold` interaction defers, then waits here until the test releases it. */
const held = new Map<string, { interaction: ChatInputCommandInteraction; release: () => void }>();

beforeAll(async () => {
  fake = await startFakeDiscord();
  client = createDiscordClient({ apiUrl: fake.apiUrl, globalRequestsPerSecond: 1 });
  client.on("interactionCreate", async (interaction) => {
    if (!interaction.isChatInputCommand() || !interaction.commandName.startsWith("hold")) return;
    await interaction.deferReply(
      interaction.commandName === "hold-private" ? { flags: MessageFlags.Ephemeral } : {},
    );
    await new Promise<void>((release) => held.set(interaction.id, { interaction, release }));
  });
  const ready = once(client, "clientReady");
  await client.login(fake.botToken);
  await ready;
});
afterAll(async () => {
  for (const h of held.values()) h.release();
  await client?.destroy();
  await fake?.close();
});

const isEdit = (r: RecordedRequest) =>
  r.method === "PATCH" && /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/.test(r.route);
const isChannelSend = (r: RecordedRequest) =>
  r.method === "POST" && /^\/channels\/\d+\/messages$/.test(r.route);

/** Dispatches `/hold` n times and resolves once every one has been deferred. */
async function holdInteractions(n: number, name = "hold"): Promise<ChatInputCommandInteraction[]> {
  const handles = Array.from({ length: n }, () => fake.dispatchCommand({ name }));
  await Promise.all(handles.map((h) => h.waitForAck()));
  const deadline = Date.now() + 5000;
  while (handles.some((h) => !held.has(h.id))) {
    if (Date.now() > deadline) throw new Error("interactions were not held");
    await new Promise((r) => setTimeout(r, 10));
  }
  return handles.map((h) => held.get(h.id)!.interaction);
}

describe("isInteractionTokenRoute", () => {
  it("matches the routes an interaction token authenticates, sent without the bot token", () => {
    const app = "100000000000000001";
    expect(
      isInteractionTokenRoute({ fullRoute: `/webhooks/${app}/tok/messages/@original`, auth: false }),
    ).toBe(true);
    expect(isInteractionTokenRoute({ fullRoute: `/webhooks/${app}/tok`, auth: false })).toBe(true);
    expect(isInteractionTokenRoute({ fullRoute: `/interactions/${app}/tok/callback`, auth: false })).toBe(
      true,
    );
    // The bot token's routes, and a webhook managed with the bot token, keep the global limit.
    expect(isInteractionTokenRoute({ fullRoute: `/channels/${app}/messages`, auth: true })).toBe(false);
    expect(isInteractionTokenRoute({ fullRoute: `/webhooks/${app}`, auth: true })).toBe(false);
    expect(isInteractionTokenRoute({ fullRoute: `/webhooks/${app}/tok`, auth: true })).toBe(false);
  });
});

describe("interaction writes and the global limit", () => {
  it("sends N interaction edits at once while bot-token sends keep 1 per second", async () => {
    const n = 8;
    const interactions = await holdInteractions(n);
    const channel = await client.channels.fetch(fake.fixtures.channels.text.id);
    if (!channel?.isSendable()) throw new Error("no sendable channel");
    const from = fake.requests.length;

    const sends = [1, 2, 3].map((i) => channel.send(`bot-token message ${i}`));
    const edits = interactions.map((it, i) => it.editReply(`edited ${i}`));
    await Promise.all([...edits, ...sends]);

    const made = fake.requests.slice(from);
    const editTimes = made.filter(isEdit).map((r) => r.at);
    const sendTimes = made.filter(isChannelSend).map((r) => r.at);
    expect(editTimes).toHaveLength(n);
    expect(made.filter(isEdit).every((r) => r.status === 200)).toBe(true);
    // Behind a 1/s global limit these would take n − 1 seconds; they went out together.
    expect(Math.max(...editTimes) - Math.min(...editTimes)).toBeLessThan(500);
    // The bot-token sends still waited for the global limit, one per second.
    expect(sendTimes).toHaveLength(3);
    for (let i = 1; i < sendTimes.length; i++) {
      expect(sendTimes[i]! - sendTimes[i - 1]!).toBeGreaterThanOrEqual(900);
    }
    // And the edits did not wait for the sends.
    expect(Math.max(...editTimes)).toBeLessThan(sendTimes[1]!);
  });

  it("waits out a 429 on an interaction edit, then sends it again", async () => {
    const [interaction] = await holdInteractions(1);
    const from = fake.requests.length;
    fake.failNext({
      method: "PATCH",
      path: /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/,
      status: 429,
      retryAfter: 0.6,
    });
    await interaction!.editReply("after a 429");
    const edits = fake.requests.slice(from).filter(isEdit);
    expect(edits.map((r) => r.status)).toEqual([429, 200]);
    expect(edits[1]!.at - edits[0]!.at).toBeGreaterThanOrEqual(600);
  });

  it("waits out a 429 on an interaction callback, then sends it again", async () => {
    fake.failNext({
      method: "POST",
      path: /^\/interactions\/\d+\/[^/]+\/callback$/,
      status: 429,
      retryAfter: 0.4,
    });
    const handle = fake.dispatchCommand({ name: "hold" });
    const ack = await handle.waitForAck();
    expect(ack.type).toBe(5);
    const callbacks = fake.requests.filter((r) => r.route.startsWith(`/interactions/${handle.id}/`));
    expect(callbacks.map((r) => r.status)).toEqual([429, 204]);
    expect(callbacks[1]!.at - callbacks[0]!.at).toBeGreaterThanOrEqual(400);
  });

  it("waits out a global 429 on a follow-up until Discord's reset", async () => {
    const [interaction] = await holdInteractions(1);
    const from = fake.requests.length;
    fake.failNext({
      method: "POST",
      path: /^\/webhooks\/\d+\/[^/]+$/,
      status: 429,
      retryAfter: 0.5,
      json: { message: "You are being rate limited.", retry_after: 0.5, global: true },
      headers: { "x-ratelimit-global": "true", "x-ratelimit-scope": "global" },
    });
    await interaction!.followUp("a follow-up");
    const followUps = fake.requests
      .slice(from)
      .filter((r) => r.method === "POST" && /^\/webhooks\/\d+\/[^/]+$/.test(r.route));
    expect(followUps.map((r) => r.status)).toEqual([429, 200]);
    expect(followUps[1]!.at - followUps[0]!.at).toBeGreaterThanOrEqual(500);
  });
});

describe("progress notes in a deferred reply", () => {
  const EPHEMERAL = 64;

  it("show in place of a public placeholder; an error after one is private and removes it", async () => {
    const [interaction] = await holdInteractions(1);
    const reply = interaction!;
    await showProgress(reply, "⏳ You are #2 in line; about 10 s.");
    const original = await reply.fetchReply();
    expect(fake.message(original.id)?.content).toBe("⏳ You are #2 in line; about 10 s.");
    // Still a placeholder as far as answers go.
    expect(reply.replied).toBe(false);
    expect(await answerEphemeral(reply, "Refused: the text was flagged.")).toBe("followUp");
    expect(fake.message(original.id)?.deleted).toBe(true);
    const followUp = fake.allMessages().find((m) => m.content === "Refused: the text was flagged.");
    expect((followUp?.flags ?? 0) & EPHEMERAL).toBe(EPHEMERAL);
  });

  it("show in place of a private placeholder; the answer then replaces it", async () => {
    const [interaction] = await holdInteractions(1, "hold-private");
    const reply = interaction!;
    await showProgress(reply, "⏳ You are #1 in line; about 5 s.");
    expect(await answerEphemeral(reply, "Refused: the text was flagged.")).toBe("editReply");
    const original = await reply.fetchReply();
    expect(fake.message(original.id)?.content).toBe("Refused: the text was flagged.");
  });

  it("never overwrite an answer already given", async () => {
    const [interaction] = await holdInteractions(1);
    const reply = interaction!;
    await reply.editReply("🔊 the audio");
    await showProgress(reply, "⏳ You are #1 in line; about 5 s.");
    const original = await reply.fetchReply();
    expect(fake.message(original.id)?.content).toBe("🔊 the audio");
  });
});
