import { benchBudget, printBudget } from "./budget.ts";
import { benchJobs, printJobs } from "./jobs.ts";
import { benchOpus, printOpus } from "./opus.ts";
import { benchSentences, printSentences } from "./sentences.ts";
import { benchSpeakE2e, printSpeakE2e } from "./speak-e2e.ts";
import { benchSpeakQueue, printSpeakQueue } from "./speak-queue.ts";
import { benchSse, printSse } from "./sse-throughput.ts";
import { benchSyncLatency, printSyncLatency } from "./sync-latency.ts";
import { benchVoiceLatency, printVoiceLatency } from "./voice-latency.ts";
import { benchVoicePipeline, printVoicePipeline } from "./voice-pipeline.ts";

/** `npm run bench`: prints figures; ratios are against baselines measured in the same run. */
const requests = Number(process.env.BENCH_REQUESTS ?? 150);
printSyncLatency(await benchSyncLatency(requests, Number(process.env.BENCH_LATENCY_MS ?? 20)));
console.log();
printSse(await benchSse());
console.log();
printSentences(await benchSentences());
console.log();
printSpeakE2e(await benchSpeakE2e(200));
console.log();
// About a minute: the last members wait for the upstream's 60-second window.
printSpeakQueue(await benchSpeakQueue(75, 60));
console.log();
printJobs(await benchJobs());
console.log();
printOpus(await benchOpus());
console.log();
printVoicePipeline(await benchVoicePipeline());
console.log();
printVoiceLatency(await benchVoiceLatency());
console.log();
printBudget(await benchBudget());
