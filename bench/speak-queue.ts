import { startFakeDiscord } from "../test/fakes/discord/index.ts";
import { startFakeMiniMax } from "../test/fakes/index.ts";
import { startBenchBot } from "./bot.ts";
import { fmt, quantile } from "./stats.ts";

/**
 * 75 members at once against an upstream that allows 60 syntheses a minute (the fake MiniMax refuses
 * the 61st in any 60 s window with 1002, as MiniMax does), the bot configured with the same limit.
 * Measures what the members see: how soon each member still waiting after 2 s was told their place
 * and an estimate, whether everyone got audio, and how many requests the upstream would have refused.
 * It takes a little over a minute: the last 15 wait for the window to move.
 */

export interface QueueBenchResult {
  members: number;
  rpm: number;
  answered: number;
  /** Members whose audio came later than 2 s after they asked. */
  waited: number;
  /** Of those, told their place and an estimate within 2 s / 5 s. */
  toldWithin2s: number;
  toldWithin5s: number;
  firstNoticeMs: { p50: number; max: number };
  /** Edits of one member's reply while waiting: the shortest gap between two. */
  minRefreshGapMs: number;
  /** Synthesis requests in the busiest 60 s window (above `rpm` would have been refused). */
  busiestMinute: number;
  errorsShown: number;
  lastAudioMs: number;
}

const WAITING = /^⏳ You are #\d+ in line; about \d+ (?:s|min)\.$/;

export async function benchSpeakQueue(members = 75, rpm = 60): Promise<QueueBenchResult> {
  const minimax = await startFakeMiniMax({ apiKey: "bench-key", rpm });
  const discord = await startFakeDiscord();
  const bot = await startBenchBot(discord, minimax.url, {
    TTS_RATE_LIMIT_RPM: String(rpm),
    SPEAK_MAX_CONCURRENT: "2",
  });
  try {
    const users = Array.from({ length: members }, (_, i) => discord.addMember({ username: `member${i}` }));
    const t0 = Date.now();
    const handles = users.map((user, i) =>
      discord.dispatchCommand({
        name: "speak",
        user,
        options: { text: `Member ${i} has something to say.` },
      }),
    );
    const results = await Promise.allSettled(
      handles.map((h) => h.waitForResponse((m) => m.attachments.length > 0, 180_000)),
    );
    const lastAudioMs = Date.now() - t0;
    const edits = (token: string) =>
      discord.requests.filter(
        (r) => r.method === "PATCH" && r.route.endsWith(`/${token}/messages/@original`) && r.status === 200,
      );
    const contentOf = (r: { json?: unknown; multipart?: { payload?: unknown } }) =>
      ((r.json ?? r.multipart?.payload) as { content?: string } | undefined)?.content ?? "";
    let waited = 0;
    let told2 = 0;
    let told5 = 0;
    let minGap = Number.POSITIVE_INFINITY;
    const firstNotice: number[] = [];
    for (const h of handles) {
      const all = edits(h.token);
      const audio = all.find((r) => (r.multipart?.files.length ?? 0) > 0);
      if (!audio || audio.at - t0 <= 2000) continue;
      waited++;
      const notices = all.filter((r) => (r.multipart?.files.length ?? 0) === 0 && WAITING.test(contentOf(r)));
      const first = notices[0];
      if (first) {
        firstNotice.push(first.at - t0);
        if (first.at - t0 <= 2000) told2++;
        if (first.at - t0 <= 5000) told5++;
      }
      for (let i = 1; i < notices.length; i++) minGap = Math.min(minGap, notices[i]!.at - notices[i - 1]!.at);
    }
    const starts = minimax.requests
      .filter((r) => r.path === "/v1/t2a_v2")
      .map((r) => r.at)
      .sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i]! - starts[j]! >= 60_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const errorsShown = discord
      .allMessages()
      .filter((m) => /rate limit|busy|try again|went wrong|error/i.test(m.content ?? "")).length;
    firstNotice.sort((a, b) => a - b);
    return {
      members,
      rpm,
      answered: results.filter((r) => r.status === "fulfilled").length,
      waited,
      toldWithin2s: told2,
      toldWithin5s: told5,
      firstNoticeMs: { p50: quantile(firstNotice, 0.5), max: firstNotice.at(-1) ?? 0 },
      minRefreshGapMs: Number.isFinite(minGap) ? minGap : 0,
      busiestMinute: busiest,
      errorsShown,
      lastAudioMs,
    };
  } finally {
    await bot.stop();
    await discord.close();
    await minimax.close();
  }
}

export function printSpeakQueue(r: QueueBenchResult): void {
  console.log(`/speak, ${r.members} members at once against an upstream allowing ${r.rpm} per minute`);
  console.log(
    `  answered ${r.answered}/${r.members} (last audio after ${fmt(r.lastAudioMs / 1000, 1)} s); ` +
      `${r.waited} waited more than 2 s, of whom ${r.toldWithin2s} were told their place and an estimate ` +
      `within 2 s and ${r.toldWithin5s} within 5 s (first notice p50 ${fmt(r.firstNoticeMs.p50, 0)} ms, ` +
      `max ${fmt(r.firstNoticeMs.max, 0)} ms; refreshed no more often than every ${fmt(r.minRefreshGapMs / 1000, 1)} s)`,
  );
  console.log(
    `  upstream: busiest 60 s window ${r.busiestMinute} syntheses (limit ${r.rpm}: ` +
      `${Math.max(0, r.busiestMinute - r.rpm)} would be refused); errors shown to members: ${r.errorsShown}`,
  );
}
