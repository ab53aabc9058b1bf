import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The bot's Prometheus metrics. One instance per app, built in app.ts and passed where it is needed. */
export interface Metrics {
  registry: Registry;
  ttsRequests: Counter<"provider" | "mode" | "outcome">;
  ttsSeconds: Histogram<"provider" | "mode">;
  ttsCharacters: Counter<"provider">;
  /** Voice clips by how their synthesis ended: ok, cached, skipped, or the error kind. */
  voiceClips: Counter<"outcome">;
  /** Voice channels the bot is in; set by whoever owns the sessions. */
  voiceSessions: Gauge;
  /** 1 while a gateway shard of this process is connected and identified, else 0. */
  shardReady: Gauge<"shard">;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    ttsRequests: new Counter({
      name: "tts_requests_total",
      help: "Speech synthesis requests by provider, mode (sync, stream) and outcome (ok or the error kind)",
      labelNames: ["provider", "mode", "outcome"],
      registers: [registry],
    }),
    ttsSeconds: new Histogram({
      name: "tts_request_duration_seconds",
      help: "Time until the whole clip was received (sync) or the first chunk arrived (stream)",
      labelNames: ["provider", "mode"],
      buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers: [registry],
    }),
    ttsCharacters: new Counter({
      name: "tts_characters_total",
      help: "Characters billed by the provider (or sent, when it does not say)",
      labelNames: ["provider"],
      registers: [registry],
    }),
    voiceClips: new Counter({
      name: "voice_clips_total",
      help: "Voice channel clips by outcome (ok, cached, skipped, or the error kind)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    voiceSessions: new Gauge({
      name: "voice_sessions",
      help: "Voice channels the bot is connected to",
      registers: [registry],
    }),
    shardReady: new Gauge({
      name: "discord_shard_ready",
      help: "1 while this process's gateway shard is connected and identified, else 0",
      labelNames: ["shard"],
      registers: [registry],
    }),
  };
}
