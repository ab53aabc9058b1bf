import { describe, expect, it } from "vitest";
import { parseAnswer } from "../../../src/providers/minimax/http.ts";
import {
  AsyncCreateResponseSchema,
  AsyncQueryResponseSchema,
  FileResponseSchema,
  GetVoiceResponseSchema,
  parseMiniMaxJson,
  T2aResponseSchema,
} from "../../../src/providers/minimax/schemas.ts";
import { AuthError, RetryableError, UpstreamError } from "../../../src/speech/errors.ts";

const OK = { status_code: 0, status_msg: "success" };

describe("MiniMax response schemas", () => {
  it("reads a sync answer, tolerating a null data and an odd extra_info field", () => {
    const parsed = T2aResponseSchema.parse({
      data: { audio: "4944", status: 2, ced: "" },
      extra_info: { audio_length: 11124, audio_size: "weird", audio_format: "wav" },
      trace_id: "01b8",
      base_resp: OK,
    });
    expect(parsed.data?.audio).toBe("4944");
    expect(parsed.extra_info).toMatchObject({
      audio_length: 11124,
      audio_size: undefined,
      audio_format: "wav",
    });
    expect(
      T2aResponseSchema.parse({ data: null, base_resp: { status_code: 2013 } }).base_resp.status_msg,
    ).toBe("");
  });

  it.each([
    [95157322514444, "95157322514444"],
    ["95157322514444", "95157322514444"],
  ])("normalises task_id %j to a string", (id, expected) => {
    const parsed = AsyncCreateResponseSchema.parse({ task_id: id, file_id: id, base_resp: OK });
    expect(parsed.task_id).toBe(expected);
    expect(parsed.file_id).toBe(expected);
  });

  it("refuses an id that is not a decimal integer", () => {
    expect(AsyncCreateResponseSchema.safeParse({ task_id: "12ab", base_resp: OK }).success).toBe(false);
    expect(AsyncCreateResponseSchema.safeParse({ task_id: 1.5, base_resp: OK }).success).toBe(false);
  });

  it("keeps int64 ids beyond 2^53 exact", () => {
    const json = parseMiniMaxJson('{"task_id": 9007199254740993, "file_id": 12, "other": 9007199254740993}');
    const parsed = AsyncCreateResponseSchema.parse({ ...(json as object), base_resp: OK });
    expect(parsed.task_id).toBe("9007199254740993");
    expect(parsed.file_id).toBe("12");
    expect((json as { other: number }).other).toBe(9007199254740992);
  });

  it.each([
    ["Processing", "processing"],
    ["SUCCESS", "success"],
    ["success", "success"],
    [" Failed ", "failed"],
    ["Expired", "expired"],
  ])("reads query status %j as %s", (status, expected) => {
    expect(AsyncQueryResponseSchema.parse({ task_id: 1, status, file_id: 2, base_resp: OK }).status).toBe(
      expected,
    );
  });

  it("refuses an unknown query status", () => {
    expect(AsyncQueryResponseSchema.safeParse({ status: "Exploded", base_resp: OK }).success).toBe(false);
  });

  it("reads file objects, download_url optional", () => {
    const file = FileResponseSchema.parse({
      file: { file_id: 7, bytes: 0, created_at: 1700469398, filename: "7.tar", purpose: "t2a_async" },
      base_resp: OK,
    }).file;
    expect(file).toMatchObject({ file_id: "7", bytes: 0 });
    expect(file.download_url).toBeUndefined();
  });

  it("turns missing or null voice categories into empty lists", () => {
    const parsed = GetVoiceResponseSchema.parse({
      system_voice: [{ voice_id: "Wise_Woman", voice_name: "Wise", description: ["calm"] }],
      voice_cloning: null,
      base_resp: OK,
    });
    expect(parsed.voice_cloning).toEqual([]);
    expect(parsed.voice_generation).toEqual([]);
    expect(parsed.system_voice[0]!.description).toEqual(["calm"]);
  });
});

describe("parseAnswer (HTTP 200 body → value)", () => {
  it("checks base_resp before the route's shape", () => {
    const body = JSON.stringify({
      base_resp: { status_code: 2049, status_msg: "invalid api key" },
      trace_id: "t",
    });
    expect(() => parseAnswer(body, AsyncCreateResponseSchema, "/v1/t2a_async_v2")).toThrow(AuthError);
  });

  it("uses the header trace id when the body has none", () => {
    const body = JSON.stringify({ base_resp: { status_code: 1002, status_msg: "rate limit" } });
    try {
      parseAnswer(body, T2aResponseSchema, "/v1/t2a_v2", "hdr");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RetryableError);
      expect((err as RetryableError).traceId).toBe("hdr");
    }
  });

  it.each([
    ["not JSON", "<html>oops</html>", /not JSON/],
    ["JSON without base_resp", '{"data":{}}', /without base_resp/],
    ["a success with the wrong shape", JSON.stringify({ base_resp: OK, task_id: null }), /unexpected shape/],
  ])("refuses %s as an UpstreamError", (_label, body, message) => {
    expect(() => parseAnswer(body, AsyncCreateResponseSchema, "/v1/t2a_async_v2")).toThrow(UpstreamError);
    expect(() => parseAnswer(body, AsyncCreateResponseSchema, "/v1/t2a_async_v2")).toThrow(message);
  });
});
