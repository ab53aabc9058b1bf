import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { chargeOf } from "../../src/jobs/billing.ts";
import { PendingResults } from "../../src/jobs/pending-results.ts";
import { createPollPlan } from "../../src/jobs/poll-plan.ts";
import { DEFAULT_RUNNER_TIMING } from "../../src/jobs/runner.ts";
import { advance, afterError, INTERRUPTED_MESSAGE, type StepDeps } from "../../src/jobs/steps.ts";
import { isFinal, type JobRecord, JobRecordSchema } from "../../src/jobs/types.ts";
import { RateLimiter } from "../../src/providers/http/rate-limiter.ts";
import { MiniMaxClient } from "../../src/providers/minimax/client.ts";
import { createMiniMaxProvider } from "../../src/providers/minimax/provider.ts";
import type { TtsProvider } from "../../src/speech/types.ts";
import { formatScript, parseScript } from "../../src/text/script.ts";
import { dominantFrequency } from "../fakes/audio/frequency.ts";
import { encodeAudio, synthPcm, toneFrequencyFor } from "../fakes/audio/tone.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/index.ts";
import { MemoryPublisher, memoryLogger, SETTINGS } from "./helpers.ts";

/** The fields of a t2a_async_v2 body these tests read. */
interface AsyncCreateBody {
  text: string;
  voice_setting: { voice_id: string };
}

/**
 * A story job step by step against the fake MiniMax, with the process "killed" before any one of its
 * steps (a fresh set of in-memory step state, as after a restart): no run's task is ever created twice,
 * the job either finishes and posts once or fails as interrupted, and it is billed for exactly the
 * runs that may have reached MiniMax.
 */

const CREATE = "/v1/t2a_async_v2";
const SCRIPT = parseScript(
  "Narrator: The door creaked open.\nAlice: Who is there?\nBob: Only me, do not be afraid.",
  "Narrator=Wise_Woman, Alice=Calm_Woman, Bob=Deep_Voice_Man",
);

let mm: FakeMiniMax;
let client: MiniMaxClient;
let provider: TtsProvider;

beforeAll(async () => {
  mm = await startFakeMiniMax({ rpm: 100_000, queryQps: 100_000, asyncProcessingMs: 40 });
  client = new MiniMaxClient({
    apiKey: "test-key",
    baseUrl: mm.url,
    downloads: { allowLoopback: true },
    retry: { retries: 0 },
    limiters: {
      synthesis: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
      query: new RateLimiter({ limit: 1000, intervalMs: 1000 }),
    },
  });
  provider = createMiniMaxProvider(client);
});
afterAll(async () => {
  await client?.close();
  await mm?.close();
});
beforeEach(() => mm.reset());

let ids = 0;
function storyJob(): JobRecord {
  const runs = SCRIPT.runs.map((r) => ({
    speaker: r.speaker,
    voiceId: r.voiceId,
    chars: [...r.text].length,
  }));
  const t = Date.now();
  return JobRecordSchema.parse({
    id: `story-${++ids}`,
    state: "queued",
    title: "The Door",
    requesterId: "u1",
    guildId: "g1",
    channelId: "c1",
    holdId: `job:story-${ids}`,
    input: { kind: "text", text: formatScript(SCRIPT) },
    settings: SETTINGS,
    chars: runs.reduce((n, r) => n + r.chars, 0),
    provider: provider.name,
    createdAt: t,
    updatedAt: t,
    nextAt: t,
    story: { runs },
  });
}

/** One process's in-memory step state; a restart starts with a fresh one. */
function processDeps(publisher: MemoryPublisher, using: TtsProvider = provider): StepDeps {
  const timing = { ...DEFAULT_RUNNER_TIMING, firstPollMs: 20, maxPollMs: 60 };
  const logger = memoryLogger();
  return {
    provider: using,
    publisher,
    logger,
    now: Date.now,
    random: Math.random,
    timing,
    plan: createPollPlan({ timing, logger }),
    pending: new PendingResults(64 * 1024 * 1024),
    paid: new Map(),
    submitting: new Set(),
    onQuery: () => {},
  };
}

/** Runs the job to a final state, restarting the "process" before step `killAt`. */
async function drive(
  job: JobRecord,
  publisher: MemoryPublisher,
  killAt: number,
  using: TtsProvider = provider,
): Promise<JobRecord> {
  let deps = processDeps(publisher, using);
  const signal = new AbortController().signal;
  for (let step = 0; step < 200 && !isFinal(job.state); step++) {
    if (step === killAt) deps = processDeps(publisher, using);
    const wait = job.nextAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    // The stored record, as the next process would read it back.
    const stored = JobRecordSchema.parse(JSON.parse(JSON.stringify(job)));
    try {
      job = await advance(stored, deps, signal);
    } catch (err) {
      job = afterError(stored, err, deps);
    }
  }
  return job;
}

const createdTexts = () =>
  mm.requests.filter((r) => r.path === CREATE).map((r) => (r.json as { text: string }).text);

describe("a story job", () => {
  it("creates one task per run in order, each in its voice, and posts one mp3 with speaker-named cues", async () => {
    const publisher = new MemoryPublisher();
    const job = await drive(storyJob(), publisher, -1);
    expect(job.state).toBe("done");
    const sent = mm.requests.filter((r) => r.path === CREATE).map((r) => r.json as AsyncCreateBody);
    expect(sent.map((b) => [b.voice_setting.voice_id, b.text])).toEqual(
      SCRIPT.runs.map((r) => [r.voiceId, r.text]),
    );
    const posted = publisher.posted.get(job.id)!;
    expect(posted.files.map((f) => f.name)).toEqual(["the-door.mp3", "the-door.srt"]);
    const srt = posted.files[1]!.data.toString("utf8");
    const speakers = [...srt.matchAll(/^(Narrator|Alice|Bob): /gm)].map((m) => m[1]);
    expect([...new Set(speakers)]).toEqual(["Narrator", "Alice", "Bob"]);
    expect(chargeOf(job)).toBe(job.usageCharacters ?? job.chars);
  });

  // Enough kill points to cover every step of the job: marks, creates, queries, download, post.
  it.each(Array.from({ length: 14 }, (_, i) => i))(
    "killed before step %i: no run is sent twice, and the job ends done or interrupted, billed for what was sent",
    async (killAt) => {
      const publisher = new MemoryPublisher();
      const job = await drive(storyJob(), publisher, killAt);
      const texts = createdTexts();
      expect(new Set(texts).size).toBe(texts.length);
      // Steps 0–5 are each run's mark then its create: a kill between the two is the only way to lose
      // track of a paid call.
      expect(job.state).toBe([1, 3, 5].includes(killAt) ? "failed" : "done");
      if (job.state === "done") {
        expect(texts).toEqual(SCRIPT.runs.map((r) => r.text));
        expect(publisher.posted.size).toBe(1);
      } else {
        expect(job.state).toBe("failed");
        expect(job.lastError?.message).toBe(INTERRUPTED_MESSAGE);
        expect(publisher.posted.size).toBe(0);
        // Billed for every run that had its mark: the sent ones, and the one that may have been sent.
        const marked = job.story!.runs.filter((r) => r.submitKey !== undefined);
        expect(marked.length).toBe(texts.length + 1);
        expect(chargeOf(job)).toBe(marked.reduce((n, r) => n + (r.usageCharacters ?? r.chars), 0));
      }
    },
  );

  it("a run's task MiniMax failed fails the story, naming the speaker, and bills every run sent", async () => {
    const publisher = new MemoryPublisher();
    // The next created task (the first run's) fails.
    mm.inject({ kind: "taskFailed" });
    const job = await drive(storyJob(), publisher, -1);
    expect(job.state).toBe("failed");
    expect(job.lastError?.message).toMatch(/could not narrate Narrator's lines \(turn 1\)/);
    expect(publisher.posted.size).toBe(0);
    expect(createdTexts()).toHaveLength(3);
    expect(chargeOf(job)).toBe(job.chars);
  });

  it("without an async API (the AI/ML API), each run is synthesised in its voice and joined the same way", async () => {
    const asked: string[] = [];
    const sync: TtsProvider = {
      name: "aimlapi",
      capabilities: { stream: false, async: false, voices: false, maxSyncChars: 1000 },
      async synthesize(req) {
        asked.push(req.voiceId);
        const shape = { sampleRate: 32000, channels: 1 };
        const pcm = synthPcm({ durationMs: 400, frequency: toneFrequencyFor(req.voiceId), ...shape });
        return {
          audio: encodeAudio(pcm, { format: "mp3", ...shape }),
          format: "mp3",
          ...shape,
          channels: 1,
          durationMs: 400,
          usageCharacters: req.text.length,
          traceId: undefined,
        };
      },
    };
    const publisher = new MemoryPublisher();
    const job = await drive(storyJob(), publisher, -1, sync);
    expect(job.state).toBe("done");
    expect(asked).toEqual(SCRIPT.runs.map((r) => r.voiceId));
    const [audio, srt] = publisher.posted.get(job.id)!.files;
    expect(srt!.data.toString("utf8")).toMatch(/Narrator: The door creaked open\./);
    expect(job.usageCharacters).toBe(SCRIPT.runs.reduce((n, r) => n + r.text.length, 0));
    const { MPEGDecoder } = await import("mpg123-decoder");
    const decoder = new MPEGDecoder();
    await decoder.ready;
    const decoded = decoder.decode(audio!.data);
    decoder.free();
    const rate = decoded.sampleRate;
    // Each run's cue span (from the subtitles the bot made) holds that run's voice.
    const spans = [
      ...srt!.data.toString("utf8").matchAll(/(\d+):(\d+):(\d+),(\d+) --> (\d+):(\d+):(\d+),(\d+)/g),
    ].map((m) => {
      const t = (h: string, mi: string, sec: string, ms: string) =>
        ((Number(h) * 60 + Number(mi)) * 60 + Number(sec)) * 1000 + Number(ms);
      return [t(m[1]!, m[2]!, m[3]!, m[4]!), t(m[5]!, m[6]!, m[7]!, m[8]!)] as const;
    });
    expect(spans).toHaveLength(SCRIPT.runs.length);
    SCRIPT.runs.forEach((run, i) => {
      const [start, end] = spans[i]!;
      const from = Math.round((((start + end) / 2 - 100) * rate) / 1000);
      const window = decoded.channelData[0]!.subarray(from, from + Math.round(0.2 * rate));
      const pcm = Int16Array.from(window, (v) => Math.round(v * 32767));
      expect(Math.abs(dominantFrequency(pcm, rate, 1) - toneFrequencyFor(run.voiceId))).toBeLessThan(5);
    });
  });
});
