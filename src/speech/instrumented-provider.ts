import type { Metrics } from "../metrics/registry.ts";
import { TtsError } from "./errors.ts";
import type { TtsProvider } from "./types.ts";

/**
 * Wraps a provider so every synthesis is counted and timed, without the provider or its callers
 * knowing about metrics.
 */
export function instrumentProvider(provider: TtsProvider, metrics: Metrics): TtsProvider {
  const name = provider.name;
  const outcome = (err: unknown) => (err instanceof TtsError ? err.kind : "error");
  const wrapped: TtsProvider = {
    name,
    capabilities: provider.capabilities,
    async: provider.async,
    voiceDesign: provider.voiceDesign,
    listVoices: provider.listVoices?.bind(provider),
    async synthesize(req, opts) {
      const stop = metrics.ttsSeconds.startTimer({ provider: name, mode: "sync" });
      try {
        const result = await provider.synthesize(req, opts);
        stop();
        metrics.ttsRequests.inc({ provider: name, mode: "sync", outcome: "ok" });
        metrics.ttsCharacters.inc({ provider: name }, result.usageCharacters ?? [...req.text].length);
        return result;
      } catch (err) {
        metrics.ttsRequests.inc({ provider: name, mode: "sync", outcome: outcome(err) });
        throw err;
      }
    },
  };
  const stream = provider.stream?.bind(provider);
  if (stream) {
    wrapped.stream = async function* (req, opts) {
      const stop = metrics.ttsSeconds.startTimer({ provider: name, mode: "stream" });
      let first = true;
      let done = false;
      const gen = stream(req, opts);
      try {
        for (;;) {
          const next = await gen.next();
          if (next.done) {
            done = true;
            metrics.ttsRequests.inc({ provider: name, mode: "stream", outcome: "ok" });
            metrics.ttsCharacters.inc({ provider: name }, next.value.usageCharacters ?? [...req.text].length);
            return next.value;
          }
          if (first) {
            stop();
            first = false;
          }
          yield next.value;
        }
      } catch (err) {
        done = true;
        metrics.ttsRequests.inc({ provider: name, mode: "stream", outcome: outcome(err) });
        throw err;
      } finally {
        // A consumer that stops early (skip, abort) must still close the provider's stream.
        if (!done) {
          metrics.ttsRequests.inc({ provider: name, mode: "stream", outcome: "cancelled" });
          await gen.return({
            durationMs: undefined,
            usageCharacters: undefined,
            traceId: undefined,
            bytes: 0,
          });
        }
      }
    };
  }
  return wrapped;
}
