import { Events } from "discord.js";
import type { Config } from "./config.ts";
import { createDiscordClient } from "./discord/client.ts";
import type { Logger } from "./logger.ts";
import { createMetrics } from "./metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "./metrics/server.ts";
import { createProvider } from "./tts/create-provider.ts";
import { instrumentProvider } from "./tts/instrumented-provider.ts";

export interface App {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds every service from the configuration and passes them in explicitly: no module-level singletons. */
export function createApp(config: Config, logger: Logger): App {
  const metrics = createMetrics();
  const tts = createProvider(config, logger);
  const provider = instrumentProvider(tts.provider, metrics);
  const client = createDiscordClient({ apiUrl: config.discord.apiUrl });
  let metricsServer: MetricsServer | undefined;

  client.once(Events.ClientReady, (ready) => {
    logger.info(
      {
        user: ready.user.tag,
        guilds: ready.guilds.cache.size,
        provider: provider.name,
        model: config.tts.model,
      },
      "logged in to Discord",
    );
  });
  client.on(Events.Error, (err) => logger.error({ err }, "discord client error"));
  client.on(Events.Warn, (message) => logger.warn({ message }, "discord client warning"));

  return {
    async start() {
      if (config.metricsPort !== undefined) {
        metricsServer = await startMetricsServer({
          port: config.metricsPort,
          registry: metrics.registry,
          health: () => ({ ok: client.isReady(), discord: client.isReady() ? "ready" : "connecting" }),
        });
        logger.info({ port: metricsServer.port }, "metrics and health on /metrics and /healthz");
      }
      await client.login(config.discord.token);
    },
    async stop() {
      await client.destroy();
      await metricsServer?.close();
      await tts.close();
    },
  };
}
