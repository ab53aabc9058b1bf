import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { closeWorker, settlesWithin } from "../storage/fleet-redis.ts";
import type { Pump, RequestContext } from "./context.ts";

/**
 * The guild queues' pump for a fleet: every pump run goes through one BullMQ queue, deduplicated by
 * guild with `keepLastIfActive`, so across all processes a guild has at most one run in progress and
 * one waiting (a change during a run is never lost: it runs again after). `max_concurrent_jobs` then
 * holds fleet-wide, because the run that counts a guild's running requests and claims the next ones
 * is the only one for that guild. Different guilds pump in parallel. A process that dies mid-run
 * loses its lock and the run is taken over as a stalled job (a run is idempotent: it reads everything
 * afresh). One process's `pumpNow` is the step logic of both modes.
 */

export const PUMP_QUEUE = "request-pump";

/** Longest a command waits for its pump run to be queued. */
const ADD_TIMEOUT_MS = 2_000;
/** How long a stop waits for the pump worker and queue to close before forcing them. */
const CLOSE_GRACE_MS = 5_000;

export interface SharedPumpOptions {
  connection: Redis;
  prefix?: string;
  /** Guilds pumped at once by this process. Default 4. */
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export interface SharedPump {
  pump: Pump;
  /** Starts taking runs (after the Discord client is ready: a run posts cards). */
  start(): void;
  close(): Promise<void>;
}

export function createSharedPump(
  ctx: Pick<RequestContext, "logger">,
  pumpNow: (guildId: string) => Promise<void>,
  opts: SharedPumpOptions,
): SharedPump {
  const { connection, prefix = "bull" } = opts;
  const queue = new Queue<{ guildId: string }>(PUMP_QUEUE, { connection, prefix });
  /** Runs in progress in this process. */
  let running = 0;
  queue.on("error", (err) => ctx.logger.warn({ err }, "request pump queue error"));
  const worker = new Worker<{ guildId: string }>(
    PUMP_QUEUE,
    async (job) => {
      running++;
      try {
        await pumpNow(job.data.guildId).catch((err: unknown) =>
          ctx.logger.warn({ guildId: job.data.guildId, err }, "could not start narration requests"),
        );
      } finally {
        running--;
      }
    },
    {
      connection,
      prefix,
      autorun: false,
      concurrency: opts.concurrency ?? 4,
      lockDuration: opts.lockDurationMs ?? 15_000,
      stalledInterval: opts.stalledIntervalMs ?? 5_000,
      maxStalledCount: 10,
    },
  );
  worker.on("error", (err) => ctx.logger.warn({ err }, "request pump worker error"));
  let started = false;
  return {
    async pump(guildId) {
      const added = queue.add(
        "pump",
        { guildId },
        {
          deduplication: { id: guildId, keepLastIfActive: true },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
      // BullMQ's connection waits out a Redis outage; a command handler must not wait with it (the
      // run is queued when Redis is back, or by the next change or start-up).
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(resolve, ADD_TIMEOUT_MS, "timeout");
      });
      try {
        if ((await Promise.race([added, timeout])) === "timeout") {
          ctx.logger.warn({ guildId }, "queueing a request pump run is taking long; not waiting for it");
        }
      } catch (err) {
        ctx.logger.warn({ guildId, err }, "could not queue a request pump run");
      } finally {
        clearTimeout(timer);
      }
      added.catch(() => undefined);
    },
    start() {
      if (started) return;
      started = true;
      void worker.run();
    },
    async close() {
      // A run in progress is only a few storage calls; one caught in a Redis reconnection is left to
      // the next process's start-up (requests resume from their stored state).
      if (!(await closeWorker(worker, CLOSE_GRACE_MS, { idle: running === 0 }))) {
        ctx.logger.warn({}, "the request pump did not stop in time; closed it by force");
      }
      await settlesWithin(queue.close(), CLOSE_GRACE_MS);
    },
  };
}
