import type { Client } from "discord.js";
import type { VoiceHost } from "../voice/voice-service.ts";

/** The voice layer's view of the discord.js client: adapters, who is in a channel, and notices. */
export function createVoiceHost(client: Client): VoiceHost {
  return {
    adapterCreator: (guildId) => client.guilds.cache.get(guildId)?.voiceAdapterCreator,
    humansIn(guildId, channelId) {
      const channel = client.guilds.cache.get(guildId)?.channels.cache.get(channelId);
      if (!channel?.isVoiceBased()) return 0;
      return channel.members.filter((m) => !m.user.bot).size;
    },
    botUserId: () => client.user?.id,
    async post(channelId, content) {
      const channel = client.channels.cache.get(channelId) ?? (await client.channels.fetch(channelId));
      if (channel?.isSendable()) await channel.send({ content });
    },
  };
}
