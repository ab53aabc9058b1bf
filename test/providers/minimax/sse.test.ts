import { describe, expect, it } from "vitest";
import { readAudioStream } from "../../../src/providers/minimax/sse.ts";
import {
  ContentRefusedError,
  RetryableError,
  type TtsError,
  UpstreamError,
} from "../../../src/speech/errors.ts";
import type { StreamSummary } from "../../../src/speech/types.ts";

const PIECES = [
  Buffer.from("494433040000", "hex"),
  Buffer.from([0xff, 0xfb, 0x90, 0x64, 0x00, 0x01, 0x02, 0x03]),
  Buffer.from("the third piece of audio bytes"),
];
const WHOLE = Buffer.concat(PIECES);
const OK = { status_code: 0, status_msg: "" };
const EXTRA = { audio_length: 1234, usage_characters: 42, audio_sample_rate: 32000, audio_format: "mp3" };

const chunkEvent = (audio: Buffer, extra: Record<string, unknown> = {}) => ({
  data: { audio: audio.toString("hex"), status: 1 },
  trace_id: "trace-abc",
  base_resp: OK,
  ...extra,
});
const finalEvent = (audio: string) => ({
  data: { audio, status: 2 },
  extra_info: EXTRA,
  trace_id: "trace-abc",
  // A multi-byte message, so re-chunking also splits inside UTF-8 sequences.
  base_resp: { status_code: 0, status_msg: "成功 success" },
});

interface WireOptions {
  eol?: string;
  space?: boolean;
}
function wire(events: (object | string)[], { eol = "\n", space = true }: WireOptions = {}): Buffer {
  const text = events
    .map((e) => (typeof e === "string" ? e : `data:${space ? " " : ""}${JSON.stringify(e)}`))
    .map((block) => `${block}${eol}${eol}`)
    .join("");
  return Buffer.from(text, "utf8");
}

/** The standard stream: three incremental chunks, then the final event repeating everything. */
const STANDARD = () => [...PIECES.map((p) => chunkEvent(p)), finalEvent(WHOLE.toString("hex"))];

async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    yield bytes.subarray(at, cut);
    at = cut;
  }
}

async function run(
  bytes: Buffer,
  cuts: number[] = [],
  traceId?: string,
): Promise<{ chunks: Buffer[]; summary: StreamSummary }> {
  const gen = readAudioStream(chunked(bytes, cuts), { traceId });
  const chunks: Buffer[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return { chunks, summary: next.value };
    chunks.push(next.value);
  }
}

async function failure(bytes: Buffer, cuts: number[] = []): Promise<TtsError> {
  try {
    await run(bytes, cuts);
  } catch (err) {
    return err as TtsError;
  }
  throw new Error("expected the stream to fail");
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

function randomCuts(length: number, random: () => number): number[] {
  const n = Math.floor(random() * 30);
  return [...Array(n)].map(() => Math.floor(random() * length)).sort((a, b) => a - b);
}

const EXPECTED_SUMMARY: StreamSummary = {
  durationMs: 1234,
  usageCharacters: 42,
  traceId: "trace-abc",
  bytes: WHOLE.length,
};

describe("readAudioStream", () => {
  it("yields each incremental chunk once and never the aggregated repeat", async () => {
    const { chunks, summary } = await run(wire(STANDARD()));
    expect(chunks).toEqual(PIECES);
    expect(summary).toEqual(EXPECTED_SUMMARY);
  });

  it.each([
    ["\\n", { eol: "\n" }],
    ["\\r\\n", { eol: "\r\n" }],
    ["data: without the space", { space: false }],
    ["\\r\\n without the space", { eol: "\r\n", space: false }],
  ])("gives the same audio at every split point (%s)", async (_label, options) => {
    const bytes = wire(STANDARD(), options);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const { chunks, summary } = await run(bytes, [cut]);
      expect(Buffer.concat(chunks)).toEqual(WHOLE);
      expect(summary).toEqual(EXPECTED_SUMMARY);
    }
  });

  it("gives the same audio for random re-chunkings, down to one byte at a time", async () => {
    const random = lcg(42);
    const bytes = wire(STANDARD(), { eol: "\r\n" });
    for (let round = 0; round < 300; round++) {
      const { chunks } = await run(bytes, randomCuts(bytes.length, random));
      expect(Buffer.concat(chunks)).toEqual(WHOLE);
    }
    const everyByte = [...Array(bytes.length).keys()];
    expect(Buffer.concat((await run(bytes, everyByte)).chunks)).toEqual(WHOLE);
  });

  it("ignores comments, blank events, other fields and a trailing [DONE]", async () => {
    const events = [
      ": keep-alive",
      "event: message\nid: 1",
      chunkEvent(PIECES[0]!),
      "data:",
      chunkEvent(PIECES[1]!),
      "retry: 1000",
      chunkEvent(PIECES[2]!),
      finalEvent(WHOLE.toString("hex")),
      "data: [DONE]",
    ];
    const { chunks, summary } = await run(wire(events));
    expect(chunks).toEqual(PIECES);
    expect(summary.bytes).toBe(WHOLE.length);
  });

  it("accepts a final event with empty or absent audio (exclude_aggregated_audio)", async () => {
    for (const final of [finalEvent(""), { ...finalEvent(""), data: { status: 2 } }]) {
      const { chunks, summary } = await run(wire([...PIECES.map((p) => chunkEvent(p)), final]));
      expect(chunks).toEqual(PIECES);
      expect(summary.bytes).toBe(WHOLE.length);
    }
  });

  it("yields the audio once when the server sends only the final event", async () => {
    const { chunks, summary } = await run(wire([finalEvent(WHOLE.toString("hex"))]));
    expect(chunks).toEqual([WHOLE]);
    expect(summary).toEqual(EXPECTED_SUMMARY);
  });

  it("treats an event with extra_info as final even without status 2", async () => {
    const final = { ...finalEvent(WHOLE.toString("hex")), data: { audio: WHOLE.toString("hex") } };
    const { chunks } = await run(wire([chunkEvent(PIECES[0]!), final]));
    expect(chunks).toEqual([PIECES[0]]);
  });

  it("accepts upper-case hex", async () => {
    const upper = {
      ...chunkEvent(PIECES[1]!),
      data: { audio: PIECES[1]!.toString("hex").toUpperCase(), status: 1 },
    };
    const { chunks } = await run(wire([upper, finalEvent("")]));
    expect(chunks).toEqual([PIECES[1]]);
  });

  it("accepts a last event that lacks its closing blank line", async () => {
    const bytes = wire(STANDARD());
    const { chunks } = await run(bytes.subarray(0, bytes.length - 2));
    expect(Buffer.concat(chunks)).toEqual(WHOLE);
  });

  it("takes the trace id from the header when events carry none", async () => {
    const events = STANDARD().map(({ trace_id: _omit, ...rest }) => rest);
    const { summary } = await run(wire(events), [], "from-header");
    expect(summary.traceId).toBe("from-header");
  });

  describe("errors", () => {
    const refused = {
      data: null,
      trace_id: "trace-err",
      base_resp: { status_code: 1026, status_msg: "输入敏感 input new_sensitive" },
    };

    it("throws the typed error of a base_resp inside an event, wherever the bytes split", async () => {
      const bytes = wire([chunkEvent(PIECES[0]!), refused]);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const err = await failure(bytes, [cut]);
        expect(err).toBeInstanceOf(ContentRefusedError);
        expect(err.code).toBe(1026);
        expect(err.statusMsg).toBe("输入敏感 input new_sensitive");
        expect(err.traceId).toBe("trace-err");
      }
    });

    it("marks a rate-limit event as retryable and rate limited", async () => {
      const err = await failure(wire([{ base_resp: { status_code: 1002, status_msg: "rate limit" } }]));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.rateLimited).toBe(true);
    });

    it("throws a retryable 'truncated' error when the final event never comes", async () => {
      const err = await failure(wire(PIECES.map((p) => chunkEvent(p))));
      expect(err).toBeInstanceOf(RetryableError);
      expect(err.message).toMatch(/truncated/);
    });

    it("throws 'truncated' when the connection is cut anywhere inside the final event", async () => {
      const full = wire(STANDARD());
      const finalStart = wire(PIECES.map((p) => chunkEvent(p))).length;
      for (let end = finalStart; end < full.length - 2; end += 7) {
        const err = await failure(full.subarray(0, end));
        expect(err).toBeInstanceOf(RetryableError);
        expect(err.message).toMatch(/truncated/);
      }
    });

    it("throws 'truncated' for an empty body", async () => {
      expect(await failure(Buffer.alloc(0))).toBeInstanceOf(RetryableError);
    });

    it("refuses audio that is not hex", async () => {
      const bad = { ...chunkEvent(PIECES[0]!), data: { audio: "zz12", status: 1 } };
      expect(await failure(wire([bad, finalEvent("")]))).toBeInstanceOf(UpstreamError);
      const odd = { ...chunkEvent(PIECES[0]!), data: { audio: "abc", status: 1 } };
      expect(await failure(wire([odd, finalEvent("")]))).toBeInstanceOf(UpstreamError);
    });

    it("refuses a complete event that is not JSON", async () => {
      const err = await failure(wire(["data: {not json", finalEvent("")]));
      expect(err).toBeInstanceOf(UpstreamError);
    });

    it("refuses an event larger than the limit instead of buffering it", async () => {
      // Complete lines inside one chunk are parsed in place; the limit bounds what waits for more bytes.
      const bytes = wire(STANDARD());
      const cuts = [...Array(Math.floor(bytes.length / 10)).keys()].map((i) => (i + 1) * 10);
      const gen = readAudioStream(chunked(bytes, cuts), { maxEventChars: 50 });
      await expect(gen.next()).rejects.toThrow(/too large/);
    });
  });
});
