import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createAimlApiProvider } from "../../src/providers/aimlapi/provider.ts";
import { MiniMaxClient } from "../../src/providers/minimax/client.ts";
import { createMiniMaxProvider } from "../../src/providers/minimax/provider.ts";
import { VoiceDesignInputSchema } from "../../src/providers/minimax/voice-design.ts";
import { InvalidInputError, UnsupportedOptionError } from "../../src/speech/errors.ts";
import { type FakeMiniMax, startFakeMiniMax } from "../fakes/minimax/server.ts";
import { decodeMp3 } from "../fakes/test-helpers.ts";

/** Voice design and deletion: the fake MiniMax's routes as a raw client sees them, then the real client. */

const KEY = "design-key";
let mm: FakeMiniMax;
let client: MiniMaxClient;

beforeAll(async () => {
  mm = await startFakeMiniMax({ apiKey: KEY });
  client = new MiniMaxClient({ apiKey: KEY, baseUrl: mm.url, retry: { retries: 1, baseMs: 5, maxMs: 10 } });
});
afterAll(async () => {
  await client.close();
  await mm.close();
});
beforeEach(() => mm.reset());

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${mm.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}
const code = (json: Record<string, unknown>) => (json.base_resp as { status_code: number }).status_code;

describe("fake MiniMax: /v1/voice_design and /v1/delete_voice", () => {
  it("designs a voice with a generated id and a real mp3 trial clip; t2a then accepts the id", async () => {
    const json = await post("/v1/voice_design", { prompt: "A calm narrator", preview_text: "Hello there." });
    expect(code(json)).toBe(0);
    expect(json.voice_id).toMatch(/^ttv-voice-\d{16}-[A-Za-z0-9]{8}$/);
    const trial = Buffer.from(json.trial_audio as string, "hex");
    const decoded = await decodeMp3(trial);
    expect(decoded.sampleRate).toBe(32000);
    const t2a = await post("/v1/t2a_v2", {
      model: "speech-2.8-hd",
      text: "Hi",
      voice_setting: { voice_id: json.voice_id },
    });
    expect(code(t2a)).toBe(0);
  });

  it.each([
    [{ preview_text: "Hi" }, 2013],
    [{ prompt: "  ", preview_text: "Hi" }, 2013],
    [{ prompt: "A voice" }, 2013],
    [{ prompt: "A voice", preview_text: "x".repeat(501) }, 2013],
    [{ prompt: "A voice", preview_text: "Hi", voice_id: "1starts-with-digit" }, 2013],
    [{ prompt: "A voice", preview_text: "Hi", voice_id: "Wise_Woman" }, 2039],
  ])("refuses %j with %i", async (body, expected) => {
    expect(code(await post("/v1/voice_design", body))).toBe(expected);
  });

  it("lists a designed voice only once used, deletes it, and never hands its id out again", async () => {
    const voice_id = "designed-test-0001";
    expect(code(await post("/v1/voice_design", { prompt: "A voice", preview_text: "Hi", voice_id }))).toBe(0);
    const listed = async () =>
      (
        (await post("/v1/get_voice", { voice_type: "voice_generation" })).voice_generation as {
          voice_id: string;
        }[]
      ).map((v) => v.voice_id);
    expect(await listed()).toEqual([]);
    await post("/v1/t2a_v2", { model: "speech-2.8-hd", text: "Hi", voice_setting: { voice_id } });
    expect(await listed()).toEqual([voice_id]);
    expect(code(await post("/v1/delete_voice", { voice_type: "voice_cloning", voice_id }))).toBe(2054);
    const deleted = await post("/v1/delete_voice", { voice_type: "voice_generation", voice_id });
    expect(code(deleted)).toBe(0);
    expect(deleted.voice_id).toBe(voice_id);
    expect(code(await post("/v1/delete_voice", { voice_type: "system", voice_id }))).toBe(2013);
    const t2a = await post("/v1/t2a_v2", { model: "speech-2.8-hd", text: "Hi", voice_setting: { voice_id } });
    expect(code(t2a)).not.toBe(0);
    expect(code(await post("/v1/voice_design", { prompt: "Again", preview_text: "Hi", voice_id }))).toBe(
      2039,
    );
  });

  it("limits voice design to 20 requests a minute (1002)", async () => {
    for (let i = 0; i < 20; i++)
      expect(code(await post("/v1/voice_design", { prompt: "v", preview_text: "Hi" }))).toBe(0);
    expect(code(await post("/v1/voice_design", { prompt: "v", preview_text: "Hi" }))).toBe(1002);
  });
});

describe("MiniMaxClient voice design", () => {
  it("designs under the caller's id and returns the trial mp3; delete is idempotent", async () => {
    const provider = createMiniMaxProvider(client);
    expect(provider.capabilities.voiceDesign).toBe(true);
    const made = await provider.voiceDesign.design({
      prompt: "A bright voice",
      previewText: "Hi!",
      voiceId: "designed-abc-123",
    });
    expect(made.voiceId).toBe("designed-abc-123");
    expect(made.trialAudio[0]).toBe(0xff);
    expect(mm.designedVoices.has("designed-abc-123")).toBe(true);
    await provider.voiceDesign.delete("designed-abc-123");
    expect(mm.designedVoices.has("designed-abc-123")).toBe(false);
    // Gone already: still success.
    await expect(provider.voiceDesign.delete("designed-abc-123")).resolves.toBeUndefined();
  });

  it("refuses bad input before any request", async () => {
    const before = mm.requests.length;
    await expect(
      client.designVoice({ prompt: "A voice", previewText: "x".repeat(501), voiceId: "designed-abc-123" }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      client.designVoice({ prompt: "", previewText: "Hi", voiceId: "designed-abc-123" }),
    ).rejects.toThrow(/description is empty/);
    expect(mm.requests.length).toBe(before);
  });

  it("maps MiniMax's refusal of a taken id to InvalidInputError", async () => {
    await expect(
      client.designVoice({ prompt: "A voice", previewText: "Hi", voiceId: "Wise_Woman" }),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe("VoiceDesignInputSchema", () => {
  it.each([
    [{ prompt: "p", previewText: "t", voiceId: "designed-1a" }, true],
    [{ prompt: "p".repeat(1000), previewText: "t".repeat(500), voiceId: "designed-1a" }, true],
    [{ prompt: "p".repeat(1001), previewText: "t", voiceId: "designed-1a" }, false],
    // 500 characters counted as code points, not UTF-16 units.
    [{ prompt: "p", previewText: "😀".repeat(500), voiceId: "designed-1a" }, true],
    [{ prompt: "p", previewText: "t", voiceId: "short1" }, false],
    [{ prompt: "p", previewText: "t", voiceId: "designed-1a-" }, false],
  ])("%j → %s", (input, ok) => {
    expect(VoiceDesignInputSchema.safeParse(input).success).toBe(ok);
  });
});

describe("AI/ML API provider", () => {
  it("says clearly that it cannot design voices", async () => {
    const provider = createAimlApiProvider({ tts: async () => Promise.reject(new Error("unused")) });
    expect(provider.capabilities.voiceDesign).toBe(false);
    const err = await provider
      .voiceDesign!.design({ prompt: "p", previewText: "t", voiceId: "designed-1a" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedOptionError);
    expect((err as Error).message).toContain("TTS_PROVIDER=minimax");
  });
});
