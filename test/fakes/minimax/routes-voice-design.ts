import { randomBytes } from "node:crypto";
import { z } from "zod";
import { baseRespError, errorReply, invalidParams, okReply } from "./codes.ts";
import type { MiniMaxState, RouteHandler } from "./state.ts";
import { renderSpeech } from "./synth.ts";
import type { SynthesisParams } from "./validation.ts";

/**
 * `POST /v1/voice_design` and `POST /v1/delete_voice`, as MiniMax documents them: a designed voice
 * gets an id (the caller's, or `ttv-voice-<time>-<8 chars>`), a trial clip of the preview text as hex
 * mp3, and is then accepted by t2a as `voice_id`. It appears in get_voice's `voice_generation` only
 * once a synthesis has used it. Deleting it makes its id unusable, also for a new voice.
 */

/** A designed voice the fake remembers. */
export interface DesignedVoice {
  voiceId: string;
  prompt: string;
  createdAt: number;
  /** Used by a synthesis at least once (listed by get_voice from then on). */
  used: boolean;
}

/** MiniMax's OpenAPI schema: `preview_text` maxLength 500. */
export const PREVIEW_TEXT_MAX_CHARS = 500;
/** Voice id rule (clone docs): 8–256 characters, starts with a letter, letters, digits, - and _, not ending in - or _. */
const VOICE_ID = /^[A-Za-z][A-Za-z0-9_-]{6,254}[A-Za-z0-9]$/;

const DesignBody = z.object({
  prompt: z.string().refine((s) => s.trim().length > 0, "required"),
  preview_text: z
    .string()
    .refine((s) => s.trim().length > 0, "required")
    .refine((s) => [...s].length <= PREVIEW_TEXT_MAX_CHARS, `at most ${PREVIEW_TEXT_MAX_CHARS} characters`),
  voice_id: z.string().regex(VOICE_ID, "invalid voice_id").optional(),
  aigc_watermark: z.boolean().optional(),
});

const DeleteBody = z.object({
  voice_type: z.enum(["voice_cloning", "voice_generation"]),
  voice_id: z.string().min(1),
});

function firstIssue(error: z.ZodError) {
  const issue = error.issues[0];
  const path = issue?.path.join(".") ?? "";
  return invalidParams(path ? `${path}: ${issue?.message ?? "invalid"}` : (issue?.message ?? "request body"));
}

function generatedId(now: number): string {
  const d = new Date(now);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}${pad(Math.floor(d.getUTCMilliseconds() / 10))}`;
  const tail = randomBytes(6).toString("base64url").replace(/[-_]/g, "x").slice(0, 8);
  return `ttv-voice-${stamp}-${tail}`;
}

/** The trial clip: mp3, 32 kHz mono, 128 kb/s, in the new voice's tone, as long as the text needs. */
function trialParams(voiceId: string, text: string): SynthesisParams {
  return {
    mode: "sync",
    model: "speech-2.8-hd",
    text,
    textFileId: undefined,
    voiceId,
    speed: 1,
    vol: 1,
    pitch: 0,
    emotion: undefined,
    languageBoost: undefined,
    format: "mp3",
    sampleRate: 32000,
    bitrate: 128000,
    channels: 1,
    outputFormat: "hex",
    subtitles: false,
    excludeAggregatedAudio: false,
  };
}

export const voiceDesign: RouteHandler = ({ state, record, trace }) => {
  if (!state.designWindow.tryAcquire()) return errorReply(baseRespError(1002), trace);
  const parsed = DesignBody.safeParse(record.json);
  if (!parsed.success) return errorReply(firstIssue(parsed.error), trace);
  const body = parsed.data;
  const voiceId = body.voice_id ?? generatedId(state.opts.now());
  if (state.voiceIds.has(voiceId) || state.deletedVoiceIds.has(voiceId)) {
    return errorReply(baseRespError(2039, "voice clone voice id duplicate"), trace);
  }
  const trial = renderSpeech(body.preview_text, trialParams(voiceId, body.preview_text), state.opts);
  state.designed.set(voiceId, { voiceId, prompt: body.prompt, createdAt: state.opts.now(), used: false });
  state.voiceIds.add(voiceId);
  return okReply({ trial_audio: trial.audio.toString("hex"), voice_id: voiceId }, trace);
};

export const deleteVoice: RouteHandler = ({ state, record, trace }) => {
  const parsed = DeleteBody.safeParse(record.json);
  if (!parsed.success) return errorReply(firstIssue(parsed.error), trace);
  const { voice_type: type, voice_id: voiceId } = parsed.data;
  // The fake has no cloned voices; a designed voice is deleted only as voice_generation.
  const voice = type === "voice_generation" ? state.designed.get(voiceId) : undefined;
  if (!voice) return errorReply(baseRespError(2054), trace);
  state.designed.delete(voiceId);
  state.voiceIds.delete(voiceId);
  state.deletedVoiceIds.add(voiceId);
  return okReply({ voice_id: voiceId, created_time: String(Math.floor(voice.createdAt / 1000)) }, trace);
};

/** A synthesis used `voiceId`: a designed voice is kept (and listed) from then on. */
export function markVoiceUsed(state: MiniMaxState, voiceId: string): void {
  const voice = state.designed.get(voiceId);
  if (voice) voice.used = true;
}

/** get_voice's `voice_generation` items: the designed voices a synthesis has used. */
export function listedDesignedVoices(state: MiniMaxState) {
  return [...state.designed.values()]
    .filter((v) => v.used)
    .map((v) => ({
      voice_id: v.voiceId,
      description: [],
      created_time: new Date(v.createdAt).toISOString().slice(0, 10),
    }));
}
