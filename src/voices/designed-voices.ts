import { randomBytes } from "node:crypto";
import { TtsError } from "../speech/errors.ts";
import type { TtsProvider } from "../speech/types.ts";
import { UserFacingError } from "../user-facing-error.ts";
import {
  DESIGNED_NAME_MAX,
  DESIGNED_NAME_PATTERN,
  type DesignedVoice,
  type DesignedVoiceStore,
} from "./designed-store.ts";

/**
 * Designed voices: a member describes a voice, the provider designs it (and reads a preview text in
 * it), and the bot keeps it under a name for that member in that server. A moderator may share one
 * with the whole server; the owner (or a moderator, for shared ones) may delete it, which deletes it at
 * the provider too. Every action reads the record from the actor's own server, so no id or name can
 * reach another server's voice. The paid design call is reserved through the planner first (`reserve`)
 * against the member's budgets, as MiniMax bills the preview text's characters.
 */

/** Every designed voice id starts with this, so the planner can tell one apart without a lookup. */
export const DESIGNED_VOICE_PREFIX = "designed-";

export const DESIGNED_LIMITS = {
  perMember: 5,
  perGuild: 50,
  /** A pending record older than this was cut off by a crash or a lost answer. */
  pendingStaleMs: 10 * 60_000,
} as const;

export type DesignAccess = "members" | "moderators";

export interface DesignActor {
  userId: string;
  guildId: string | null;
  roleIds: readonly string[];
  isManager: boolean;
  /** Manage Server or the server's moderator role (the `/settings` moderator rule). */
  isModerator: boolean;
}

export interface DesignHold {
  settle(actual?: number): Promise<void>;
  release(): Promise<void>;
}

export interface DesignedVoicesDeps {
  store: DesignedVoiceStore;
  provider: Pick<TtsProvider, "capabilities" | "voiceDesign">;
  /** The server's `voice_design_access` setting. */
  designAccess: (guildId: string) => Promise<DesignAccess>;
  /** The planner's design path: checks access and reserves the characters against the member's budgets. */
  reserve: (input: { actor: DesignActor; holdId: string; chars: number }) => Promise<DesignHold>;
  logger: { warn(obj: object, msg?: string): void };
  now?: () => number;
  newVoiceId?: () => string;
  /** Longest a design call may take. Default 60 s. */
  timeoutMs?: number;
}

export interface DesignInput {
  actor: DesignActor;
  name: string;
  prompt: string;
  previewText: string;
}

export interface DesignedVoiceChoice {
  name: string;
  value: string;
}

export interface DesignedVoices {
  /** Whether the provider can design voices at all. */
  readonly supported: boolean;
  design(input: DesignInput): Promise<{ voice: DesignedVoice; trial: Buffer }>;
  /** The voices the member may use in this server: their own, then the shared ones. */
  usable(guildId: string, userId: string): Promise<DesignedVoice[]>;
  /** Autocomplete choices for a voice option (value: the voice id). */
  choices(guildId: string, userId: string, query: string): Promise<DesignedVoiceChoice[]>;
  /** Voices the actor may delete: their own, and (moderators) the shared ones. */
  deletable(actor: DesignActor, query: string): Promise<DesignedVoiceChoice[]>;
  share(actor: DesignActor, ref: string, shared: boolean): Promise<DesignedVoice>;
  delete(actor: DesignActor, ref: string): Promise<DesignedVoice>;
  /**
   * The voice id a request may use: a designed voice's name becomes its id, and a designed id must be
   * the actor's own or shared in the actor's server. Anything else is returned as it is.
   */
  resolve(voice: string, actor: { userId: string; guildId: string | null }): Promise<string>;
}

/** `designed-<time>-<random>`: starts with a letter, holds digits, fits MiniMax's voice id rule. */
export function designedVoiceId(now = Date.now()): string {
  return `${DESIGNED_VOICE_PREFIX}${now.toString(36)}-${randomBytes(6).toString("hex")}`;
}

export const isDesignedVoiceId = (id: string) => id.startsWith(DESIGNED_VOICE_PREFIX);

export const NO_DESIGN_MESSAGE =
  "This bot's speech provider cannot design voices (designed voices need MiniMax directly).";

/** A name as stored: trimmed, inner spaces collapsed; refused when it is not a plain name. */
export function cleanDesignedName(raw: string): string {
  const name = raw.trim().replace(/\s+/g, " ");
  if (name.length === 0 || [...name].length > DESIGNED_NAME_MAX || !DESIGNED_NAME_PATTERN.test(name)) {
    throw new UserFacingError(
      `A voice name is 1–${DESIGNED_NAME_MAX} letters, digits, spaces, - or ' (for example “Old Captain”).`,
    );
  }
  return name;
}

const sameName = (a: string, b: string) => a.toLocaleLowerCase() === b.toLocaleLowerCase();

function guildOf(actor: { guildId: string | null }): string {
  if (!actor.guildId) throw new UserFacingError("Designed voices belong to a server: use this in a server.");
  return actor.guildId;
}

/** Whether the provider answered (so nothing was made, and nothing billed). */
function providerAnswered(err: unknown): boolean {
  return err instanceof TtsError && (err.code !== undefined || err.httpStatus !== undefined);
}

export function createDesignedVoices(deps: DesignedVoicesDeps): DesignedVoices {
  const now = deps.now ?? Date.now;
  const newVoiceId = deps.newVoiceId ?? (() => designedVoiceId(now()));
  const api = deps.provider.capabilities.voiceDesign ? deps.provider.voiceDesign : undefined;

  const isStale = (v: DesignedVoice) =>
    v.state === "pending" && now() - v.createdAt > DESIGNED_LIMITS.pendingStaleMs;

  async function usable(guildId: string, userId: string): Promise<DesignedVoice[]> {
    const all = (await deps.store.list(guildId)).filter((v) => v.state === "ready");
    return [
      ...all.filter((v) => v.ownerId === userId),
      ...all.filter((v) => v.ownerId !== userId && v.shared),
    ];
  }

  /** A voice of the actor's server by id or name, among `candidates`. */
  function find(candidates: DesignedVoice[], ref: string): DesignedVoice | undefined {
    const r = ref.trim();
    return candidates.find((v) => v.voiceId === r) ?? candidates.find((v) => sameName(v.name, r));
  }

  function label(v: DesignedVoice, userId: string): string {
    const whose = v.ownerId === userId ? (v.shared ? "yours, shared" : "yours") : "shared";
    return `🎨 ${v.name} (designed, ${whose})`.slice(0, 100);
  }

  const matches = (v: DesignedVoice, query: string) => {
    const q = query.trim().toLocaleLowerCase();
    return q === "" || v.name.toLocaleLowerCase().includes(q) || v.voiceId.includes(q);
  };

  /** Pending records a crash left: deleted at the provider (it may have made the voice), then forgotten. */
  async function cleanStale(guildId: string): Promise<void> {
    const stale = (await deps.store.list(guildId)).filter(isStale);
    for (const v of stale) {
      try {
        await api?.delete(v.voiceId, { signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000) });
      } catch (err) {
        deps.logger.warn({ err, voiceId: v.voiceId }, "could not delete an unfinished designed voice");
        continue;
      }
      await deps.store.update(guildId, (records) => ({
        records: records.filter((r) => r.voiceId !== v.voiceId),
        result: undefined,
      }));
    }
  }

  return {
    supported: api !== undefined,

    async design({ actor, name: rawName, prompt, previewText }) {
      if (!api) throw new UserFacingError(NO_DESIGN_MESSAGE);
      const guildId = guildOf(actor);
      if ((await deps.designAccess(guildId)) === "moderators" && !actor.isModerator) {
        throw new UserFacingError("On this server only moderators can design voices.");
      }
      const name = cleanDesignedName(rawName);
      await cleanStale(guildId);
      const voiceId = newVoiceId();
      const record: DesignedVoice = {
        voiceId,
        guildId,
        ownerId: actor.userId,
        name,
        prompt,
        state: "pending",
        shared: false,
        createdAt: now(),
      };
      // Name and caps are checked, and the record claimed, before anything is paid.
      await deps.store.update(guildId, (records) => {
        const mine = records.filter((v) => v.ownerId === actor.userId && !isStale(v));
        if (mine.some((v) => sameName(v.name, name))) {
          throw new UserFacingError(`You already have a designed voice named “${name}” here.`);
        }
        if (mine.length >= DESIGNED_LIMITS.perMember) {
          throw new UserFacingError(
            `You have ${mine.length} designed voices here, the most a member may keep. Delete one with /voice design-delete first.`,
          );
        }
        if (records.length >= DESIGNED_LIMITS.perGuild) {
          throw new UserFacingError(
            `This server has ${records.length} designed voices, the most it may keep. A moderator can delete shared ones.`,
          );
        }
        return { records: [...records, record], result: undefined };
      });
      const forget = () =>
        deps.store.update(guildId, (records) => ({
          records: records.filter((v) => v.voiceId !== voiceId),
          result: undefined,
        }));
      let hold: DesignHold;
      try {
        hold = await deps.reserve({ actor, holdId: `design:${voiceId}`, chars: [...previewText].length });
      } catch (err) {
        await forget();
        throw err;
      }
      let trial: Buffer;
      try {
        const made = await api.design(
          { prompt, previewText, voiceId },
          { signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000) },
        );
        trial = made.trialAudio;
      } catch (err) {
        if (providerAnswered(err)) {
          // MiniMax refused: nothing was designed or billed.
          await hold.release();
          await forget();
        } else {
          // No answer: the voice may exist and the preview may be billed. Bill conservatively and
          // leave the pending record for cleanStale to delete at the provider.
          await hold.settle();
        }
        throw err;
      }
      await hold.settle([...previewText].length);
      const ready = await deps.store.update(guildId, (records) => {
        const next = records.map((v) => (v.voiceId === voiceId ? { ...v, state: "ready" as const } : v));
        return { records: next, result: next.find((v) => v.voiceId === voiceId) };
      });
      return { voice: ready ?? { ...record, state: "ready" }, trial };
    },

    usable,

    async choices(guildId, userId, query) {
      return (await usable(guildId, userId))
        .filter((v) => matches(v, query))
        .slice(0, 25)
        .map((v) => ({ name: label(v, userId), value: v.voiceId }));
    },

    async deletable(actor, query) {
      const guildId = guildOf(actor);
      const all = (await deps.store.list(guildId)).filter((v) => v.state === "ready");
      return all
        .filter((v) => v.ownerId === actor.userId || (actor.isModerator && v.shared))
        .filter((v) => matches(v, query))
        .slice(0, 25)
        .map((v) => ({ name: label(v, actor.userId), value: v.voiceId }));
    },

    async share(actor, ref, shared) {
      const guildId = guildOf(actor);
      if (!actor.isModerator) throw new UserFacingError("Only moderators can share designed voices.");
      return deps.store.update(guildId, (records) => {
        const ready = records.filter((v) => v.state === "ready");
        // A moderator shares their own voices, and may unshare any shared one.
        const candidates = ready.filter((v) => v.ownerId === actor.userId || (!shared && v.shared));
        const voice = find(candidates, ref);
        if (!voice) throw new UserFacingError("You have no designed voice by that name here.");
        const updated = { ...voice, shared };
        return { records: records.map((v) => (v.voiceId === voice.voiceId ? updated : v)), result: updated };
      });
    },

    async delete(actor, ref) {
      const guildId = guildOf(actor);
      const all = (await deps.store.list(guildId)).filter((v) => v.state === "ready");
      const voice = find(
        all.filter((v) => v.ownerId === actor.userId || (actor.isModerator && v.shared)),
        ref,
      );
      if (!voice) throw new UserFacingError("You have no designed voice by that name here.");
      if (api) {
        // At the provider first: a voice the bot forgot but MiniMax kept would be an orphan.
        await api.delete(voice.voiceId, { signal: AbortSignal.timeout(deps.timeoutMs ?? 60_000) });
      }
      await deps.store.update(guildId, (records) => ({
        records: records.filter((v) => v.voiceId !== voice.voiceId),
        result: undefined,
      }));
      return voice;
    },

    async resolve(voice, actor) {
      const designedId = isDesignedVoiceId(voice);
      if (!actor.guildId) {
        if (designedId)
          throw new UserFacingError("Designed voices work only in the server they were made in.");
        return voice;
      }
      const mine = await usable(actor.guildId, actor.userId);
      if (designedId) {
        if (mine.some((v) => v.voiceId === voice)) return voice;
        throw new UserFacingError(
          "That designed voice is not available to you here: designed voices work in their own server, for their owner, or for everyone once a moderator shares them.",
        );
      }
      return mine.find((v) => sameName(v.name, voice))?.voiceId ?? voice;
    },
  };
}
