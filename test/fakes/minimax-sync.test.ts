import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseWav } from "../../src/audio/wav.ts";
import { toneFrequencyFor } from "./audio/tone.ts";
import { type FakeMiniMax, startFakeMiniMax } from "./minimax/server.ts";
import {
  decodeFlac,
  decodeMp3,
  dominantFrequency,
  fetchJson,
  getJson,
  int16Channel,
  type Json,
  postJson,
} from "./test-helpers.ts";

let mm: FakeMiniMax;
let clock = 1_000_000;

beforeAll(async () => {
  mm = await startFakeMiniMax({ rpm: 5, now: () => clock });
});
afterAll(() => mm.close());
beforeEach(() => {
  mm.reset();
  clock += 120_000; // a fresh rate-limit minute for every test
});

const TEXT = "The quick brown fox jumps over the lazy dog. It was not amused!";
const body = (over: Record<string, unknown> = {}) => ({
  model: "speech-2.6-hd",
  text: TEXT,
  voice_setting: { voice_id: "English_expressive_narrator" },
  ...over,
});

async function t2a(payload: unknown, path = "/v1/t2a_v2"): Promise<{ res: Response; json: Json }> {
  const res = await postJson(`${mm.url}${path}`, payload);
  return { res, json: await res.json() };
}

describe("POST /v1/t2a_v2 (non-streaming)", () => {
  it("returns lowercase hex mp3 whose length follows the text, with full extra_info and a trace id", async () => {
    const { res, json } = await t2a(body());
    expect(res.status).toBe(200);
    expect(json.base_resp).toEqual({ status_code: 0, status_msg: "success" });
    expect(json.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get("trace-id")).toBe(json.trace_id);
    expect(json.data.status).toBe(2);
    expect(json.data.audio).toMatch(/^[0-9a-f]+$/);
    const audio = Buffer.from(json.data.audio, "hex");
    const spoken = TEXT.replace(/\s+/g, "").length;
    expect(json.extra_info).toMatchObject({
      audio_length: spoken * 60,
      audio_sample_rate: 32000,
      audio_size: audio.length,
      bitrate: 128000,
      usage_characters: TEXT.length,
      audio_format: "mp3",
      audio_channel: 1,
    });
    expect(json.extra_info.word_count).toBe(TEXT.replace(/[\s\p{P}]/gu, "").length);
    const decoded = await decodeMp3(audio);
    expect(decoded).toMatchObject({ sampleRate: 32000, channels: 1 });
    expect(Math.abs(decoded.durationMs - spoken * 60) / (spoken * 60)).toBeLessThan(0.05);
    const f = toneFrequencyFor("English_expressive_narrator");
    expect(dominantFrequency(decoded.samples.subarray(32000, 64000), 32000)).toBeCloseTo(f, -1);
  });

  it("honours sample_rate, channel, bitrate clamping and speed", async () => {
    const { json } = await t2a(
      body({
        voice_setting: { voice_id: "Wise_Woman", speed: 2 },
        audio_setting: { sample_rate: 16000, channel: 2, bitrate: 256000, format: "mp3" },
      }),
    );
    const spoken = TEXT.replace(/\s+/g, "").length;
    expect(json.extra_info).toMatchObject({
      audio_sample_rate: 16000,
      audio_channel: 2,
      bitrate: 160000,
      audio_length: spoken * 30,
    });
    const decoded = await decodeMp3(Buffer.from(json.data.audio, "hex"));
    expect(decoded).toMatchObject({ sampleRate: 16000, channels: 2 });
  });

  it("wav, flac and pcm come back in the requested shape", async () => {
    const settings = { sample_rate: 24000, channel: 1 };
    const wav = (await t2a(body({ audio_setting: { ...settings, format: "wav" } }))).json;
    const parsed = parseWav(Buffer.from(wav.data.audio, "hex"));
    expect(parsed).toMatchObject({ sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    expect(wav.extra_info.audio_format).toBe("wav");

    const flac = (await t2a(body({ audio_setting: { ...settings, format: "flac" } }))).json;
    const decoded = await decodeFlac(Buffer.from(flac.data.audio, "hex"));
    expect(decoded.sampleRate).toBe(24000);
    expect(decoded.durationMs).toBeCloseTo(wav.extra_info.audio_length, -1);

    const pcm = (await t2a(body({ audio_setting: { ...settings, format: "pcm" } }))).json;
    const raw = Buffer.from(pcm.data.audio, "hex");
    expect(raw.length).toBe(parsed.data.length);
    expect(dominantFrequency(int16Channel(raw, 1), 24000)).toBeCloseTo(
      toneFrequencyFor("English_expressive_narrator"),
      -1,
    );
  });

  it("output_format url puts a fetchable, unauthenticated URL in data.audio", async () => {
    const { json } = await t2a(body({ output_format: "url" }));
    expect(json.data.audio).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/oss\/audio%2Ftts-[0-9a-f]{32}\.mp3\?Expires=\d+&/,
    );
    const res = await fetch(json.data.audio);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    const audio = Buffer.from(await res.arrayBuffer());
    expect(audio.length).toBe(json.extra_info.audio_size);
    await decodeMp3(audio);
    // A tampered signature is refused like object storage does.
    const tampered = await fetch(json.data.audio.replace(/Signature=[^&]+/, "Signature=AAAA"));
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain("<Code>SignatureDoesNotMatch</Code>");
  });

  it("url audio expires after 24 h (urlTtlMs) with an XML 403", async () => {
    const { json } = await t2a(body({ output_format: "url" }));
    clock += 24 * 3600_000;
    const res = await fetch(json.data.audio);
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toBe("application/xml");
    expect(await res.text()).toMatch(/<Code>AccessDenied<\/Code>[\s\S]*Request has expired/);
  });

  it("subtitle_enable adds a subtitle_file URL with ≤50-char cues ending at the audio length", async () => {
    const long = `${"This sentence is long enough to need to be split in two halves ".repeat(2)}Short one.`;
    const { json } = await t2a(body({ text: long, subtitle_enable: true }));
    const cues: Json[] = await (await fetchJson(json.data.subtitle_file)).json();
    expect(cues.length).toBeGreaterThan(2);
    for (const c of cues) {
      expect(c.text.length).toBeLessThanOrEqual(50);
      expect(long.slice(c.text_begin, c.text_end)).toBe(c.text);
      expect(c.time_end).toBeGreaterThan(c.time_begin);
    }
    expect(cues.at(-1).time_end).toBe(json.extra_info.audio_length);
    expect(cues[0].time_begin).toBe(0);
  });

  it("mixes voices with timbre_weights and an empty voice_id", async () => {
    const { json } = await t2a(
      body({
        voice_setting: { voice_id: "" },
        timbre_weights: [
          { voice_id: "Deep_Voice_Man", weight: 60 },
          { voice_id: "Calm_Woman", weight: 40 },
        ],
      }),
    );
    expect(json.base_resp.status_code).toBe(0);
    const bad = await t2a(
      body({ voice_setting: { voice_id: "" }, timbre_weights: [{ voice_id: "Nobody", weight: 1 }] }),
    );
    expect(bad.json.base_resp.status_code).toBe(2054);
  });

  it("ignores unknown fields instead of rejecting them", async () => {
    // `audio_sample_rate` is the async name: sync silently falls back to its 32 kHz default.
    const { json } = await t2a(body({ audio_setting: { audio_sample_rate: 16000 }, surprise: true }));
    expect(json.base_resp.status_code).toBe(0);
    expect(json.extra_info.audio_sample_rate).toBe(32000);
  });

  it("tolerates an old client's english_normalization and an explicit null emotion", async () => {
    const { json } = await t2a(
      body({ voice_setting: { voice_id: "Wise_Woman", english_normalization: true, emotion: null } }),
    );
    expect(json.base_resp.status_code).toBe(0);
  });
});

describe("t2a_v2 validation (HTTP 200, base_resp 2013 / 2054)", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["unknown model", { model: "speech-9" }, /model/],
    ["empty text", { text: "   " }, /text/],
    ["text of 10,000 characters", { text: "a".repeat(10_000) }, /text/],
    ["speed above 2", { voice_setting: { voice_id: "Wise_Woman", speed: 2.5 } }, /speed/],
    ["speed as a string", { voice_setting: { voice_id: "Wise_Woman", speed: "1" } }, /speed/],
    ["vol of 0", { voice_setting: { voice_id: "Wise_Woman", vol: 0 } }, /vol/],
    ["fractional pitch", { voice_setting: { voice_id: "Wise_Woman", pitch: 1.5 } }, /pitch/],
    ["pitch out of range", { voice_setting: { voice_id: "Wise_Woman", pitch: 13 } }, /pitch/],
    [
      "neutral emotion (the AI/ML name)",
      { voice_setting: { voice_id: "Wise_Woman", emotion: "neutral" } },
      /emotion/,
    ],
    [
      "whisper on speech-2.8",
      { model: "speech-2.8-hd", voice_setting: { voice_id: "Wise_Woman", emotion: "whisper" } },
      /emotion/,
    ],
    [
      "fluent on speech-02",
      { model: "speech-02-hd", voice_setting: { voice_id: "Wise_Woman", emotion: "fluent" } },
      /emotion/,
    ],
    ["unknown language_boost", { language_boost: "Klingon" }, /language_boost/],
    ["Persian on speech-01", { model: "speech-01-turbo", language_boost: "Persian" }, /language_boost/],
    ["unknown sound effect", { voice_modify: { sound_effects: "underwater" } }, /sound_effects/],
    [
      "sound effect with pcm",
      { voice_modify: { sound_effects: "robotic" }, audio_setting: { format: "pcm" } },
      /voice_modify/,
    ],
    ["opus format", { audio_setting: { format: "opus" } }, /format/],
    ["sample rate 48000", { audio_setting: { sample_rate: 48000 } }, /sample_rate/],
    ["bitrate 96000", { audio_setting: { bitrate: 96000 } }, /bitrate/],
    ["three channels", { audio_setting: { channel: 3 } }, /channel/],
    ["missing voice_setting", { voice_setting: undefined }, /voice_setting/],
    [
      "five timbre weights",
      { timbre_weights: Array(5).fill({ voice_id: "Wise_Woman", weight: 20 }) },
      /timbre_weights/,
    ],
    ["word_streaming without stream", { subtitle_type: "word_streaming" }, /subtitle_type/],
    ["bad pronunciation entry", { pronunciation_dict: { tone: ["nonsense"] } }, /pronunciation_dict/],
  ];

  it.each(cases)("%s → 2013", async (_name, over, detail) => {
    const { res, json } = await t2a(body(over));
    expect(res.status).toBe(200);
    expect(json.base_resp.status_code).toBe(2013);
    expect(json.base_resp.status_msg).toMatch(/^invalid params, /);
    expect(json.base_resp.status_msg).toMatch(detail);
    expect(json.data).toBeUndefined();
  });

  it("accepts the emotions each model family supports", async () => {
    for (const [model, emotion] of [
      ["speech-2.6-turbo", "whisper"],
      ["speech-2.6-hd", "fluent"],
      ["speech-2.8-turbo", "calm"],
      ["speech-02-turbo", "surprised"],
    ]) {
      const { json } = await t2a(body({ model, voice_setting: { voice_id: "Wise_Woman", emotion } }));
      expect(json.base_resp.status_code, `${model} ${emotion}`).toBe(0);
      clock += 60_000;
    }
  });

  it("a non-JSON body is 2013", async () => {
    const res = await fetchJson(`${mm.url}/v1/t2a_v2`, {
      method: "POST",
      headers: { Authorization: "Bearer test-key", "Content-Type": "application/json" },
      body: "{not json",
    });
    expect((await res.json()).base_resp.status_code).toBe(2013);
  });

  it("an unknown voice is 2054 voice id not exist", async () => {
    const { json } = await t2a(body({ voice_setting: { voice_id: "English_Trustworthy_Man" } }));
    expect(json.base_resp).toEqual({ status_code: 2054, status_msg: "voice id not exist" });
  });

  it("over 10% invisible characters is 1042", async () => {
    const { json } = await t2a(body({ text: `hello\u0001\u0002\u0003 world` }));
    expect(json.base_resp.status_code).toBe(1042);
  });
});

describe("auth, GroupId, routing", () => {
  it("a missing key is 1004 and a wrong key 2049, both HTTP 200", async () => {
    const missing = await postJson(`${mm.url}/v1/t2a_v2`, body(), { key: null });
    expect(missing.status).toBe(200);
    expect((await missing.json()).base_resp).toEqual({ status_code: 1004, status_msg: "not authorized" });
    const wrong = await postJson(`${mm.url}/v1/t2a_v2`, body(), { key: "sk-other" });
    expect((await wrong.json()).base_resp).toEqual({ status_code: 2049, status_msg: "invalid api key" });
  });

  it("GroupId: absent or set works, empty is the misleading 1008", async () => {
    expect((await t2a(body(), "/v1/t2a_v2?GroupId=123")).json.base_resp.status_code).toBe(0);
    expect((await t2a(body(), "/v1/t2a_v2?GroupId=")).json.base_resp).toEqual({
      status_code: 1008,
      status_msg: "insufficient balance",
    });
  });

  it("unknown paths and wrong methods are a plain-text 404", async () => {
    for (const res of [
      await fetch(`${mm.url}/v1/audio/speech`, { method: "POST" }),
      await getJson(`${mm.url}/v1/get_voice`),
      await getJson(`${mm.url}/v1/t2a_v2`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await res.text()).toBe("404 page not found");
    }
  });

  it("records requests with path, query, headers and parsed JSON", async () => {
    await t2a(body(), "/v1/t2a_v2?GroupId=g1");
    const [req] = mm.requests;
    expect(req).toMatchObject({ method: "POST", path: "/v1/t2a_v2", query: { GroupId: "g1" } });
    expect(req!.headers.authorization).toBe("Bearer test-key");
    expect(req!.json).toMatchObject({ model: "speech-2.6-hd", text: TEXT });
  });

  it("more than `rpm` synthesis requests in a minute get 1002 rate limit, shared with async", async () => {
    for (let i = 0; i < 4; i++) expect((await t2a(body())).json.base_resp.status_code).toBe(0);
    const asyncBody = { model: "speech-2.6-hd", text: "hi there", voice_setting: { voice_id: "Wise_Woman" } };
    expect((await t2a(asyncBody, "/v1/t2a_async_v2")).json.base_resp.status_code).toBe(0);
    const limited = await t2a(body());
    expect(limited.res.status).toBe(200);
    expect(limited.json.base_resp).toEqual({ status_code: 1002, status_msg: "rate limit" });
    expect((await t2a(asyncBody, "/v1/t2a_async_v2")).json.base_resp.status_code).toBe(1002);
    clock += 60_000;
    expect((await t2a(body())).json.base_resp.status_code).toBe(0);
  });
});

describe("POST /v1/get_voice", () => {
  it("system lists the legacy and English voices with names and descriptions; other categories are null", async () => {
    const res = await postJson(`${mm.url}/v1/get_voice`, { voice_type: "system" });
    const json = await res.json();
    const ids: string[] = json.system_voice.map((v: Json) => v.voice_id);
    expect(ids.length).toBeGreaterThan(60);
    for (const id of [
      "Wise_Woman",
      "Exuberant_Girl",
      "English_Trustworth_Man",
      "French_Female_News Anchor",
    ]) {
      expect(ids).toContain(id);
    }
    expect(json.system_voice[0]).toMatchObject({
      voice_name: expect.any(String),
      description: [expect.any(String)],
    });
    expect(json.voice_cloning).toBeNull();
    expect(json.voice_generation).toBeNull();
  });

  it("all includes empty cloning/generation lists; a missing voice_type is 2013", async () => {
    const all = await (await postJson(`${mm.url}/v1/get_voice`, { voice_type: "all" })).json();
    expect(all.voice_cloning).toEqual([]);
    expect(all.system_voice.length).toBeGreaterThan(60);
    const cloning = await (await postJson(`${mm.url}/v1/get_voice`, { voice_type: "voice_cloning" })).json();
    expect(cloning.system_voice).toBeUndefined();
    const missing = await (await postJson(`${mm.url}/v1/get_voice`, {})).json();
    expect(missing.base_resp.status_code).toBe(2013);
  });
});
