/**
 * Deciding when auto-read names the speaker before a message. Hearing the name before every line of a
 * conversation is tiring, but after a pause listeners have lost track of who is talking, so the name
 * is spoken when the speaker changes or when that speaker has not been named for a while.
 *
 * Only the last named speaker per guild is kept: a change of speaker always names, so nothing
 * older could change an answer, and memory stays bounded by the number of guilds.
 */

export const DEFAULT_SPEAKER_GAP_MS = 60_000;

export interface SpeakerPrefixOptions {
  /** Time after which the same speaker is named again. Default 60 s. */
  gapMs?: number;
}

export interface SpeakerPrefix {
  /**
   * Whether the speaker should be named before this message. Call it once per message that is
   * actually read: a call that answers true records the naming.
   */
  shouldName(guildId: string, speakerId: string, now: number): boolean;
  /** Records that a message named the speaker anyway (say, "Alice sent an image"). */
  named(guildId: string, speakerId: string, now: number): void;
  /** Forgets the guild's last speaker, e.g. when the bot leaves or joins a voice channel. */
  reset(guildId: string): void;
}

interface Named {
  speakerId: string;
  at: number;
}

export function createSpeakerPrefix(opts: SpeakerPrefixOptions = {}): SpeakerPrefix {
  const gapMs = Math.max(0, opts.gapMs ?? DEFAULT_SPEAKER_GAP_MS);
  const last = new Map<string, Named>();

  return {
    shouldName(guildId, speakerId, now) {
      const previous = last.get(guildId);
      // "More than" the gap: at exactly the gap the speaker is still current. A clock that went
      // backwards counts as no time passed.
      if (previous?.speakerId === speakerId && now - previous.at <= gapMs) return false;
      last.set(guildId, { speakerId, at: now });
      return true;
    },
    named(guildId, speakerId, now) {
      last.set(guildId, { speakerId, at: now });
    },
    reset(guildId) {
      last.delete(guildId);
    },
  };
}
