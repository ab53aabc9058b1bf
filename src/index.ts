import { configSecrets, loadConfig, loadConfigOrExit } from "./config.ts";
import { createLogger } from "./logger.ts";

/**
 * Entry point: validate configuration first (and fail fast, without a stack trace, when it is wrong),
 * then build the app and log in. Signals shut it down gracefully.
 */
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
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    app
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, "error during shutdown");
        process.exit(1);
      });
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));

  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, "could not start the bot");
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `Unexpected error while starting: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
