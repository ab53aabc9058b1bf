import { constants } from "node:os";
import { configSecrets, loadConfig, loadConfigOrExit } from "./config.ts";
import { createLogger } from "./logger.ts";

/**
 * Entry point: validate configuration first (and fail fast, without a stack trace, when it is wrong),
 * then build the app and log in. Signals shut it down gracefully; a crash (an uncaught exception or
 * an unhandled rejection) is logged and shuts it down too, then exits with code 1.
 */

/** How long a shutdown after a crash may take before the process exits anyway. */
const CRASH_SHUTDOWN_TIMEOUT_MS = 15_000;

/** Signals closer together than this are one request to stop; a later one forces the exit. */
const REPEATED_SIGNAL_MS = 1000;

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig({ requireDiscordToken: true }));
  const logger = createLogger({
    level: config.logLevel,
    secrets: configSecrets(config),
    pretty: config.nodeEnv === "development",
  });
  // Imported after the configuration check so a bad setup fails in milliseconds.
  const { createApp } = await import("./app.ts");
  const app = createApp(config, logger);

  let stopping = false;
  let crashed = false;
  let signalledAt = 0;
  const stop = (signal: "SIGINT" | "SIGTERM") => {
    if (stopping) {
      // Under `npm start`, Ctrl-C reaches the bot twice at once (from the terminal and forwarded by npm):
      // that is one request. A signal sent again later means "now": exit without waiting for the drain.
      const now = Date.now();
      if (signalledAt === 0) signalledAt = now;
      else if (now - signalledAt > REPEATED_SIGNAL_MS) {
        logger.warn({ signal }, "signalled again while shutting down; exiting at once");
        process.exit(128 + constants.signals[signal]);
      }
      return;
    }
    stopping = true;
    signalledAt = Date.now();
    logger.info({ signal }, "shutting down");
    app
      .stop()
      .then(() => process.exit(crashed ? 1 : 0))
      .catch((err: unknown) => {
        logger.error({ err }, "error during shutdown");
        process.exit(1);
      });
  };
  // `on`, not `once`: a second signal must not fall through to Node's default (an abrupt exit).
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  // After a crash the process state is unknown: stop what can be stopped (in-flight interactions
  // still get their answers, storage is closed), but never wait for ever, and exit 1 whatever happens.
  const crash = (origin: string, err: unknown) => {
    logger.fatal({ err, origin }, `${origin}; shutting down`);
    if (crashed) return;
    crashed = true;
    setTimeout(() => {
      logger.fatal({ timeoutMs: CRASH_SHUTDOWN_TIMEOUT_MS }, "shutdown after a crash took too long; exiting");
      process.exit(1);
    }, CRASH_SHUTDOWN_TIMEOUT_MS);
    // A signal's shutdown already under way finishes on its own, and then exits 1 as well.
    if (stopping) return;
    stopping = true;
    app
      .stop()
      .catch((stopErr: unknown) => logger.error({ err: stopErr }, "error during shutdown"))
      .finally(() => process.exit(1));
  };
  process.on("uncaughtException", (err) => crash("uncaught exception", err));
  process.on("unhandledRejection", (reason) => crash("unhandled promise rejection", reason));

  try {
    await app.start();
  } catch (err) {
    if (isSetupError(err)) {
      // Storage that cannot be opened, a refused token, an unreachable DISCORD_API_URL, a disallowed
      // intent: setup problems, like a bad variable, so one line that says what to change, no stack.
      process.stderr.write(`${err.message}\n`);
    } else {
      logger.fatal({ err }, "could not start the bot");
    }
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}

/** By name, so this file need not import the storage and Discord modules up front. */
function isSetupError(err: unknown): err is Error {
  return err instanceof Error && (err.name === "StorageError" || err.name === "DiscordSetupError");
}

main().catch((err: unknown) => {
  process.stderr.write(
    `Unexpected error while starting: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
