import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeMessage, OptionValue } from "../fakes/discord/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";
import { applySettings } from "./settings-areas.ts";

/**
 * Community narration requests end to end: a member submits, an admin approves through the card's
 * button and reason form, and the narration is posted in the narration channel crediting both.
 */

let h: Harness;
const LONG = "The quick brown fox jumps over the lazy dog. ".repeat(20).trim();

beforeAll(async () => {
  h = await startHarness({ env: { SYNC_MAX_CHARS: "200" }, minimax: { asyncProcessingMs: 200 } });
});
afterAll(async () => {
  await h?.close();
});

const admin = () => h.discord.fixtures.users.admin.id;
const member = () => h.discord.fixtures.users.member.id;
const requestsChannel = () => h.discord.fixtures.channels.text.id;
const narrationChannel = () => h.discord.fixtures.channels.text2.id;
const isEphemeral = (m: FakeMessage) => ((m.flags ?? 0) & 64) === 64;

async function settings(options: Record<string, OptionValue>) {
  await applySettings(h.discord, options, { user: admin() });
}

async function submit(title: string, user = member()) {
  const reply = await h.discord
    .dispatchCommand({
      name: "request submit",
      user,
      channelId: requestsChannel(),
      options: { title, text: LONG },
    })
    .waitForResponse((m) => m.content.length > 0);
  const id = /Request `([^`]+)`/.exec(reply.content)?.[1];
  if (!id) throw new Error(`no request id in: ${reply.content}`);
  return { reply, id };
}

const cardOf = (id: string) =>
  h.discord.messagesIn(requestsChannel()).find((m) => JSON.stringify(m.embeds).includes(`request ${id}`));

describe("/request", () => {
  it("member submits, admin approves with a reason, the result credits both", async () => {
    await settings({
      requests_channel: { channel: requestsChannel() },
      narration_channel: { channel: narrationChannel() },
      moderator_role: { role: h.discord.fixtures.roles.admin.id },
      approval_required: true,
    });
    const { reply, id } = await submit("Fox Tales");
    expect(isEphemeral(reply)).toBe(true);
    expect(reply.content).toMatch(/submitted/);
    const card = cardOf(id)!;
    expect(card).toBeDefined();
    const buttons = JSON.stringify(card.components);
    for (const action of ["upvote", "approve", "reject", "cancel"])
      expect(buttons).toContain(`request:${action}:${id}`);

    // A member is not a moderator.
    const refused = await h.discord
      .dispatchComponent({ customId: `request:approve:${id}`, message: card.id, user: member() })
      .waitForResponse((m) => m.content.length > 0);
    expect(refused.content).toMatch(/moderator/);

    // Upvote once each (the admin here).
    const up = await h.discord
      .dispatchComponent({ customId: `request:upvote:${id}`, message: card.id, user: admin() })
      .waitForResponse((m) => m.content.length > 0);
    expect(up.content).toMatch(/Upvoted/);

    const click = h.discord.dispatchComponent({
      customId: `request:approve:${id}`,
      message: card.id,
      user: admin(),
    });
    const ack = await click.waitForAck();
    expect(ack.type).toBe(9);
    const modalId = (ack.modal as { custom_id: string }).custom_id;
    expect(modalId).toBe(`request:approve:${id}`);
    const approved = await h.discord
      .dispatchModalSubmit({
        customId: modalId,
        user: admin(),
        channelId: requestsChannel(),
        fields: { reason: "Lovely" },
      })
      .waitForResponse((m) => m.content.length > 0);
    expect(approved.content).toMatch(/Approved/);

    const result = await h.discord.waitForMessage(
      (m) => m.channel_id === narrationChannel() && m.content.includes("-# job") && m.attachments.length > 0,
      20_000,
    );
    expect(result.content).toContain("Fox Tales");
    expect(result.content).toMatch(/requested by/);
    expect(result.content).toMatch(/approved by/);
    expect(result.content).toContain(`<@${member()}>`);

    // The requester is told, and the card ends as done.
    await h.discord.waitForMessage(
      (m) =>
        m.channel_id === requestsChannel() &&
        m.content.includes("is ready") &&
        m.content.includes(`<@${member()}>`),
      10_000,
    );
    await waitFor(() => JSON.stringify(cardOf(id)?.embeds ?? []).includes("Done"), 10_000, "card done");
    expect(JSON.stringify(cardOf(id)?.embeds)).toContain(`<@${admin()}>`);

    const list = await h.discord
      .dispatchCommand({ name: "request list", user: member(), channelId: requestsChannel() })
      .waitForResponse((m) => m.content.length > 0);
    expect(list.content).toContain("Fox Tales");
    expect(list.content).toContain("__Done__");
  });

  it("a rejection takes a reason and tells the requester", async () => {
    const { id } = await submit("Not this one");
    const card = cardOf(id)!;
    const ack = await h.discord
      .dispatchComponent({ customId: `request:reject:${id}`, message: card.id, user: admin() })
      .waitForAck();
    expect(ack.type).toBe(9);
    await h.discord
      .dispatchModalSubmit({
        customId: `request:reject:${id}`,
        user: admin(),
        channelId: requestsChannel(),
        fields: { reason: "Off topic" },
      })
      .waitForResponse((m) => m.content.length > 0);
    const notice = await h.discord.waitForMessage(
      (m) => m.channel_id === requestsChannel() && m.content.includes("was rejected"),
      10_000,
    );
    expect(notice.content).toContain("Off topic");
    expect(notice.allowed_mentions).toEqual({ parse: [], users: [member()] });
    await waitFor(() => JSON.stringify(cardOf(id)?.embeds ?? []).includes("Rejected"), 5000, "card rejected");
  });
  it("survives a restart: a card submitted before it is approved after it", async () => {
    const { id } = await submit("After the restart");
    await h.restart();
    const card = cardOf(id)!;
    await h.discord
      .dispatchComponent({ customId: `request:approve:${id}`, message: card.id, user: admin() })
      .waitForAck();
    await h.discord
      .dispatchModalSubmit({
        customId: `request:approve:${id}`,
        user: admin(),
        channelId: requestsChannel(),
        fields: {},
      })
      .waitForResponse((m) => m.content.length > 0);
    const result = await h.discord.waitForMessage(
      (m) =>
        m.channel_id === narrationChannel() &&
        m.content.includes("After the restart") &&
        m.content.includes("-# job"),
      20_000,
    );
    expect(result.content).toMatch(/approved by/);
    await waitFor(() => JSON.stringify(cardOf(id)?.embeds ?? []).includes("Done"), 10_000, "card done");
  });
});

describe("/request fair queue", () => {
  it("takes turns between three requesters within the server's job limit", async () => {
    await settings({ approval_required: false, max_concurrent_jobs: 1 });
    const users = h.discord.fixtures.users;
    const order: [string, string][] = [
      ["member-1", users.member.id],
      ["member-2", users.member.id],
      ["member-3", users.member.id],
      ["owner-1", users.owner.id],
      ["admin-1", users.admin.id],
    ];
    const before = h.minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").length;
    for (const [title, user] of order) {
      await h.discord
        .dispatchCommand({
          name: "request submit",
          user,
          channelId: requestsChannel(),
          options: { title, text: `${title}. ${LONG}` },
        })
        .waitForResponse((m) => m.content.length > 0);
    }
    const started = () =>
      h.minimax.requests
        .filter((r) => r.path === "/v1/t2a_async_v2")
        .slice(before)
        .map((r) => String((r.json as { text?: string }).text).split(".")[0]);
    await waitFor(() => started().length === order.length, 60_000, "all requests narrated");
    // member-1 starts at once. Then requesters who have not had a turn go first (oldest request
    // first), and member's remaining requests come last, in order.
    expect(started()).toEqual(["member-1", "owner-1", "admin-1", "member-2", "member-3"]);
  });
});
