import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseMp3FrameHeader } from "./audio/mp3.ts";
import { type FakeMiniMax, startFakeMiniMax } from "./minimax/server.ts";
import { decodeFlac, decodeMp3, type Json, parseSse, postJson } from "./test-helpers.ts";

let mm: FakeMiniMax;
beforeAll(async () => {
  mm = await startFakeMiniMax({ sseChunkCount: 5, sseChunkDelayMs: 1 });
});
afterAll(() => mm.close());
beforeEach(() => mm.reset());

const TEXT = "Streaming speech arrives in pieces, and the last event repeats all of it.";
const body = (over: Record<string, unknown> = {}) => ({
  model: "speech-2.8-turbo",
  text: TEXT,
  stream: true,
  voice_setting: { voice_id: "Wise_Woman" },
  ...over,
});

async function stream(over: Record<string, unknown> = {}) {
  const res = await postJson(`${mm.url}/v1/t2a_v2`, body(over));
  const text = await res.text();
  return { res, text, events: parseSse(text) };
}

const audioOf = (e: Json) => Buffer.from(e.json.data.audio, "hex");

describe("t2a_v2 stream: true", () => {
  it("sends status:1 chunks then one status:2 event that repeats the whole audio", async () => {
    const { res, text, events } = await stream();
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(text.startsWith("data: {")).toBe(true);
    expect(text).not.toContain("[DONE]");
    expect(text).not.toContain("\r\n");
    const chunks = events.slice(0, -1);
    const final = events.at(-1)!;
    expect(chunks.length).toBe(5);
    for (const c of chunks) {
      expect(c.json.data.status).toBe(1);
      expect(c.json.extra_info).toBeUndefined();
      expect(c.json.base_resp.status_code).toBe(0);
      // A streaming encoder emits whole frames: every chunk starts on an MPEG frame header.
      expect(parseMp3FrameHeader(audioOf(c), 0)).toBeDefined();
    }
    expect(final.json.data.status).toBe(2);
    const joined = Buffer.concat(chunks.map(audioOf));
    expect(audioOf(final).equals(joined)).toBe(true);
    expect(final.json.extra_info).toMatchObject({
      audio_size: joined.length,
      audio_format: "mp3",
      audio_channel: 1,
    });
    expect(new Set(events.map((e) => e.json.trace_id)).size).toBe(1);
    expect(res.headers.get("trace-id")).toBe(final.json.trace_id);
    const decoded = await decodeMp3(joined);
    expect(Math.abs(decoded.durationMs - final.json.extra_info.audio_length)).toBeLessThan(
      final.json.extra_info.audio_length * 0.05,
    );
  });

  it("exclude_aggregated_audio leaves the final event's audio empty", async () => {
    const { events } = await stream({ stream_options: { exclude_aggregated_audio: true } });
    const final = events.at(-1)!;
    expect(final.json.data).toMatchObject({ status: 2, audio: "" });
    expect(final.json.extra_info.audio_size).toBe(Buffer.concat(events.slice(0, -1).map(audioOf)).length);
  });

  it("pcm chunks are cut on sample frames; flac chunks join into a decodable file", async () => {
    const pcm = await stream({ audio_setting: { format: "pcm", channel: 2, sample_rate: 22050 } });
    for (const c of pcm.events.slice(0, -1)) expect(audioOf(c).length % 4).toBe(0);
    const flac = await stream({ audio_setting: { format: "flac", sample_rate: 16000 } });
    const decoded = await decodeFlac(Buffer.concat(flac.events.slice(0, -1).map(audioOf)));
    expect(decoded.sampleRate).toBe(16000);
  });

  it("always streams hex, even when output_format is url", async () => {
    const { events } = await stream({ output_format: "url" });
    expect(events[0]!.json.data.audio).toMatch(/^[0-9a-f]+$/);
  });

  it("refuses wav with 2013 as a plain JSON reply", async () => {
    const res = await postJson(`${mm.url}/v1/t2a_v2`, body({ audio_setting: { format: "wav" } }));
    expect(res.headers.get("content-type")).toBe("application/json");
    const json = await res.json();
    expect(json.base_resp.status_code).toBe(2013);
    expect(json.base_resp.status_msg).toMatch(/format/);
  });
});

describe("stream faults", () => {
  it("streamError puts a base_resp error inside an event after N chunks", async () => {
    mm.inject({ kind: "streamError", code: 1001, afterChunks: 2 });
    const { res, events } = await stream();
    expect(res.status).toBe(200);
    expect(events).toHaveLength(3);
    expect(events[1]!.json.data.status).toBe(1);
    expect(events[2]!.json.base_resp).toEqual({ status_code: 1001, status_msg: "request timeout" });
    // Consumed: the next stream is healthy.
    expect((await stream()).events.at(-1)!.json.data.status).toBe(2);
  });

  it("streamNoFinal ends without a status:2 event", async () => {
    mm.inject({ kind: "streamNoFinal" });
    const { events } = await stream();
    expect(events.length).toBe(5);
    expect(events.every((e) => e.json.data.status === 1)).toBe(true);
  });

  it("streamDone appends a stray data: [DONE]", async () => {
    mm.inject({ kind: "streamDone" });
    const { events } = await stream();
    expect(events.at(-1)!.raw).toBe("[DONE]");
    expect(events.at(-2)!.json.data.status).toBe(2);
  });

  it("crlf uses \\r\\n line endings throughout", async () => {
    mm.inject({ kind: "crlf" });
    const { text, events } = await stream();
    expect(text).toContain("}\r\n\r\ndata: ");
    expect(text.replace(/\r\n/g, "")).not.toContain("\n");
    expect(events.at(-1)!.json.data.status).toBe(2);
  });

  it("stream faults wait for a streaming request", async () => {
    mm.inject({ kind: "streamNoFinal" });
    const plain = await postJson(`${mm.url}/v1/t2a_v2`, body({ stream: false }));
    expect((await plain.json()).data.status).toBe(2);
    expect((await stream()).events.some((e) => e.json.data.status === 2)).toBe(false);
  });

  it("truncate cuts the connection in the middle of an event", async () => {
    mm.inject({ kind: "truncate", route: "/v1/t2a_v2" });
    const res = await postJson(`${mm.url}/v1/t2a_v2`, body());
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = "";
    let failed = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        received += Buffer.from(value).toString();
      }
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
    const blocks = received.split("\n\n");
    expect(blocks.length).toBe(2);
    expect(() => JSON.parse(blocks[0]!.slice(6))).not.toThrow();
    expect(() => JSON.parse(blocks[1]!.slice(6))).toThrow();
  });

  it("baseResp answers a streaming request with plain JSON", async () => {
    mm.inject({ kind: "baseResp", code: 1039 });
    const res = await postJson(`${mm.url}/v1/t2a_v2`, body());
    expect(res.headers.get("content-type")).toBe("application/json");
    expect((await res.json()).base_resp).toEqual({ status_code: 1039, status_msg: "token limit" });
    // Consumed: the next streaming request is an event stream again.
    expect((await postJson(`${mm.url}/v1/t2a_v2`, body())).headers.get("content-type")).toBe(
      "text/event-stream",
    );
  });
});
