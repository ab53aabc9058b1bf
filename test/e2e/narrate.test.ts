import { zipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readResultArchive } from "../../src/providers/minimax/result-archive.ts";
import type { FakeMessage } from "../fakes/discord/index.ts";
import { type Harness, startHarness, waitFor } from "./harness.ts";

/** Long texts as async narration jobs, end to end: real discord.js, fake Discord, fake MiniMax. */

let h: Harness;
const LONG = "The quick brown fox jumps over the lazy dog. ".repeat(34).trim(); // 1500+ characters

beforeAll(async () => {
  h = await startHarness({ env: { SYNC_MAX_CHARS: "200" }, minimax: { asyncProcessingMs: 300 } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  h.minimax.clearFaults();
});

const channelId = () => h.discord.fixtures.channels.text.id;
const isResult = (jobId: string) => (m: FakeMessage) => m.content.includes(`-# job ${jobId}`);

/** The tar MiniMax produced for a task, unpacked with the same reader the bot uses. */
async function resultOf(taskIndex = -1) {
  const task = [...h.minimax.tasks.values()].at(taskIndex)!;
  const res = await fetch(`${h.minimax.url}/v1/files/retrieve_content?file_id=${task.result_file_id}`, {
    headers: { authorization: "Bearer e2e-key" },
  });
  return readResultArchive(Buffer.from(await res.arrayBuffer()));
}

function jobIdFrom(text: string): string {
  const m = /job `([^`]+)`/.exec(text);
  if (!m) throw new Error(`no job id in: ${text}`);
  return m[1]!;
}

/** The job id in the private "queued" reply to a handle's interaction. */
async function jobIdOf(handle: { waitForResponse(p: (m: FakeMessage) => boolean): Promise<FakeMessage> }) {
  return jobIdFrom((await handle.waitForResponse((m) => m.content.includes("job `"))).content);
}

/** The status message of a job in the test channel. */
const statusOf = (jobId: string) =>
  h.discord.messagesIn(channelId()).find((m) => JSON.stringify(m.embeds).includes(`job ${jobId}`));

function srtCues(srt: string): string[] {
  return srt
    .trim()
    .split(/\n\n+/)
    .map((block) => block.split("\n").slice(2).join(" "));
}

describe("long texts become narration jobs", () => {
  it("a long /speak goes to t2a_async_v2 and its audio and subtitles are posted in the channel", async () => {
    const member = h.discord.fixtures.users.member.id;
    const handle = h.discord.dispatchCommand({
      name: "speak",
      user: member,
      channelId: channelId(),
      options: { text: LONG },
    });
    const reply = await handle.waitForResponse((m) => m.content.includes("job `"));
    expect((reply.flags ?? 0) & 64).toBe(64);
    const jobId = jobIdFrom(reply.content);
    const result = await h.discord.waitForMessage(isResult(jobId), 20_000);
    expect(h.minimax.requests.some((r) => r.path === "/v1/t2a_async_v2")).toBe(true);
    expect(h.minimax.requests.some((r) => r.path === "/v1/query/t2a_async_query_v2")).toBe(true);
    expect(result.channel_id).toBe(channelId());

    const archive = await resultOf();
    const part = archive.parts[0]!;
    const names = result.attachments.map((a) => a.filename);
    const audioIndex = names.findIndex((n) => n.endsWith(".mp3"));
    const srtIndex = names.findIndex((n) => n.endsWith(".srt"));
    expect(audioIndex).toBeGreaterThanOrEqual(0);
    expect(srtIndex).toBeGreaterThanOrEqual(0);
    expect(h.discord.attachmentBytes(result.id, audioIndex)).toEqual(part.audio);
    const cues = srtCues(h.discord.attachmentBytes(result.id, srtIndex).toString("utf8"));
    expect(cues).toEqual(part.subtitles!.map((s) => s.text.trim()).filter(Boolean));
    expect(result.content).toContain(`<@${member}>`);
    expect(result.allowed_mentions).toEqual({ parse: [], users: [member] });

    // The status message ends in "done" and links the result.
    await waitFor(
      () => h.discord.messagesIn(channelId()).some((m) => JSON.stringify(m.embeds).includes("Done")),
      5000,
      "status done",
    );
  });

  it("/narrate with a .txt file uploads it and passes an integer text_file_id", async () => {
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: {
        title: "Story",
        file: { filename: "story.txt", data: Buffer.from(`\ufeff${LONG}`), contentType: "text/plain" },
      },
    });
    const reply = await handle.waitForResponse((m) => m.content.includes("job `"));
    const jobId = jobIdFrom(reply.content);
    await h.discord.waitForMessage(isResult(jobId), 20_000);
    const upload = h.minimax.requests.filter((r) => r.path === "/v1/files/upload").at(-1);
    expect(upload?.multipart?.fields.purpose).toBe("t2a_async_input");
    const create = h.minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").at(-1)?.json as Record<
      string,
      unknown
    >;
    expect(typeof create.text_file_id).toBe("number");
    expect(create).not.toHaveProperty("text");
  });

  it("/narrate with a .zip of .json files narrates every field and renames members for MiniMax", async () => {
    const zip = Buffer.from(
      zipSync({
        "chapter-b.json": new TextEncoder().encode(
          JSON.stringify({ title: "Two", content: "The second chapter." }),
        ),
        "chapter-a.json": new TextEncoder().encode(
          JSON.stringify({ title: "One", content: "The first chapter." }),
        ),
      }),
    );
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { file: { filename: "book.zip", data: zip, contentType: "application/zip" } },
    });
    const jobId = await jobIdOf(handle);
    const result = await h.discord.waitForMessage(isResult(jobId), 20_000);
    const upload = h.minimax.requests.filter((r) => r.path === "/v1/files/upload").at(-1)!;
    expect(upload.multipart?.files[0]?.filename).toMatch(/\.zip$/);
    const posted = h.discord
      .messagesIn(channelId())
      .filter((m) => m.content.includes(`-# job ${jobId}`))
      .flatMap((m) => m.attachments.map((a) => a.filename));
    expect(posted.filter((n) => n.endsWith(".mp3")).length).toBe(4);
    expect(result).toBeDefined();
  });

  it("/narrate without text or file opens a form, and its submission becomes a job", async () => {
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { voice: "Calm_Woman" },
    });
    const ack = await handle.waitForAck();
    expect(ack.type).toBe(9);
    const modalId = (ack.modal as { custom_id: string }).custom_id;
    const submit = h.discord.dispatchModalSubmit({
      customId: modalId,
      channelId: channelId(),
      fields: { title: "From the form", text: LONG.slice(0, 600) },
    });
    const jobId = await jobIdOf(submit);
    await h.discord.waitForMessage(isResult(jobId), 20_000);
    const create = h.minimax.requests.filter((r) => r.path === "/v1/t2a_async_v2").at(-1)?.json as {
      voice_setting: { voice_id: string };
    };
    expect(create.voice_setting.voice_id).toBe("Calm_Woman");
  });

  it("survives query errors (5xx, 1002) and still posts once", async () => {
    h.minimax.inject({ kind: "http", status: 503, route: "/v1/query/t2a_async_query_v2", times: 2 });
    h.minimax.inject({
      kind: "baseResp",
      code: 1002,
      msg: "rate limit",
      route: "/v1/query/t2a_async_query_v2",
      times: 2,
    });
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: LONG },
    });
    const jobId = await jobIdOf(handle);
    await h.discord.waitForMessage(isResult(jobId), 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(h.discord.messagesIn(channelId()).filter(isResult(jobId))).toHaveLength(1);
  });

  it("reports a Failed task with a Retry button, and an Expired one as expired", async () => {
    h.minimax.inject({ kind: "taskFailed" });
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: LONG },
    });
    const jobId = await jobIdOf(handle);
    const status = () => statusOf(jobId);
    await waitFor(() => JSON.stringify(status()?.embeds ?? []).includes("Failed"), 20_000, "failed status");
    expect(JSON.stringify(status()!.components)).toContain(`jobs:retry:${jobId}`);

    h.minimax.inject({ kind: "taskExpired" });
    const h2 = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: LONG },
    });
    const jobId2 = await jobIdOf(h2);
    const status2 = () => statusOf(jobId2);
    await waitFor(
      () => JSON.stringify(status2()?.embeds ?? []).includes("Expired"),
      20_000,
      "expired status",
    );
  });

  it("fails clearly on a malicious result archive, without crashing", async () => {
    h.minimax.inject({ kind: "tar", variant: "traversal" });
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: LONG },
    });
    const jobId = await jobIdOf(handle);
    const status = () => statusOf(jobId);
    await waitFor(() => JSON.stringify(status()?.embeds ?? []).includes("Failed"), 20_000, "failed status");
    expect(h.discord.messagesIn(channelId()).filter(isResult(jobId))).toHaveLength(0);
  });

  it("cancels from the status message's button", async () => {
    h.minimax.inject({ kind: "latency", ms: 3000, route: "/v1/t2a_async_v2" });
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      channelId: channelId(),
      options: { text: LONG },
    });
    const jobId = await jobIdOf(handle);
    const status = statusOf(jobId)!;
    const click = h.discord.dispatchComponent({ customId: `jobs:cancel:${jobId}`, message: status.id });
    expect((await click.waitForResponse()).content).toMatch(/Cancelled/);
    await waitFor(
      () => JSON.stringify(h.discord.message(status.id)?.embeds ?? []).includes("Cancelled"),
      10_000,
      "cancelled status",
    );
    await new Promise((r) => setTimeout(r, 3500));
    expect(h.discord.messagesIn(channelId()).filter(isResult(jobId))).toHaveLength(0);
  });

  it.each([
    ["binary", "data.txt", Buffer.from([0, 1, 2, 3, 0, 5]), /binary/],
    ["empty", "empty.txt", Buffer.from("   "), /empty/],
    ["non-UTF-8", "latin.txt", Buffer.from([0x63, 0x61, 0x66, 0xe9]), /UTF-8/],
    ["a PDF", "doc.pdf", Buffer.from("%PDF-1.4"), /\.txt/],
    ["too large", "huge.txt", Buffer.alloc(2 * 1024 * 1024 + 1, 0x61), /2\.0 MiB; files up to 2 MiB/],
  ])("refuses a %s file with a reason", async (_name, filename, data, reason) => {
    const before = h.minimax.requests.length;
    const handle = h.discord.dispatchCommand({ name: "narrate", options: { file: { filename, data } } });
    const reply = await handle.waitForResponse((m) => m.content.length > 0);
    expect(reply.content).toMatch(reason);
    expect((reply.flags ?? 0) & 64).toBe(64);
    expect(h.minimax.requests.length).toBe(before);
  });

  it("names the permissions it lacks in the chosen channel, before starting anything", async () => {
    const target = h.discord.fixtures.channels.text2.id;
    h.discord.setBotPermissions(target, { deny: ["AttachFiles"] });
    try {
      await waitFor(
        () =>
          !h.app.client.guilds.cache
            .first()
            ?.channels.cache.get(target)
            ?.permissionsFor(h.app.client.user!)
            ?.has("AttachFiles"),
        5000,
        "the permission change to reach the bot",
      );
      const before = h.minimax.requests.length;
      const handle = h.discord.dispatchCommand({
        name: "narrate",
        channelId: channelId(),
        options: { text: LONG, channel: target },
      });
      const reply = await handle.waitForResponse((m) => m.content.length > 0);
      expect(reply.content).toMatch(/missing Attach Files/);
      expect((reply.flags ?? 0) & 64).toBe(64);
      expect(h.minimax.requests.length).toBe(before);
    } finally {
      h.discord.setBotPermissions(target, {});
    }
  });

  it("bills a finished narration to the requester, by the provider's count", async () => {
    const admin = h.discord.fixtures.users.admin.id;
    const text = LONG.slice(0, 600);
    const handle = h.discord.dispatchCommand({
      name: "narrate",
      user: admin,
      channelId: channelId(),
      options: { text },
    });
    const jobId = await jobIdOf(handle);
    await h.discord.waitForMessage(isResult(jobId), 20_000);
    await waitFor(
      () =>
        h.discord
          .messagesIn(channelId())
          .some(
            (m) =>
              JSON.stringify(m.embeds).includes(`job ${jobId}`) && JSON.stringify(m.embeds).includes("Done"),
          ),
      5000,
      "done",
    );
    const reply = await h.discord.dispatchCommand({ name: "usage", user: admin }).waitForResponse();
    // The admin's only narration; the fake bills one unit per character.
    expect(JSON.stringify(reply.embeds)).toContain(`**Today:** ${[...text].length} used`);
  });

  it("/jobs list shows the member's jobs", async () => {
    const reply = await h.discord.dispatchCommand({ name: "jobs list" }).waitForResponse();
    expect(reply.content).toMatch(/\*\*(done|failed|cancelled|expired)\*\*/);
  });
});
