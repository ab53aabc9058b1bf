import { entersState, VoiceConnectionDisconnectReason, VoiceConnectionStatus } from "@discordjs/voice";
import type { Logger } from "../logger.ts";
import { guardDave } from "./dave-guard.ts";
import type { LeaveReason, Session } from "./session.ts";

/**
 * Keeping a session's connection alive: a dropped connection is rejoined with a growing delay (up
 * to `REJOIN_ATTEMPTS`, then the session ends as failed); a move or removal (close code 4014) gets
 * `MOVE_GRACE_MS` to reconnect before it counts as a kick; DAVE trouble the library does not get
 * out of by itself forces a fresh voice handshake, and when fresh handshakes keep failing too (or the
 * server closes with 4017, DAVE required) the session ends with a notice instead of looping silently.
 */

const MOVE_GRACE_MS = 5000;
const STUCK_CHECK_MS = 2500;
const REJOIN_ATTEMPTS = 5;

export function supervise(
  session: Session,
  ctx: { logger: Logger; end(session: Session, reason: LeaveReason): void },
): void {
  const { logger, end } = ctx;
  const { connection } = session;
  connection.on("stateChange", (_old, state) => {
    if (session.leaving) return;
    if (state.status === VoiceConnectionStatus.Destroyed) {
      end(session, "failed");
      return;
    }
    if (state.status !== VoiceConnectionStatus.Disconnected) return;
    if (state.reason === VoiceConnectionDisconnectReason.WebSocketClose && state.closeCode === 4014) {
      // 4014: moved to another channel (a new connection follows) or removed from voice.
      entersState(connection, VoiceConnectionStatus.Connecting, MOVE_GRACE_MS).catch(() => {
        if (!session.leaving && connection.state.status === VoiceConnectionStatus.Disconnected) {
          end(session, "kicked");
        }
      });
      return;
    }
    if (connection.rejoinAttempts < REJOIN_ATTEMPTS) {
      const delay = (connection.rejoinAttempts + 1) * 1000;
      logger.warn(
        { guild: session.guildId, attempt: connection.rejoinAttempts + 1, reason: state.reason },
        "voice connection dropped; rejoining",
      );
      setTimeout(() => {
        if (!session.leaving && connection.state.status === VoiceConnectionStatus.Disconnected) {
          connection.rejoin();
        }
      }, delay).unref();
    } else {
      end(session, "failed");
    }
  });
  connection.on("error", (err) => {
    logger.warn({ err, guild: session.guildId }, "voice connection error");
  });
  let stuckTimer: NodeJS.Timeout | undefined;
  connection.on("debug", (message) => {
    if (session.dave.observe(message, Date.now())) {
      daveTrouble(`repeated DAVE recoveries (last: ${message})`);
      return;
    }
    // A recovery that never completes (no welcome comes back) is checked on a timer, not per line.
    if (session.dave.recovering && !stuckTimer) {
      stuckTimer = setInterval(() => {
        if (session.leaving || !session.dave.recovering) {
          clearInterval(stuckTimer);
          stuckTimer = undefined;
        } else if (session.dave.stuck(Date.now())) {
          clearInterval(stuckTimer);
          stuckTimer = undefined;
          daveTrouble("a DAVE recovery did not complete");
        }
      }, STUCK_CHECK_MS);
      stuckTimer.unref();
    }
  });
  guardDave(connection, {
    onDaveError(err, step) {
      logger.warn({ err, guild: session.guildId, step }, "a DAVE step failed; the group will recover");
      if (session.dave.failure(Date.now())) daveTrouble(`DAVE ${step} kept failing`);
    },
    onDaveRequired() {
      if (session.leaving) return;
      logger.error(
        { guild: session.guildId, channel: session.voiceChannelId, closeCode: 4017 },
        "the voice server requires a DAVE (end-to-end encryption) version this bot does not offer; leaving voice",
      );
      end(session, "dave-required");
    },
  });

  function daveTrouble(cause: string): void {
    if (session.leaving) return;
    if (session.dave.rejoined(Date.now())) {
      logger.error(
        { guild: session.guildId, channel: session.voiceChannelId, cause },
        "DAVE keeps failing after fresh voice handshakes; leaving voice",
      );
      end(session, "dave-failed");
      return;
    }
    logger.warn(
      { guild: session.guildId, cause },
      "DAVE is not recovering; rejoining voice with a fresh handshake",
    );
    rejoinFresh(session);
  }
}

/**
 * A new voice server handshake (and so a new DAVE group session) without leaving the channel: the
 * same op 4 the library itself sends after an unexpected close.
 */
function rejoinFresh(session: Session): void {
  session.connection.rejoin();
}
