import type { Logger } from "../logger.ts";
import type { UserSettingsStore } from "../settings/user-settings.ts";
import type { CallOptions, SynthesisResult, TtsProvider } from "../speech/types.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { AudioCache, CachedAudio } from "./audio-cache.ts";
import { audioCacheKey } from "./cache-key.ts";
import { type AudioFile, CONTENT_TYPES, chooseMp3Bitrate, splitToFit } from "./fit-attachments.ts";
import type { Actor, RequestPlanner } from "./planner.ts";
import { planSpeech, type SpeakOptions, type SpeakPlan } from "./speak-options.ts";
import { createWaitingNotice } from "./waiting.ts";

/**
 * `/speak` as a domain service: plan the request from options and saved defaults, guard against abuse,
 * serve from the cache or synthesize, and shape the audio into attachments that fit the upload limit.
 * It knows nothing of discord.js; the command renders what it returns.
 */

export interface VoiceMessageAudio {
  ogg: Buffer;
  durationSecs: number;
  /** base64 of up to 256 amplitude bytes. */
  waveform: string;
}

export type ToVoiceMessage = (input: {
  pcm: Buffer;
  sampleRate: number;
  channels: number;
}) => VoiceMessageAudio;

export interface SpeakServiceDeps {
  provider: TtsProvider;
  cache: AudioCache;
  /** Decides every request that spends characters: defaults, dictionary, access, cooldown, budget. */
  planner: Pick<RequestPlanner, "speech">;
  users: Pick<UserSettingsStore, "rememberVoice">;
  toVoiceMessage: ToVoiceMessage;
  config: { model: string; voice: string; syncMaxChars: number };
  logger: Logger;
}

export interface SpeakInput {
  actor: Actor;
  options: SpeakOptions;
  /** When the interaction token expires (ms epoch): work that cannot start before is refused. */
  deadline?: number;
  /** The interaction's `attachment_size_limit`. */
  attachmentSizeLimit: number;
  /**
   * Tells the member about a wait in line for the synthesis rate limit (place and estimate, refreshed
   * at a pace Discord allows; see `waiting.ts`). Every notice has settled before `speak` returns or
   * throws, so the answer that follows replaces the last one.
   */
  notifyWaiting?: (text: string) => Promise<unknown>;
}

export type SpeakResult =
  | { kind: "long"; chars: number; limit: number }
  | {
      kind: "audio";
      plan: SpeakPlan;
      /** Regular attachments (one, or numbered parts). Empty for a voice message. */
      files: AudioFile[];
      voiceMessage: (VoiceMessageAudio & { file: AudioFile }) | undefined;
      durationMs: number | undefined;
      /** Characters of the text; billed only when `cached` is false. */
      chars: number;
      cached: boolean;
      caption: string;
    };

export interface SpeakService {
  /** Cheap checks needing no I/O, run before the interaction is acknowledged. */
  precheck(options: SpeakOptions): { kind: "ok" } | { kind: "long"; chars: number; limit: number };
  speak(input: SpeakInput): Promise<SpeakResult>;
}

export function createSpeakService(deps: SpeakServiceDeps): SpeakService {
  const { provider, cache, logger, config } = deps;

  function precheck(options: SpeakOptions) {
    const plan = planSpeech({ options, config });
    const chars = [...plan.request.text].length;
    if (chars > config.syncMaxChars) return { kind: "long" as const, chars, limit: config.syncMaxChars };
    return { kind: "ok" as const };
  }

  async function lookup(key: string): Promise<CachedAudio | undefined> {
    try {
      return await cache.get(key);
    } catch (err) {
      logger.warn({ err }, "audio cache read failed; synthesizing instead");
      return undefined;
    }
  }

  async function store(key: string, value: CachedAudio): Promise<void> {
    try {
      await cache.set(key, value);
    } catch (err) {
      logger.warn({ err }, "audio cache write failed");
    }
  }

  return {
    precheck,
    async speak(input) {
      const planned = await deps.planner.speech({
        kind: "speak",
        actor: input.actor,
        options: input.options,
      });
      const { plan, chars } = planned;
      try {
        if (chars > config.syncMaxChars) return { kind: "long", chars, limit: config.syncMaxChars };
        const request = plan.request;
        if (request.format === "mp3") {
          request.bitrate = chooseMp3Bitrate({
            chars,
            speed: request.speed,
            requested: request.bitrate,
            limitBytes: input.attachmentSizeLimit,
          });
        }
        const key = audioCacheKey({
          provider: provider.name,
          request,
          variant: plan.voiceMessage ? "voice-message" : undefined,
        });
        let entry = await lookup(key);
        const cached = entry !== undefined;
        if (!entry) {
          const reservation = await planned.reserve();
          const notify = input.notifyWaiting;
          const waiting = notify
            ? createWaitingNotice({
                notify,
                onError: (err) => logger.warn({ err }, "could not show the place in line"),
              })
            : undefined;
          let result: SynthesisResult;
          try {
            const call = callOptions(input.deadline);
            if (waiting) call.onQueued = waiting.onQueued;
            result = await provider.synthesize(request, call);
          } catch (err) {
            await waiting?.stop();
            // A refused or failed synthesis is not billed by the provider.
            await reservation.release();
            throw err;
          }
          await waiting?.stop();
          await reservation.settle(result.usageCharacters ?? chars);
          if (plan.voiceMessage) {
            const vm = deps.toVoiceMessage({
              pcm: result.audio,
              sampleRate: result.sampleRate,
              channels: result.channels,
            });
            entry = {
              audio: vm.ogg,
              format: "ogg",
              sampleRate: 48000,
              channels: 1,
              durationMs: Math.round(vm.durationSecs * 1000),
              usageCharacters: result.usageCharacters,
              createdAt: Date.now(),
              meta: { durationSecs: vm.durationSecs, waveform: vm.waveform },
            };
          } else {
            entry = {
              audio: result.audio,
              format: result.format,
              sampleRate: result.sampleRate,
              channels: result.channels,
              durationMs: result.durationMs,
              usageCharacters: result.usageCharacters,
              createdAt: Date.now(),
            };
          }
          await store(key, entry);
        }
        deps.users.rememberVoice(input.actor.userId, request.voiceId).catch((err: unknown) => {
          logger.warn({ err }, "could not remember the voice");
        });

        let files: AudioFile[] = [];
        let voiceMessage: (VoiceMessageAudio & { file: AudioFile }) | undefined;
        if (plan.voiceMessage) {
          const meta = entry.meta as { durationSecs?: number; waveform?: string } | undefined;
          if (entry.audio.length > input.attachmentSizeLimit) {
            throw new UserFacingError(
              "This voice message would be larger than the upload limit here. Try a shorter text.",
            );
          }
          voiceMessage = {
            ogg: entry.audio,
            durationSecs: meta?.durationSecs ?? (entry.durationMs ?? 0) / 1000,
            waveform: meta?.waveform ?? "",
            file: { name: "voice-message.ogg", data: entry.audio, contentType: CONTENT_TYPES.ogg! },
          };
        } else {
          files = splitToFit(entry.audio, entry.format, input.attachmentSizeLimit, "speech");
        }
        return {
          kind: "audio",
          plan,
          files,
          voiceMessage,
          durationMs: entry.durationMs,
          chars,
          cached,
          caption: caption(request.voiceId, entry.durationMs, chars, files.length),
        };
      } finally {
        planned.done();
      }
    },
  };
}

/** The provider call ends by the interaction's deadline: a late answer could not be posted anyway. */
function callOptions(deadline: number | undefined): CallOptions {
  if (deadline === undefined) return {};
  const left = deadline - Date.now();
  if (left <= 0) throw new UserFacingError("This request waited too long to start. Please try again.");
  return { signal: AbortSignal.timeout(left), deadline: performance.now() + left };
}

export function caption(
  voiceId: string,
  durationMs: number | undefined,
  chars: number,
  parts: number,
): string {
  // Backticks keep ids like Sweet_Girl_2 from turning into italics.
  const pieces = [`🔊 \`${voiceId}\``];
  if (durationMs !== undefined) pieces.push(`${(durationMs / 1000).toFixed(1)} s`);
  pieces.push(`${chars} character${chars === 1 ? "" : "s"}`);
  if (parts > 1) pieces.push(`${parts} parts`);
  return pieces.join(" · ");
}
