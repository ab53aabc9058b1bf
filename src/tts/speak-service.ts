import type { Logger } from "../logger.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { AudioCache, CachedAudio } from "./audio-cache.ts";
import { audioCacheKey } from "./cache-key.ts";
import { type AudioFile, CONTENT_TYPES, chooseMp3Bitrate, splitToFit } from "./fit-attachments.ts";
import type { UserGuards } from "./guards.ts";
import { planSpeech, type SpeakOptions, type SpeakPlan, type VoiceDefaults } from "./speak-options.ts";
import type { SpeechRequest, TtsProvider } from "./types.ts";
import type { UserSettingsStore } from "./user-settings.ts";

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

export interface SpeakBudget {
  /** Throws a UserFacingError when the request would go over a budget. */
  check(guildId: string, userId: string, chars: number): Promise<void>;
  record(guildId: string, userId: string, chars: number): Promise<void>;
}

export interface SpeakServiceDeps {
  provider: TtsProvider;
  cache: AudioCache;
  guards: UserGuards;
  users: UserSettingsStore;
  /** Guild defaults (from server settings). */
  guildDefaults?: (guildId: string) => Promise<VoiceDefaults | undefined>;
  /** The guild's own per-member cooldown, when it set one. */
  guildCooldownMs?: (guildId: string) => Promise<number | undefined>;
  /** The guild's pronunciation dictionary, sent with every request from it. */
  guildPronunciation?: (guildId: string) => Promise<string[] | undefined>;
  toVoiceMessage: ToVoiceMessage;
  /** Character budgets: checked before a provider call, recorded after it. Cache hits cost nothing. */
  budget?: SpeakBudget;
  config: { model: string; voice: string; syncMaxChars: number };
  logger: Logger;
}

export interface SpeakInput {
  userId: string;
  guildId: string | null;
  options: SpeakOptions;
  /** The interaction's `attachment_size_limit`. */
  attachmentSizeLimit: number;
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
  /**
   * The request for a clip played in a voice channel, with the same defaults, dictionary, guards and
   * budget check as `speak`; the caller bills it with `budget.record` once the provider has answered.
   * `guard: false` skips the per-member cooldown (auto-read: messages are paced by chat itself).
   */
  planVoice(input: { userId: string; guildId: string; options: SpeakOptions; guard?: boolean }): Promise<{
    request: SpeechRequest;
    chars: number;
  }>;
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

  async function planRequest(input: { userId: string; guildId: string | null; options: SpeakOptions }) {
    const user = await deps.users.get(input.userId);
    const guild = input.guildId && deps.guildDefaults ? await deps.guildDefaults(input.guildId) : undefined;
    const plan = planSpeech({ options: input.options, user: user.defaults, guild, config });
    const tone =
      input.guildId && deps.guildPronunciation ? await deps.guildPronunciation(input.guildId) : undefined;
    if (tone && tone.length > 0) plan.request.pronunciation = tone;
    return plan;
  }

  return {
    precheck,
    async planVoice(input) {
      const { request } = await planRequest(input);
      const chars = [...request.text].length;
      if (chars > config.syncMaxChars) {
        throw new UserFacingError(
          `That text has ${chars} characters; voice playback takes at most ${config.syncMaxChars}. Use /narrate for long texts.`,
        );
      }
      if (input.guard !== false) {
        const cooldown = deps.guildCooldownMs ? await deps.guildCooldownMs(input.guildId) : undefined;
        deps.guards.acquire(input.userId, cooldown)();
      }
      if (deps.budget) await deps.budget.check(input.guildId, input.userId, chars);
      return { request, chars };
    },
    async speak(input) {
      const plan = await planRequest(input);
      const chars = [...plan.request.text].length;
      if (chars > config.syncMaxChars) return { kind: "long", chars, limit: config.syncMaxChars };

      const cooldown =
        input.guildId && deps.guildCooldownMs ? await deps.guildCooldownMs(input.guildId) : undefined;
      const release = deps.guards.acquire(input.userId, cooldown);
      try {
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
          if (input.guildId && deps.budget) await deps.budget.check(input.guildId, input.userId, chars);
          const result = await provider.synthesize(request);
          if (input.guildId && deps.budget) {
            await deps.budget
              .record(input.guildId, input.userId, result.usageCharacters ?? chars)
              .catch((err: unknown) => logger.warn({ err }, "could not record character usage"));
          }
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
        deps.users.rememberVoice(input.userId, request.voiceId).catch((err: unknown) => {
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
        release();
      }
    },
  };
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
