import { once } from "node:events";
import { Client, type ClientOptions, GatewayIntentBits } from "discord.js";
import { type FakeDiscord, startFakeDiscord } from "./server.ts";
import type { FakeDiscordOptions } from "./state.ts";

/** Test helper: a fake Discord plus a real discord.js client logged in to it. */

export interface ClientAndFake {
  fake: FakeDiscord;
  client: Client;
  close(): Promise<void>;
}

export const DEFAULT_TEST_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildVoiceStates,
  GatewayIntentBits.GuildMessages,
];

export async function startClientAndFake(
  fakeOptions: FakeDiscordOptions = {},
  clientOptions: Partial<ClientOptions> = {},
): Promise<ClientAndFake> {
  const fake = await startFakeDiscord(fakeOptions);
  const client = new Client({
    intents: DEFAULT_TEST_INTENTS,
    ...clientOptions,
    rest: { api: fake.apiUrl, ...(clientOptions.rest ?? {}) },
  });
  const ready = once(client, "clientReady");
  await client.login(fake.botToken);
  await ready;
  return {
    fake,
    client,
    close: async () => {
      await client.destroy();
      await fake.close();
    },
  };
}
