import { zipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeMiniMax, startFakeMiniMax } from "./minimax/server.ts";
import { decodeFlac, decodeMp3, getJson, type Json, KEY, postJson, untar } from "./test-helpers.ts";

let mm: FakeMiniMax;
let clock = 5_000_000;
const PROCESSING_MS = 300;

beforeAll(async () => {
  mm = await startFakeMiniMax({ now: () => clock, asyncProcessingMs: PROCESSING_MS, queryQps: 3 });
});
afterAll(() => mm.close());
beforeEach(() => {
  mm.reset();
  clock += 120_000;
});

const TEXT = "Chapter one. It was a bright cold day in April, and the clocks were striking thirteen.";
const asyncBody = (over: Record<string, unknown> = {}) => ({
  model: "speech-2.6-hd",
  text: TEXT,
  voice_setting: { voice_id: "Wise_Woman" },
  ...over,
});

async function create(over: Record<string, unknown> = {}): Promise<Json> {
  return (await postJson(`${mm.url}/v1/t2a_async_v2`, asyncBody(over))).json();
}
async function query(taskId: number): Promise<Json> {
  return (await getJson(`${mm.url}/v1/query/t2a_async_query_v2?task_id=${taskId}`)).json();
}
async function retrieve(fileId: number): Promise<Json> {
  return (await getJson(`${mm.url}/v1/files/retrieve?file_id=${fileId}`)).json();
}
async function finish(taskId: number): Promise<Json> {
  clock += PROCESSING_MS;
  return query(taskId);
}
async function upload(filename: string, content: Uint8Array, purpose = "t2a_async_input"): Promise<Json> {
  const form = new FormData();
  form.append("purpose", purpose);
  form.append("file", new Blob([content]), filename);
  const res = await fetch(`${mm.url}/v1/files/upload`, {
    method: "POST",
    headers: { Authorization: `Bearer ${KEY}` },
    body: form,
  });
  return res.json();
}

describe("async lifecycle", () => {
  it("create → Processing → Success → retrieve → tar with audio, titles and extra", async () => {
    const created = await create({ audio_setting: { audio_sample_rate: 24000, format: "mp3" } });
    expect(created.base_resp.status_code).toBe(0);
    expect(typeof created.task_id).toBe("number");
    expect(typeof created.file_id).toBe("number");
    expect(created.task_token).toMatch(/^eyJ/);
    expect(created.usage_characters).toBe(TEXT.length);

    const processing = await query(created.task_id);
    expect(processing).toMatchObject({ task_id: created.task_id, status: "Processing" });
    clock += PROCESSING_MS - 1;
    expect((await query(created.task_id)).status).toBe("Processing");
    const done = await finish(created.task_id);
    expect(done.status).toBe("Success");
    expect(done.file_id).not.toBe(created.file_id);

    const { file } = await retrieve(done.file_id);
    expect(file).toMatchObject({
      file_id: done.file_id,
      filename: `${done.file_id}.tar`,
      purpose: "t2a_async",
    });
    expect(file.download_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const download = await fetch(file.download_url); // no Authorization: pre-signed
    expect(download.status).toBe(200);
    const tar = Buffer.from(await download.arrayBuffer());
    expect(tar.length).toBe(file.bytes);

    const entries = await untar(tar);
    const id = created.task_id;
    expect(entries.map((e) => e.name)).toEqual([
      `content-${id}.mp3`,
      `content-${id}.titles`,
      `content-${id}.extra`,
    ]);
    const extra = JSON.parse(entries[2]!.content.toString());
    // Async defaults to stereo and reads audio_sample_rate (not sample_rate).
    expect(extra).toMatchObject({ audio_sample_rate: 24000, audio_channel: 2, audio_format: "mp3", vol: 1 });
    const decoded = await decodeMp3(entries[0]!.content);
    expect(decoded).toMatchObject({ sampleRate: 24000, channels: 2 });
    expect(Math.abs(decoded.durationMs - extra.audio_length) / extra.audio_length).toBeLessThan(0.05);
    const titles: Json[] = JSON.parse(entries[1]!.content.toString());
    // The second sentence is 73 characters: cut at a space into two cues of at most 50.
    expect(titles.map((t) => t.text)).toEqual([
      "Chapter one.",
      "It was a bright cold day in April, and the clocks",
      "were striking thirteen.",
    ]);
    expect(titles[0]).toMatchObject({ time_begin: 0, text_begin: 0, text_end: 12 });
    expect(titles[1].time_begin).toBe(titles[0].time_end);
    expect(titles[2].time_begin).toBe(titles[1].time_end);
    expect(titles.at(-1).time_end).toBe(extra.audio_length);
    for (const t of titles) expect(t.text.length).toBeLessThanOrEqual(50);

    const content = await fetch(`${mm.url}/v1/files/retrieve_content?file_id=${done.file_id}`, {
      headers: { Authorization: `Bearer ${KEY}` },
    });
    expect(content.headers.get("content-type")).toBe("application/octet-stream");
    expect(Buffer.from(await content.arrayBuffer()).equals(tar)).toBe(true);
    expect(mm.tasks.get(created.task_id)?.result_file_id).toBe(done.file_id);
  });

  it("query also answers POST {task_id} and asyncPollsUntilDone counts polls", async () => {
    const polled = await startFakeMiniMax({ asyncPollsUntilDone: 2 });
    try {
      const created = await (await postJson(`${polled.url}/v1/t2a_async_v2`, asyncBody())).json();
      const statuses: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await postJson(`${polled.url}/v1/query/t2a_async_query_v2`, { task_id: created.task_id });
        statuses.push((await res.json()).status);
      }
      expect(statuses).toEqual(["Processing", "Processing", "Success"]);
    } finally {
      await polled.close();
    }
  });

  it("a result is not retrievable before the task succeeds", async () => {
    const created = await create();
    const { file_id } = await query(created.task_id);
    expect((await retrieve(file_id)).base_resp.status_code).toBe(2013);
  });

  it("flac and pcm results use their own extension", async () => {
    const created = await create({ audio_setting: { format: "flac", channel: 1, audio_sample_rate: 16000 } });
    const done = await finish(created.task_id);
    const tar = Buffer.from(
      await (await fetch((await retrieve(done.file_id)).file.download_url)).arrayBuffer(),
    );
    const [audio] = await untar(tar);
    expect(audio!.name).toBe(`content-${created.task_id}.flac`);
    expect((await decodeFlac(audio!.content)).sampleRate).toBe(16000);
  });

  it("ignores sync-only names: sample_rate and text_normalization do nothing", async () => {
    const created = await create({ audio_setting: { sample_rate: 16000 } });
    const done = await finish(created.task_id);
    const tar = Buffer.from(
      await (await fetch((await retrieve(done.file_id)).file.download_url)).arrayBuffer(),
    );
    const extra = JSON.parse((await untar(tar))[2]!.content.toString());
    expect(extra.audio_sample_rate).toBe(32000);
  });

  it("resultBytes: zero reports bytes 0 as seen live", async () => {
    const zero = await startFakeMiniMax({ resultBytes: "zero", asyncProcessingMs: 0 });
    try {
      const created = await (await postJson(`${zero.url}/v1/t2a_async_v2`, asyncBody())).json();
      const q = await (
        await getJson(`${zero.url}/v1/query/t2a_async_query_v2?task_id=${created.task_id}`)
      ).json();
      const r = await (await getJson(`${zero.url}/v1/files/retrieve?file_id=${q.file_id}`)).json();
      expect(r.file.bytes).toBe(0);
      expect((await fetch(r.file.download_url)).status).toBe(200);
    } finally {
      await zero.close();
    }
  });
});

describe("async validation", () => {
  it.each([
    ["text of 50,001 characters", { text: "a".repeat(50_001) }],
    ["both text and text_file_id", { text_file_id: 1 }],
    ["neither text nor text_file_id", { text: undefined }],
    ["text_file_id as a JSON string", { text: undefined, text_file_id: "123" }],
    ["unknown text_file_id", { text: undefined, text_file_id: 4242 }],
    ["wav format", { audio_setting: { format: "wav" } }],
    [
      "emotion the model lacks",
      { model: "speech-02-hd", voice_setting: { voice_id: "Wise_Woman", emotion: "whisper" } },
    ],
  ])("%s → 2013", async (_name, over) => {
    const json = await create(over);
    expect(json.base_resp.status_code).toBe(2013);
    expect(json.task_id).toBeUndefined();
  });

  it("accepts exactly 50,000 characters", async () => {
    expect((await create({ text: "a".repeat(50_000) })).base_resp.status_code).toBe(0);
  });

  it("an unknown voice is 2054", async () => {
    expect((await create({ voice_setting: { voice_id: "nobody" } })).base_resp.status_code).toBe(2054);
  });
});

describe("uploads and text_file_id", () => {
  it("a .txt upload becomes a task input; usage counts its characters", async () => {
    const text = "From a file.<#0.5#>With a pause.";
    const up = await upload("story.txt", new TextEncoder().encode(text));
    expect(up.file).toMatchObject({ filename: "story.txt", purpose: "t2a_async_input", bytes: text.length });
    expect(typeof up.file.file_id).toBe("number");
    const recorded = mm.requests.at(-1)!;
    expect(recorded.multipart?.fields.purpose).toBe("t2a_async_input");
    expect(recorded.multipart?.files[0]).toMatchObject({
      name: "file",
      filename: "story.txt",
      size: text.length,
    });

    const created = await create({ text: undefined, text_file_id: up.file.file_id });
    expect(created.usage_characters).toBe(text.length);
    const done = await finish(created.task_id);
    const entries = await untar(
      Buffer.from(await (await fetch((await retrieve(done.file_id)).file.download_url)).arrayBuffer()),
    );
    const extra = JSON.parse(entries[2]!.content.toString());
    expect(extra.audio_length).toBe(text.replace(/<#0.5#>/, "").replace(/\s/g, "").length * 60 + 500);
  });

  it("a zip of 1.json, 2.json gives one folder per member with a trio per non-empty field", async () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const zip = zipSync({
      "1.json": enc({ title: "Part one", content: "The first part.", extra: "" }),
      "2.json": enc({ content: "The second part.", extra: "Notes." }),
    });
    const up = await upload("book.zip", zip);
    expect(up.base_resp.status_code).toBe(0);
    const created = await create({ text: undefined, text_file_id: up.file.file_id });
    const done = await finish(created.task_id);
    const tar = Buffer.from(
      await (await fetch((await retrieve(done.file_id)).file.download_url)).arrayBuffer(),
    );
    const id = created.task_id;
    expect((await untar(tar)).map((e) => e.name)).toEqual([
      "1/",
      `1/title-${id}-1.mp3`,
      `1/title-${id}-1.titles`,
      `1/title-${id}-1.extra`,
      `1/content-${id}-1.mp3`,
      `1/content-${id}-1.titles`,
      `1/content-${id}-1.extra`,
      "2/",
      `2/content-${id}-2.mp3`,
      `2/content-${id}-2.titles`,
      `2/content-${id}-2.extra`,
      `2/extra-${id}-2.mp3`,
      `2/extra-${id}-2.titles`,
      `2/extra-${id}-2.extra`,
    ]);
  });

  it("badly named zip members are `check file in zip error`", async () => {
    const zip = zipSync({ "chapter_001.json": new TextEncoder().encode('{"content":"x"}') });
    expect((await upload("book.zip", zip)).base_resp).toEqual({
      status_code: 2013,
      status_msg: "check file in zip error",
    });
    const mixed = zipSync({
      "1.json": new TextEncoder().encode('{"content":"x"}'),
      "2.txt": new Uint8Array([120]),
    });
    expect((await upload("book.zip", mixed)).base_resp.status_msg).toBe("check file in zip error");
  });

  it("a wrong purpose or file type is 2013", async () => {
    expect((await upload("a.txt", new Uint8Array([104, 105]), "voice_clone")).base_resp.status_code).toBe(
      2013,
    );
    expect((await upload("a.pdf", new Uint8Array([104, 105]))).base_resp.status_code).toBe(2013);
    const notMultipart = await postJson(`${mm.url}/v1/files/upload`, { purpose: "t2a_async_input" });
    expect((await notMultipart.json()).base_resp.status_code).toBe(2013);
  });

  it("a file of 100,000 characters or more is refused at task creation", async () => {
    const up = await upload("big.txt", new TextEncoder().encode("a".repeat(100_000)));
    expect((await create({ text: undefined, text_file_id: up.file.file_id })).base_resp.status_code).toBe(
      2013,
    );
  });
});

describe("query limits, failures and expiry", () => {
  it("more than queryQps queries per second get 1002", async () => {
    const created = await create();
    for (let i = 0; i < 3; i++) expect((await query(created.task_id)).base_resp.status_code).toBe(0);
    expect((await query(created.task_id)).base_resp).toEqual({ status_code: 1002, status_msg: "rate limit" });
    clock += 1000;
    expect((await query(created.task_id)).base_resp.status_code).toBe(0);
  });

  it("taskFailed / taskExpired make the next task end that way, with no result", async () => {
    mm.inject({ kind: "taskFailed" });
    const failed = await create();
    mm.inject({ kind: "taskExpired" });
    const expired = await create();
    const healthy = await create();
    clock += PROCESSING_MS;
    const f = await query(failed.task_id);
    expect(f.status).toBe("Failed");
    expect((await query(expired.task_id)).status).toBe("Expired");
    expect((await query(healthy.task_id)).status).toBe("Success");
    expect((await retrieve(f.file_id)).base_resp.status_code).toBe(2013);
  });

  it("download URLs expire after downloadUrlTtlMs with the storage 403; a new retrieve signs a fresh one", async () => {
    const created = await create();
    const done = await finish(created.task_id);
    const first = (await retrieve(done.file_id)).file.download_url;
    clock += 9 * 3600_000;
    const expired = await fetch(first);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain("Request has expired");
    const second = (await retrieve(done.file_id)).file.download_url;
    expect(second).not.toBe(first);
    expect((await fetch(second)).status).toBe(200);
  });

  it("expireDownloads expires every URL issued so far at once", async () => {
    const created = await create();
    const done = await finish(created.task_id);
    const url = (await retrieve(done.file_id)).file.download_url;
    mm.inject({ kind: "expireDownloads" });
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch((await retrieve(done.file_id)).file.download_url)).status).toBe(200);
  });

  it("tar faults serve a hostile archive on the next download only", async () => {
    const created = await create();
    const done = await finish(created.task_id);
    const content = () =>
      fetch(`${mm.url}/v1/files/retrieve_content?file_id=${done.file_id}`, {
        headers: { Authorization: `Bearer ${KEY}` },
      });
    mm.inject({ kind: "tar", variant: "traversal" });
    const hostile = await untar(Buffer.from(await (await content()).arrayBuffer()));
    expect(hostile.map((e) => e.name)).toContain("../evil.mp3");
    const clean = await untar(Buffer.from(await (await content()).arrayBuffer()));
    expect(clean.map((e) => e.name)).not.toContain("../evil.mp3");

    mm.inject({ kind: "tar", variant: "symlink" });
    const viaUrl = await fetch((await retrieve(done.file_id)).file.download_url);
    const linked = await untar(Buffer.from(await viaUrl.arrayBuffer()));
    expect(linked[0]).toMatchObject({ type: "symlink", linkname: "/etc/passwd" });
  });

  it("the hugeTotal variant streams until the client stops reading", async () => {
    const created = await create();
    const done = await finish(created.task_id);
    mm.inject({ kind: "tar", variant: "hugeTotal" });
    const abort = new AbortController();
    const res = await fetch(`${mm.url}/v1/files/retrieve_content?file_id=${done.file_id}`, {
      headers: { Authorization: `Bearer ${KEY}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let bytes = 0;
    while (bytes < 8 * 1024 * 1024) bytes += (await reader.read()).value?.length ?? 0;
    abort.abort();
    expect(bytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    // The fake is still healthy afterwards.
    expect((await query(created.task_id)).status).toBe("Success");
  });
});
