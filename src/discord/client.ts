import { Client, GatewayIntentBits } from "discord.js";
import { NO_PINGS } from "./reply.ts";

export interface DiscordClientOptions {
  /** REST base, e.g. https://discord.com/api, a REST proxy or a local fake. */
  apiUrl: string;
  /**
   * Auto-read needs message events with their text: GuildMessages, and MessageContent, a privileged
   * intent to enable in the Developer Portal. Requested only when auto-read is configured.
   */
  autoRead?: boolean;
}

/**
 * A discord.js client with the minimal intents: Guilds for slash commands and channels, and
 * GuildVoiceStates to know which voice channel a member is in. Privileged intents only for auto-read.
 */
export function createDiscordClient(opts: DiscordClientOptions): Client {
  return new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildVoiceStates,
      ...(opts.autoRead ? [GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent] : []),
    ],
    rest: {
      api: opts.apiUrl,
      // discord.js's default REST strategy calls its own undici 6 through the process-wide dispatcher,
      // which undici 8 (our HTTP client) replaces with one that refuses undici 6's multipart bodies.
      // Node's fetch serializes the body itself first, so uploads work with either.
      makeRequest: (url, init) => fetch(url, init as RequestInit),
    },
    // Nobody gets pinged by what a member typed: discord.js applies this default to interaction
    // replies, edits, follow-ups and channel sends alike.
    allowedMentions: NO_PINGS,
  });
}
