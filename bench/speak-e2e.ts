import { Agent, request } from "undici";
import { toSyncBody } from "../src/providers/minimax/index.ts";
import { startFakeDiscord } from "../test/fakes/discord/index.ts";
import { type BenchBot, startBenchBot } from "./bot.ts";
import { fmt, quantile } from "./stats.ts";
import { startFakeMiniMaxProcess } from "./sync-latency.ts";

/**
 * `/speak` end to end: from the interaction's dispatch to the audio attachment landing in the fake
 * Discord, with the fake MiniMax (its own process) answering after a fixed 200 ms. Figures are
 * ratios to that upstream latency, so 1.0 would mean the bot and Discord added nothing.
 */

export interface SpeakBenchResult {
  upstreamMs: number;
  rows: { label: string; n: number; p50: number; p99: number; upstreamP50: number }[];
  cache: { missMs: number; hitMs: number };
}

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

    const concurrent: number[] = [];
    const concurrentBare: number[] = [];
    for (let round = 0; round < 3; round++) {
      concurrent.push(...(await Promise.all(Array.from({ length: 50 }, () => speakOnce()))));
      concurrentBare.push(...(await Promise.all(Array.from({ length: 50 }, () => bare()))));
    }
    rows.push(row("50 concurrent", concurrent, median(concurrentBare)));
    await agent.close();

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
    return { upstreamMs, rows, cache: { missMs: med(misses), hitMs: med(hits) } };
  } finally {
    await bot?.stop();
    await discord.close();
    await minimax.stop();
  }
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
}
