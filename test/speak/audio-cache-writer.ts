import { randomBytes } from "node:crypto";
import { RedisAudioCache } from "../../src/speak/audio-cache.ts";
import { createStorage } from "../../src/storage/storage.ts";

/**
 * A second process writing to the Redis audio cache: `node audio-cache-writer.ts <url> <namespace>
 * <maxBytes> <count> <bytes> <keyPrefix>`. Prints "done" once every entry is written.
 */
const [url, namespace, maxBytes, count, bytes, keyPrefix] = process.argv.slice(2);
const storage = await createStorage(url!);
const cache = new RedisAudioCache(storage.redis!, { namespace, maxBytes: Number(maxBytes) });
for (let i = 0; i < Number(count); i++) {
  const audio = randomBytes(Number(bytes));
  await cache.set(`${keyPrefix}${i}`, { audio, format: "mp3", sampleRate: 32000, channels: 1, createdAt: i });
}
await storage.close();
process.stdout.write("done\n");
