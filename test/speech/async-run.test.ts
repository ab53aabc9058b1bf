import { describe, expect, it } from "vitest";
import { type AsyncProgress, nextPollDelay, runAsyncSynthesis } from "../../src/speech/async-run.ts";
import { ExpiredError, UpstreamError } from "../../src/speech/errors.ts";
import type { AsyncTaskStatus, AsyncTtsApi, SpeechSettings } from "../../src/speech/types.ts";

const settings: SpeechSettings = { model: "speech-2.6-hd", voiceId: "Wise_Woman", format: "mp3" };

function scriptedApi(statuses: AsyncTaskStatus[], resultFileId = "77") {
  const calls: string[] = [];
  let i = 0;
  const api: AsyncTtsApi = {
    uploadText: async () => "1",
    createTask: async (input) => {
      calls.push(`create:${"text" in input ? input.text : input.fileId}`);
      return { taskId: "t1", fileId: "10", usageCharacters: 5, traceId: "tr" };
    },
    queryTask: async (taskId) => {
      calls.push(`query:${taskId}`);
      const status = statuses[Math.min(i++, statuses.length - 1)]!;
      return { taskId, status, fileId: resultFileId };
    },
    fetchResult: async (fileId) => {
      calls.push(`fetch:${fileId}`);
      return {
        parts: [
          { name: "content-1.mp3", audio: Buffer.from("abc"), format: "mp3", subtitles: [], extra: {} },
        ],
      };
    },
  };
  return { api, calls };
}

describe("runAsyncSynthesis", () => {
  it("polls with growing delays until success, then fetches the file the query named", async () => {
    const { api, calls } = scriptedApi(["processing", "processing", "success"]);
    const slept: number[] = [];
    const progress: AsyncProgress["status"][] = [];
    const out = await runAsyncSynthesis(api, { text: "hello" }, settings, {
      initialDelayMs: 100,
      backoff: 2,
      maxDelayMs: 300,
      sleep: async (ms) => {
        slept.push(ms);
      },
      onProgress: (p) => progress.push(p.status),
    });
    expect(slept).toEqual([100, 200, 300]);
    expect(calls).toEqual(["create:hello", "query:t1", "query:t1", "query:t1", "fetch:77"]);
    expect(out.polls).toBe(3);
    expect(out.result.parts[0]!.audio.toString()).toBe("abc");
    expect(progress).toEqual(["created", "processing", "processing", "success", "downloading"]);
  });

  it.each([
    ["failed", UpstreamError, /failed/],
    ["expired", ExpiredError, /expired/],
  ] as const)("reports a %s task as a typed error", async (status, cls, message) => {
    const { api } = scriptedApi(["processing", status]);
    const run = runAsyncSynthesis(api, { fileId: "5" }, settings, { sleep: async () => {} });
    await expect(run).rejects.toBeInstanceOf(cls);
    await expect(
      runAsyncSynthesis(api, { fileId: "5" }, settings, { sleep: async () => {} }),
    ).rejects.toThrow(message);
  });

  it("gives up after the timeout", async () => {
    const { api } = scriptedApi(["processing"]);
    let t = 0;
    const run = runAsyncSynthesis(api, { text: "x" }, settings, {
      timeoutMs: 1000,
      now: () => t,
      sleep: async (ms) => {
        t += ms;
      },
    });
    await expect(run).rejects.toThrow(/still processing/);
  });

  it.each([
    [1000, 1500],
    [8000, 10000],
    [10000, 10000],
  ])("nextPollDelay(%i) = %i", (current, next) => {
    expect(nextPollDelay(current, { backoff: 1.5, maxDelayMs: 10000 })).toBe(next);
  });
});
