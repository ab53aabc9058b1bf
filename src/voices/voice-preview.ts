import { createHash } from "node:crypto";
import type { SynthesisResult, TtsProvider } from "../speech/types.ts";
import { UserFacingError } from "../user-facing-error.ts";
import { isDesignedVoiceId } from "./designed-voices.ts";
import type { PreviewLimiter } from "./preview-limits.ts";
import { previewText } from "./preview-text.ts";

/**
 * Voice previews for `/voices`: a short sentence in a voice, synthesized once per provider, voice and
 * model and served from the audio cache afterwards (shared by every process in Redis mode). Previews
 * cost no member any budget, but each press is rate-limited, and the paid synthesis is still decided
 * by the request planner (`account`), which holds its characters in the ledger's preview account.
 */

/** The audio cache as previews use it (structurally the speak layer's AudioCache). */
export interface PreviewCache {
  get(key: string): Promise<PreviewCacheEntry | undefined>;
  set(key: string, value: PreviewCacheEntry): Promise<void>;
}

export interface PreviewCacheEntry {
  audio: Buffer;
  format: string;
  sampleRate: number;
  channels: number;
  durationMs?: number | undefined;
  usageCharacters?: number | undefined;
  createdAt: number;
}

/** A hold from the planner (settled to what was billed, or released when nothing was). */
export interface PreviewHold {
  settle(actual?: number): Promise<void>;
  release(): Promise<void>;
}

export interface PreviewActor {
  userId: string;
  guildId: string | null;
  roleIds: readonly string[];
  isManager: boolean;
}

export interface VoicePreviewDeps {
  provider: Pick<TtsProvider, "name" | "synthesize">;
  cache: PreviewCache;
  /** The planner's preview path: holds the characters outside any member's budget. */
  account: (input: {
    actor: PreviewActor;
    voiceId: string;
    model: string;
    chars: number;
  }) => Promise<PreviewHold>;
  limiter: PreviewLimiter;
  logger: { warn(obj: object, msg?: string): void };
  /** Longest a preview synthesis may take. Default 30 s. */
  timeoutMs?: number;
  now?: () => number;
}

export interface VoicePreviewClip {
  audio: Buffer;
  /** Always mp3: a small file every Discord client plays inline. */
  format: "mp3";
  durationMs: number | undefined;
  text: string;
  /** Served from the cache (no provider call). */
  cached: boolean;
}

export interface VoicePreviews {
  play(input: { actor: PreviewActor; voiceId: string; model: string }): Promise<VoicePreviewClip>;
}

/** The cache key of a preview: provider, model, voice and the sentence (a new sentence is a new clip). */
export function previewCacheKey(provider: string, model: string, voiceId: string, text: string): string {
  const digest = createHash("sha256")
    .update(JSON.stringify({ provider, model, voiceId, text, v: 1 }))
    .digest("hex");
  return `preview:${digest}`;
}

export function createVoicePreviews(deps: VoicePreviewDeps): VoicePreviews {
  const now = deps.now ?? Date.now;
  /** Presses of the same voice at once share one synthesis (in this process). */
  const inflight = new Map<string, Promise<PreviewCacheEntry>>();

  async function lookup(key: string): Promise<PreviewCacheEntry | undefined> {
    try {
      return await deps.cache.get(key);
    } catch (err) {
      deps.logger.warn({ err }, "audio cache read failed for a voice preview; synthesizing instead");
      return undefined;
    }
  }

  async function synthesize(
    actor: PreviewActor,
    voiceId: string,
    model: string,
    text: string,
    key: string,
  ): Promise<PreviewCacheEntry> {
    const chars = [...text].length;
    const hold = await deps.account({ actor, voiceId, model, chars });
    let result: SynthesisResult;
    try {
      result = await deps.provider.synthesize(
        { model, voiceId, text, format: "mp3", sampleRate: 32000, bitrate: 128000, channels: 1 },
        { signal: AbortSignal.timeout(deps.timeoutMs ?? 30_000) },
      );
    } catch (err) {
      // A refused or failed synthesis is not billed.
      await hold.release();
      throw err;
    }
    await hold.settle(result.usageCharacters ?? chars);
    const entry: PreviewCacheEntry = {
      audio: result.audio,
      format: result.format,
      sampleRate: result.sampleRate,
      channels: result.channels,
      durationMs: result.durationMs,
      usageCharacters: result.usageCharacters,
      createdAt: now(),
    };
    try {
      await deps.cache.set(key, entry);
    } catch (err) {
      deps.logger.warn({ err, voiceId }, "audio cache write failed for a voice preview");
    }
    return entry;
  }

  return {
    async play({ actor, voiceId, model }) {
      // The id comes from a button's custom id: only catalog voices are previewed (a designed voice
      // belongs to its owner's server, and has its own trial clip).
      if (voiceId.length === 0 || voiceId.length > 256 || isDesignedVoiceId(voiceId)) {
        throw new UserFacingError("That voice cannot be previewed here.");
      }
      await deps.limiter.consume(actor.userId, actor.guildId);
      const text = previewText(voiceId);
      const key = previewCacheKey(deps.provider.name, model, voiceId, text);
      const hit = await lookup(key);
      if (hit) return { audio: hit.audio, format: "mp3", durationMs: hit.durationMs, text, cached: true };
      let running = inflight.get(key);
      const shared = running !== undefined;
      if (!running) {
        running = synthesize(actor, voiceId, model, text, key).finally(() => inflight.delete(key));
        inflight.set(key, running);
      }
      const entry = await running;
      return { audio: entry.audio, format: "mp3", durationMs: entry.durationMs, text, cached: shared };
    },
  };
}
