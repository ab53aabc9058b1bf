import { z } from "zod";
import type { KeyValue } from "../storage/key-value.ts";
import { type VoiceDefaults, VoiceDefaultsSchema } from "./voice-defaults.ts";

/**
 * A member's saved voice defaults, recently used voices and whether they may be read aloud, kept in a
 * key-value store (Keyv). The opt-out is the member's own and holds in every server.
 */

export const UserRecordSchema = z.object({
  defaults: VoiceDefaultsSchema.default({}),
  recentVoices: z.array(z.string()).default([]),
  /**
   * The member asked not to be read: auto-read skips their messages, join/leave announcements skip
   * them, and "Read aloud" on their messages works only for themselves.
   */
  optedOut: z.boolean().default(false),
});
export type UserRecord = z.infer<typeof UserRecordSchema>;

export const MAX_RECENT_VOICES = 5;

export interface UserSettingsStore {
  get(userId: string): Promise<UserRecord>;
  setDefaults(userId: string, patch: VoiceDefaults): Promise<UserRecord>;
  resetDefaults(userId: string): Promise<UserRecord>;
  /** Records whether the member opted out of being read aloud. */
  setOptedOut(userId: string, optedOut: boolean): Promise<UserRecord>;
  /** Moves the voice to the front of the member's recent list (for autocomplete). */
  rememberVoice(userId: string, voiceId: string): Promise<void>;
}

export function createUserSettingsStore(kv: KeyValue): UserSettingsStore {
  async function get(userId: string): Promise<UserRecord> {
    const raw = await kv.get(userId);
    const parsed = UserRecordSchema.safeParse(raw ?? {});
    // A record from an older or broken version is replaced rather than failing every command.
    return parsed.success ? parsed.data : UserRecordSchema.parse({});
  }
  async function put(userId: string, record: UserRecord): Promise<UserRecord> {
    await kv.set(userId, record);
    return record;
  }
  return {
    get,
    async setDefaults(userId, patch) {
      const record = await get(userId);
      const defaults = VoiceDefaultsSchema.parse({ ...record.defaults, ...stripUndefined(patch) });
      return put(userId, { ...record, defaults });
    },
    async resetDefaults(userId) {
      const record = await get(userId);
      return put(userId, { ...record, defaults: {} });
    },
    async setOptedOut(userId, optedOut) {
      const record = await get(userId);
      return put(userId, { ...record, optedOut });
    },
    async rememberVoice(userId, voiceId) {
      const record = await get(userId);
      if (record.recentVoices[0] === voiceId) return;
      const recentVoices = [voiceId, ...record.recentVoices.filter((v) => v !== voiceId)].slice(
        0,
        MAX_RECENT_VOICES,
      );
      await put(userId, { ...record, recentVoices });
    },
  };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
