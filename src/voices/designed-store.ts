import { z } from "zod";
import type { KeyValue } from "../storage/key-value.ts";
import { createKeyedSerialQueue } from "../storage/record-kit.ts";

/**
 * Designed voices as the bot keeps them: per server, each owned by the member who designed it, and
 * usable by everyone there once a moderator shares it. One Keyv key per server holds its list (bounded
 * by the per-member and per-server caps), so every read is one get and every change one set, made one
 * at a time per server.
 */

/** Letters, digits, spaces, `-` and `'`: a name people read and type, never markup or a mention. */
export const DESIGNED_NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} '-]*$/u;
export const DESIGNED_NAME_MAX = 32;

export const DesignedVoiceSchema = z.object({
  /** The provider's voice id (ours, chosen before the call; see designedVoiceId). */
  voiceId: z.string().min(8).max(256),
  guildId: z.string().min(1),
  ownerId: z.string().min(1),
  name: z.string().min(1).max(DESIGNED_NAME_MAX).regex(DESIGNED_NAME_PATTERN),
  prompt: z.string().max(2000),
  /** `pending` while the provider is asked; a pending record a crash left behind is cleaned up later. */
  state: z.enum(["pending", "ready"]),
  shared: z.boolean().default(false),
  createdAt: z.number(),
});
export type DesignedVoice = z.infer<typeof DesignedVoiceSchema>;

const GuildListSchema = z.array(z.unknown());

export interface DesignedVoiceStore {
  /** Every record of the server (corrupt ones dropped). */
  list(guildId: string): Promise<DesignedVoice[]>;
  /**
   * Changes the server's list under its lock: `change` gets the current records and returns the new
   * list (or throws, leaving it as it was).
   */
  update<T>(
    guildId: string,
    change: (records: DesignedVoice[]) => { records: DesignedVoice[]; result: T },
  ): Promise<T>;
}

export function createDesignedVoiceStore(kv: Pick<KeyValue, "get" | "set">): DesignedVoiceStore {
  const serially = createKeyedSerialQueue();
  const key = (guildId: string) => `guild:${guildId}`;

  async function read(guildId: string): Promise<DesignedVoice[]> {
    const raw = GuildListSchema.safeParse(await kv.get(key(guildId)));
    if (!raw.success) return [];
    const out: DesignedVoice[] = [];
    for (const item of raw.data) {
      const parsed = DesignedVoiceSchema.safeParse(item);
      // A record of another server can never be in this list (checked again on every action).
      if (parsed.success && parsed.data.guildId === guildId) out.push(parsed.data);
    }
    return out;
  }

  return {
    list: read,
    update(guildId, change) {
      return serially(guildId, async () => {
        const { records, result } = change(await read(guildId));
        await kv.set(key(guildId), records);
        return result;
      });
    },
  };
}
