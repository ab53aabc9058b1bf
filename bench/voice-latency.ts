import { Agent, request } from "undici";
import { toSyncBody } from "../src/providers/minimax/index.ts";
import { startFakeDiscord } from "../test/fakes/discord/index.ts";
import { startFakeVoice } from "../test/fakes/voice/index.ts";
import { type BenchBot, startBenchBot } from "./bot.ts";
import { fmt, summarize } from "./stats.ts";
import { startFakeMiniMaxProcess } from "./sync-latency.ts";

/**
 * Time to first audio in a voice channel: from INTERACTION_CREATE (`/speak play:true`) to the first
 * audible RTP packet at the fake voice server, minus the fake MiniMax's fixed first-byte latency.
 *
 * The fake streams each clip in chunks spread over time, like real generation. The baseline is what a
 * bot that synthesizes the whole clip first would wait before it could start playing: the time to the
 * stream's last chunk (measured straight against the fake, in the same run, minus the same latency).
 * The floor is the time to the stream's first chunk, so "added" is the bot's own cost: the interaction,
 * the join (cold), planning, resampling, Opus, the player's first tick, encryption and UDP.
 */

export interface VoiceLatencyResult {
  upstreamMs: number;
  generationMs: number;
  rows: { label: string; n: number; p50: number; p95: number }[];
}

async function directStream(
  url: string,
  agent: Agent,
  text: string,
): Promise<{ first: number; last: number }> {
  const body = toSyncBody(
    {
      model: "speech-2.5-turbo-preview",
      voiceId: "Wise_Woman",
      format: "pcm",
      sampleRate: 24000,
      channels: 1,
      text,
    },
    { stream: true },
  );
  const t0 = performance.now();
  const res = await request(`${url}/v1/t2a_v2`, {
    method: "POST",
    dispatcher: agent,
    headers: { authorization: "Bearer bench-key", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let first = Number.NaN;
  for await (const _chunk of res.body) if (Number.isNaN(first)) first = performance.now() - t0;
  return { first, last: performance.now() - t0 };
}

export async function benchVoiceLatency(
  opts: { upstreamMs?: number; rounds?: number } = {},
): Promise<VoiceLatencyResult> {
  const upstreamMs = opts.upstreamMs ?? 200;
  const rounds = opts.rounds ?? 12;
  const sse = { chunks: 16, delayMs: 50 };
  const minimax = await startFakeMiniMaxProcess(upstreamMs, sse);
  const discord = await startFakeDiscord();
  const voice = await startFakeVoice(discord);
  const agent = new Agent({ connections: 4 });
  let bot: BenchBot | undefined;
  const member = discord.fixtures.users.member.id;
  const channel = discord.fixtures.channels.voice.id;
  let seq = 0;
  try {
    bot = await startBenchBot(discord, minimax.url);
    discord.setVoiceState(member, channel);

    const firstAudible = (after: number) =>
      new Promise<number>((resolve) => {
        const listener = (_session: unknown, info: { at: number; audible: boolean; silence: boolean }) => {
          if (info.audible && !info.silence && info.at > after) {
            voice.off("packet", listener);
            resolve(info.at);
          }
        };
        voice.on("packet", listener);
      });
    const botInVoice = () => discord.state.world.voiceStates.get(discord.state.world.botId)?.channelId;
    const once = async (cold: boolean): Promise<number> => {
      if (cold && botInVoice()) {
        await discord.dispatchCommand({ name: "leave", user: member }).waitForResponse();
        while (botInVoice()) await sleep(10);
      }
      const t0 = performance.now();
      const heard = firstAudible(t0);
      discord.dispatchCommand({
        name: "speak",
        user: member,
        options: { text: `Voice benchmark sentence ${seq++} for the first audio.`, play: true },
      });
      const t1 = await heard;
      await discord.dispatchCommand({ name: "stop", user: member }).waitForResponse();
      await sleep(100);
      return t1 - t0 - upstreamMs;
    };

    await once(true); // warm-up: JIT, pools, storage, the first join
    await once(false);
    const cold: number[] = [];
    const warm: number[] = [];
    const first: number[] = [];
    const whole: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (i % 3 === 0) cold.push(await once(true));
      warm.push(await once(false));
      const direct = await directStream(
        minimax.url,
        agent,
        `Voice benchmark sentence ${seq++} for the first audio.`,
      );
      first.push(direct.first - upstreamMs);
      whole.push(direct.last - upstreamMs);
    }
    const row = (label: string, samples: number[]) => {
      const s = summarize(samples);
      return { label, n: samples.length, p50: s.median, p95: s.p95 };
    };
    return {
      upstreamMs,
      generationMs: (sse.chunks - 1) * sse.delayMs,
      rows: [
        row("bot, already in the channel", warm),
        row("bot, joining first", cold),
        row("floor: first streamed chunk", first),
        row("baseline: whole clip synthesized", whole),
      ],
    };
  } finally {
    await bot?.stop();
    await voice.close();
    await discord.close();
    await minimax.stop();
    await agent.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function printVoiceLatency(r: VoiceLatencyResult): void {
  console.log(
    `voice: time to first audio (INTERACTION_CREATE → first audible RTP packet, minus the fake's ${r.upstreamMs} ms first-byte latency; clip generation spread over ${r.generationMs} ms)`,
  );
  const baseline = r.rows.find((x) => x.label.startsWith("baseline"))!.p50;
  const floor = r.rows.find((x) => x.label.startsWith("floor"))!.p50;
  for (const x of r.rows) {
    const ratio = baseline > 0 ? x.p50 / baseline : Number.NaN;
    const added = x.label.startsWith("bot") ? `, +${fmt(x.p50 - floor, 1)} ms over the first chunk` : "";
    console.log(
      `  ${x.label.padEnd(34)} n=${String(x.n).padStart(2)}  p50 ${fmt(x.p50, 1).padStart(7)} ms  p95 ${fmt(x.p95, 1).padStart(7)} ms  (${fmt(ratio)}× the whole-clip wait${added})`,
    );
  }
}
