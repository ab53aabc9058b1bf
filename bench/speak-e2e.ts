import { once } from "node:events";
import { Client, GatewayIntentBits } from "discord.js";
import { Agent, request } from "undici";
import { toSyncBody } from "../src/providers/minimax/index.ts";
import { type FakeDiscord, type FakeMessage, startFakeDiscord } from "../test/fakes/discord/index.ts";
import { type BenchBot, startBenchBot } from "./bot.ts";
import { fmt, quantile } from "./stats.ts";
import { startFakeMiniMaxProcess } from "./sync-latency.ts";

/**
 * `/speak` end to end: from the interaction's dispatch to the audio attachment landing in the fake
 * Discord, with the fake MiniMax (its own process) answering after a fixed 200 ms. Figures are
 * ratios to that upstream latency, so 1.0 would mean the bot and Discord added nothing.
 *
 * With 50 members at once it also measures the transport floor in the same run: the same wire work
 * per member — the deferral callback, one synthesis request to the fake MiniMax, the audio upload
 * editing `@original` — sent by plain `fetch` with no client-side limiter at the same concurrency,
 * timed the same way (dispatch to the audio landing in the fake Discord). The bot's p50/p99 over the
 * floor's is what the bot itself (discord.js's queues, storage, the planner, the cache) adds.
 */

export interface SpeakBenchResult {
  upstreamMs: number;
  rows: { label: string; n: number; p50: number; p99: number; upstreamP50: number }[];
  cache: { missMs: number; hitMs: number };
  /** 50 members at once: interaction to audio write, the bot against the transport floor. */
  floor: { members: number; bot: Quantiles; floor: Quantiles };
}

export interface Quantiles {
  n: number;
  p50: number;
  p99: number;
}

/** Members at once for the floor comparison, and rounds of them. */
const MEMBERS = 50;
const ROUNDS = 10;

export async function benchSpeakE2e(upstreamMs = 200): Promise<SpeakBenchResult> {
  const minimax = await startFakeMiniMaxProcess(upstreamMs);
  const discord = await startFakeDiscord();
  let bot: BenchBot | undefined;
  let seq = 0;
  const speakOnce = async (text?: string): Promise<number> => {
    const t0 = performance.now();
    const handle = discord.dispatchCommand({
      name: "speak",
      options: { text: text ?? `Benchmark sentence number ${seq++}, long enough to sound like a reply.` },
    });
    await handle.waitForResponse((m) => m.attachments.length > 0, 60_000);
    return performance.now() - t0;
  };
  try {
    bot = await startBenchBot(discord, minimax.url);
    const config = bot.config;
    for (let i = 0; i < 5; i++) await speakOnce(); // warm up JIT, pools, SQLite

    // Baseline: the same synthesis requests sent straight to the fake, at the same concurrency, so
    // the fake's own cost under load (it encodes every clip) is not blamed on the bot.
    const agent = new Agent({ connections: 256 });
    const bare = async (): Promise<number> => {
      const body = toSyncBody(
        {
          model: config.tts.model,
          voiceId: config.tts.defaultVoice,
          format: "mp3",
          text: `Bare request ${seq++}, as long as a reply.`,
        },
        { stream: false },
      );
      const t0 = performance.now();
      const res = await request(`${minimax.url}/v1/t2a_v2`, {
        method: "POST",
        dispatcher: agent,
        headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      await res.body.json();
      return performance.now() - t0;
    };
    const median = (a: number[]) =>
      quantile(
        [...a].sort((x, y) => x - y),
        0.5,
      );

    const rows: SpeakBenchResult["rows"] = [];
    const sequential: number[] = [];
    const sequentialBare: number[] = [];
    for (let i = 0; i < 40; i++) {
      sequential.push(await speakOnce());
      sequentialBare.push(await bare());
    }
    rows.push(row("1 at a time", sequential, median(sequentialBare)));

    // 50 members at once, the bot and the transport floor in alternating rounds, so that both see
    // the same machine (other load comes and goes); the floor runs against a second fake Discord in
    // this process, where a silent client holds the gateway session.
    const floorDiscord = await startFakeDiscord();
    const silent = await silentGatewayClient(floorDiscord);
    const synthesize = async (): Promise<Buffer> => {
      const res = await request(`${minimax.url}/v1/t2a_v2`, {
        method: "POST",
        dispatcher: agent,
        headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
        body: JSON.stringify(
          toSyncBody(
            {
              model: config.tts.model,
              voiceId: config.tts.defaultVoice,
              format: "mp3",
              // As the bot sends it (it picks the bitrate that fits the upload limit).
              bitrate: 128000,
              text: `Benchmark sentence number ${seq++}, long enough to sound like a reply.`,
            },
            { stream: false, outputFormat: "hex" },
          ),
        ),
      });
      const json = (await res.body.json()) as { data: { audio: string } };
      return Buffer.from(json.data.audio, "hex");
    };
    const floorOnce = () => transportFloorOnce(floorDiscord, synthesize);
    const concurrent: number[] = [];
    const concurrentBare: number[] = [];
    const floor: number[] = [];
    try {
      for (let i = 0; i < 5; i++) await floorOnce(); // warm up connections
      // One unrecorded round of each first: the first burst of 50 opens the connection pools and
      // warms the fake MiniMax (its own process) for concurrent load, whichever side comes first.
      await Promise.all(Array.from({ length: MEMBERS }, () => speakOnce()));
      await Promise.all(Array.from({ length: MEMBERS }, floorOnce));
      await Promise.all(Array.from({ length: MEMBERS }, () => bare()));
      for (let round = 0; round < ROUNDS; round++) {
        const b = await Promise.all(Array.from({ length: MEMBERS }, () => speakOnce()));
        const f = await Promise.all(Array.from({ length: MEMBERS }, floorOnce));
        concurrent.push(...b);
        floor.push(...f);
        concurrentBare.push(...(await Promise.all(Array.from({ length: MEMBERS }, () => bare()))));
      }
    } finally {
      await silent.destroy();
      await floorDiscord.close();
    }
    rows.push(row(`${MEMBERS} concurrent`, concurrent, median(concurrentBare)));

    const misses: number[] = [];
    const hits: number[] = [];
    for (let i = 0; i < 15; i++) {
      const text = `Cache probe ${i}: the same words twice.`;
      misses.push(await speakOnce(text));
      hits.push(await speakOnce(text));
    }
    const med = (a: number[]) =>
      quantile(
        [...a].sort((x, y) => x - y),
        0.5,
      );
    const cache = { missMs: med(misses), hitMs: med(hits) };

    await agent.close();
    return {
      upstreamMs,
      rows,
      cache,
      floor: { members: MEMBERS, bot: quantiles(concurrent), floor: quantiles(floor) },
    };
  } finally {
    await bot?.stop();
    await discord.close();
    await minimax.stop();
  }
}

/** A discord.js client that logs in and answers nothing, so the fake has a session to dispatch to. */
async function silentGatewayClient(discord: FakeDiscord): Promise<Client> {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: discord.apiUrl, makeRequest: (url, init) => fetch(url, init as RequestInit) },
  });
  const ready = once(client, "clientReady");
  await client.login(discord.botToken);
  await ready;
  return client;
}

/**
 * One member's `/speak` as bare wire work, no client-side limiter: the deferral callback, the
 * synthesis, then the audio upload editing `@original` (multipart, as discord.js sends it). Timed
 * from dispatch to the audio landing in the fake, like the bot.
 */
async function transportFloorOnce(discord: FakeDiscord, synthesize: () => Promise<Buffer>): Promise<number> {
  const t0 = performance.now();
  const handle = discord.dispatchCommand({ name: "speak", options: { text: "floor" } });
  const app = (handle.payload as { application_id: string }).application_id;
  const base = `${discord.apiUrl}/v10`;
  const deferred = await fetch(`${base}/interactions/${handle.id}/${handle.token}/callback`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ type: 5 }),
  });
  await deferred.arrayBuffer();
  const audio = await synthesize();
  const form = new FormData();
  form.append("files[0]", new Blob([new Uint8Array(audio)], { type: "audio/mpeg" }), "speech.mp3");
  form.append(
    "payload_json",
    JSON.stringify({
      content: "🔊 `voice` · 1.0 s · 60 characters",
      attachments: [{ id: "0", filename: "speech.mp3" }],
      allowed_mentions: { parse: [] },
    }),
  );
  const edited = await fetch(`${base}/webhooks/${app}/${handle.token}/messages/%40original`, {
    method: "PATCH",
    body: form,
  });
  await edited.arrayBuffer();
  if (!edited.ok) throw new Error(`floor upload answered ${edited.status}`);
  await handle.waitForResponse((m: FakeMessage) => m.attachments.length > 0, 60_000);
  return performance.now() - t0;
}

function quantiles(samples: number[]): Quantiles {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: samples.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

function row(label: string, samples: number[], upstreamP50: number) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { label, n: samples.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), upstreamP50 };
}

export function printSpeakE2e(r: SpeakBenchResult): void {
  console.log(`/speak end to end (fake Discord + fake MiniMax with ${r.upstreamMs} ms upstream latency)`);
  for (const x of r.rows) {
    console.log(
      `  ${x.label.padEnd(14)} n=${x.n}: p50 ${fmt(x.p50, 0)} ms (${fmt(x.p50 / r.upstreamMs)}× upstream), ` +
        `p99 ${fmt(x.p99, 0)} ms (${fmt(x.p99 / r.upstreamMs)}× upstream); ` +
        `bare request to the fake at the same concurrency p50 ${fmt(x.upstreamP50, 0)} ms ` +
        `(bot/bare p50 ${fmt(x.p50 / x.upstreamP50)}×)`,
    );
  }
  console.log(
    `  cache: miss ${fmt(r.cache.missMs, 0)} ms, hit ${fmt(r.cache.hitMs, 0)} ms (hit/miss ${fmt(r.cache.hitMs / r.cache.missMs, 3)}×)`,
  );
  const { bot, floor, members } = r.floor;
  console.log(
    `  ${members} members at once, interaction → audio write (n=${bot.n}): ` +
      `bot p50 ${fmt(bot.p50, 0)} ms, p99 ${fmt(bot.p99, 0)} ms; ` +
      `transport floor (same callbacks, synthesis and uploads by fetch, no client-side limiter) ` +
      `p50 ${fmt(floor.p50, 0)} ms, p99 ${fmt(floor.p99, 0)} ms; ` +
      `bot/floor p50 ${fmt(bot.p50 / floor.p50)}×, p99 ${fmt(bot.p99 / floor.p99)}×`,
  );
}
