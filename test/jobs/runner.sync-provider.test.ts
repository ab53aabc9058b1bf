import { afterEach, describe, expect, it } from "vitest";
import { createJobRunner, type JobRunner } from "../../src/jobs/runner.ts";
import { createJobService } from "../../src/jobs/service.ts";
import { createJobStore } from "../../src/jobs/store.ts";
import type { JobRecord } from "../../src/jobs/types.ts";
import { ContentRefusedError, RetryableError } from "../../src/speech/errors.ts";
import type { SpeechRequest, SpeechSettings, SynthesisResult, TtsProvider } from "../../src/speech/types.ts";
import { FAST, MemoryKv, MemoryLedger, MemoryPublisher, memoryLogger, waitFor } from "./helpers.ts";

/** A provider without an async API (like the AI/ML API): jobs go through chunked sync synthesis. */

const PCM: SpeechSettings = {
  model: "some-model",
  voiceId: "v",
  format: "pcm",
  sampleRate: 16000,
  channels: 1,
};
/** 16 kHz mono 16-bit: 32 bytes per ms; 10 ms of audio per character keeps the numbers simple. */
const BYTES_PER_CHAR = 320;

function fakeProvider(fail: (req: SpeechRequest, call: number) => Error | undefined = () => undefined) {
  const texts: string[] = [];
  const provider: TtsProvider = {
    name: "aimlapi",
    capabilities: { stream: false, async: false, voices: false, maxSyncChars: 40 },
    async synthesize(req): Promise<SynthesisResult> {
      texts.push(req.text);
      const err = fail(req, texts.length);
      if (err) throw err;
      return {
        audio: Buffer.alloc(req.text.length * BYTES_PER_CHAR, 1),
        format: req.format,
        sampleRate: 16000,
        channels: 1,
        durationMs: req.text.length * 10,
        usageCharacters: req.text.length,
        traceId: undefined,
      };
    },
  };
  return { provider, texts };
}

const runners: JobRunner[] = [];
afterEach(async () => {
  for (const r of runners.splice(0)) await r.stop();
});

function setup(provider: TtsProvider, settings: SpeechSettings = PCM) {
  const logger = memoryLogger();
  const store = createJobStore(new MemoryKv(), { logger });
  const publisher = new MemoryPublisher();
  const ledger = new MemoryLedger();
  const runner = createJobRunner({ store, publisher, provider, ledger, logger, options: FAST });
  runners.push(runner);
  const service = createJobService({ store, publisher, provider, runner, ledger, logger });
  const create = (text: string) =>
    service.create({
      reservation: ledger.reservation(`job:${text.length}`, text.length),
      requesterId: "u9",
      guildId: null,
      channelId: "dm",
      title: "Notes",
      input: { kind: "text", text },
      settings,
      chars: text.length,
    });
  const final = (id: string) =>
    waitFor(async () => {
      const j = await store.get(id);
      return j && ["done", "failed", "expired", "cancelled"].includes(j.state) ? j : undefined;
    }, "a final state");
  return { store, publisher, runner, service, create, final, ledger };
}

const TEXT =
  "The first sentence is here. A second one follows it. Then a third sentence arrives. And the last one ends it.";

describe("job runner with a provider without async", () => {
  it("synthesises in chunks, joins them, and posts the audio with estimated subtitles", async () => {
    const { provider, texts } = fakeProvider();
    const { runner, publisher, create, final } = setup(provider);
    await runner.start();
    const job = await create(TEXT);
    const done: JobRecord = await final(job.id);

    expect(done.state).toBe("done");
    expect(done.taskId).toBeUndefined();
    expect(texts.length).toBeGreaterThan(1);
    expect(texts.join(" ")).toBe(TEXT);
    const posted = publisher.posted.get(job.id)!;
    expect(posted.files.map((f) => f.name)).toEqual(["notes.pcm", "notes.srt"]);
    const spokenChars = texts.reduce((n, t) => n + t.length, 0);
    expect(posted.files[0]!.data.length).toBe(spokenChars * BYTES_PER_CHAR);
    const srt = posted.files[1]!.data.toString("utf8");
    expect(srt.startsWith("1\n00:00:00,000 --> ")).toBe(true);
    expect(srt).toContain("And the last one ends it.");
    expect(done.usageCharacters).toBe(spokenChars);
    // Straight from queued to posting: no task, no download.
    expect(publisher.statesOf(job.id)).toEqual(["posting", "done"]);
  });

  it("retries a transient failure of one chunk, then succeeds", async () => {
    const { provider } = fakeProvider((_, call) =>
      call === 2 ? new RetryableError("503", { provider: "aimlapi", httpStatus: 503 }) : undefined,
    );
    const { runner, create, final } = setup(provider);
    await runner.start();
    const done = await final((await create(TEXT)).id);
    expect(done.state).toBe("done");
  });

  it("fails with the provider's reason when it refuses the text", async () => {
    const { provider } = fakeProvider(() => new ContentRefusedError("flagged", { provider: "aimlapi" }));
    const { runner, create, final, publisher } = setup(provider);
    await runner.start();
    const failed = await final((await create(TEXT)).id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError).toEqual({
      kind: "content",
      message: expect.stringMatching(/refused this text/),
    });
    expect(publisher.postCalls).toEqual([]);
  });

  it("refuses FLAC that would need joining, with a message for people", async () => {
    const { provider } = fakeProvider();
    const { runner, create, final } = setup(provider, { ...PCM, format: "flac" });
    await runner.start();
    const failed = await final((await create(TEXT)).id);
    expect(failed.state).toBe("failed");
    expect(failed.lastError?.message).toMatch(/FLAC files cannot be joined/);
  });
});

describe("job service", () => {
  it("refuses a zip up front when the provider cannot take files", async () => {
    const { provider } = fakeProvider();
    const { service, store, ledger } = setup(provider);
    const zip = { kind: "file" as const, fileName: "book.zip", contentBase64: "UEsDBA==" };
    const reservation = ledger.reservation("job:zip", 10);
    const req = {
      reservation,
      requesterId: "u9",
      guildId: null,
      channelId: "dm",
      input: zip,
      settings: PCM,
      chars: 10,
    };
    await expect(service.create(req)).rejects.toThrow(/Only \.txt files/);
    expect(await store.listActive()).toEqual([]);
    // Refused before anything was paid: the characters go back.
    expect(ledger.released.has("job:zip")).toBe(true);
  });

  it("still runs the job when the status message cannot be posted", async () => {
    const { provider } = fakeProvider();
    const { runner, publisher, create, final } = setup(provider);
    publisher.failStatus = true;
    await runner.start();
    const job = await create(TEXT);
    expect(job.statusMessageId).toBeUndefined();
    expect((await final(job.id)).state).toBe("done");
  });

  it("lists a user's jobs newest first", async () => {
    const { provider } = fakeProvider();
    const { service, create } = setup(provider);
    const a = await create("one.");
    await new Promise((r) => setTimeout(r, 2));
    const b = await create("two.");
    expect((await service.listForUser("u9")).map((j) => j.id)).toEqual([b.id, a.id]);
    expect(await service.get(a.id)).toMatchObject({ id: a.id, state: "queued" });
  });
});
