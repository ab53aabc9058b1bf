import type { Logger } from "../logger.ts";
import { describeTtsError, TtsError } from "../speech/errors.ts";
import { userMention } from "../text/markup.ts";
import { UserFacingError } from "../user-facing-error.ts";
import type { PlayItem } from "./guild-player.ts";
import type { SourceOutcome } from "./speech-source.ts";

/**
 * What happens once a clip's synthesis is over: the characters are billed (the provider charged for
 * them; a cached clip costs nothing), and a failure is told in the bound text channel, since the
 * member who queued it may have long left the interaction.
 */
export function createSettleHandler(deps: {
  post(channelId: string, content: string): Promise<void>;
  logger: Logger;
  /** Counts each clip by outcome. */
  count?(outcome: string): void;
}) {
  return (outcome: SourceOutcome, item: PlayItem & { guildId: string; textChannelId: string }): void => {
    deps.count?.(outcomeLabel(outcome));
    const billed = outcome.ok ? (outcome.cached ? 0 : (outcome.usageCharacters ?? item.chars)) : 0;
    // A clip that failed or was skipped midway was still charged for by the provider.
    const partial = !outcome.ok && outcome.partial ? item.chars : 0;
    const chars = billed || partial;
    // The clip's characters were reserved when it was queued; now they become what was billed.
    if (item.reservation) void (chars > 0 ? item.reservation.settle(chars) : item.reservation.release());
    if (outcome.ok || outcome.aborted) return;
    const err = outcome.error;
    deps.logger[err instanceof TtsError || err instanceof UserFacingError ? "warn" : "error"](
      { err, guild: item.guildId, user: item.userId },
      "a voice clip could not be synthesized",
    );
    const reason = describePlaybackError(err);
    deps
      .post(item.textChannelId, `⚠️ Could not read "${item.label}" for ${userMention(item.userId)}: ${reason}`)
      .catch((postErr: unknown) => deps.logger.debug({ err: postErr }, "could not post a voice error"));
  };
}

export function describePlaybackError(err: unknown): string {
  if (err instanceof UserFacingError) return err.message;
  if (err instanceof TtsError) return describeTtsError(err);
  return "something went wrong on our side; it has been logged.";
}

function outcomeLabel(outcome: SourceOutcome): string {
  if (outcome.ok) return outcome.cached ? "cached" : "ok";
  if (outcome.aborted) return "skipped";
  return outcome.error instanceof TtsError ? outcome.error.kind : "error";
}
