import { Events } from "discord.js";
import type { Config } from "./config.ts";
import { createDiscordClient } from "./discord/client.ts";
import type { Logger } from "./logger.ts";
import { createProvider } from "./tts/create-provider.ts";

export interface App {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds every service from the configuration and passes them in explicitly: no module-level singletons. */
export function createApp(config: Config, logger: Logger): App {
  const tts = createProvider(config, logger);
  const client = createDiscordClient({ apiUrl: config.discord.apiUrl });

  client.once(Events.ClientReady, (ready) => {
    logger.info(
      {
        user: ready.user.tag,
        guilds: ready.guilds.cache.size,
        provider: tts.provider.name,
        model: config.tts.model,
      },
      "logged in to Discord",
    );
  });
  client.on(Events.Error, (err) => logger.error({ err }, "discord client error"));
  client.on(Events.Warn, (message) => logger.warn({ message }, "discord client warning"));

  return {
    async start() {
      await client.login(config.discord.token);
    },
    async stop() {
      await client.destroy();
      await tts.close();
    },
  };
}
