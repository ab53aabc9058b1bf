/**
 * Deciding when auto-read says "<name> said" before a message. Hearing the name before every line of a
 * conversation is tiring, but after a pause listeners have lost track of who is talking, so the name
 * is spoken when the speaker changes or when that speaker has not been announced for a while.
 *
 * Only the last announced speaker per guild is kept: a change of speaker always announces, so nothing
 * older could change an answer, and memory stays bounded by the number of guilds.
 */

export const DEFAULT_SPEAKER_GAP_MS = 60_000;

export interface SpeakerPrefixOptions {
  /** Time after which the same speaker is announced again. Default 60 s. */
  gapMs?: number;
}

export interface SpeakerPrefix {
  /**
   * `"<name> said"` when the name should be spoken before this message, otherwise undefined. Call it
   * once per message that is actually read: a call that returns a prefix records the announcement.
   */
  prefix(guildId: string, speakerId: string, name: string, now: number): string | undefined;
  /** Forgets the guild's last speaker, e.g. when the bot leaves or joins a voice channel. */
  reset(guildId: string): void;
}

interface Announced {
  speakerId: string;
  at: number;
}

export function createSpeakerPrefix(opts: SpeakerPrefixOptions = {}): SpeakerPrefix {
  const gapMs = Math.max(0, opts.gapMs ?? DEFAULT_SPEAKER_GAP_MS);
  const last = new Map<string, Announced>();

  return {
    prefix(guildId, speakerId, name, now) {
      const previous = last.get(guildId);
      // "More than" the gap: at exactly the gap the speaker is still current. A clock that went
      // backwards counts as no time passed.
      if (previous?.speakerId === speakerId && now - previous.at <= gapMs) return undefined;
      last.set(guildId, { speakerId, at: now });
      const spoken = name.trim();
      return `${spoken === "" ? "someone" : spoken} said`;
    },
    reset(guildId) {
      last.delete(guildId);
    },
  };
}
