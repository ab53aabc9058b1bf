import { type Client, Events } from "discord.js";
import { toVoiceMessage } from "./audio/voice-message.ts";
import type { Config } from "./config.ts";
import { toChatMessage } from "./discord/chat-message.ts";
import { createDiscordClient } from "./discord/client.ts";
import type { BotContext } from "./discord/context.ts";
import { createDispatcher, type Dispatcher } from "./discord/dispatcher.ts";
import { createDraftStore } from "./discord/drafts.ts";
import { watchGateway } from "./discord/gateway-health.ts";
import { createDiscordJobPublisher } from "./discord/job-publisher.ts";
import { syncCommands } from "./discord/register-commands.ts";
import { loadCommands } from "./discord/registry.ts";
import { createDiscordRequestCards } from "./discord/request-cards.ts";
import { createVoiceHost } from "./discord/voice-host.ts";
import { createNarration } from "./jobs/narrate.ts";
import { reconcileHolds } from "./jobs/reconcile.ts";
import { createJobRunner, type JobRunner, type JobRunnerOptions } from "./jobs/runner.ts";
import { createJobService } from "./jobs/service.ts";
import { createJobStore } from "./jobs/store.ts";
import { isFinal } from "./jobs/types.ts";
import type { Logger } from "./logger.ts";
import { createHealthCheck, createStorageProbe } from "./metrics/health.ts";
import { createMetrics } from "./metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "./metrics/server.ts";
import { createProvider, type ProviderTuning } from "./providers/create-provider.ts";
import { createRequestService, type RequestService } from "./requests/service.ts";
import { createRequestStore } from "./requests/store.ts";
import { budgetStoreFor } from "./settings/budget-store-for.ts";
import { createPronunciationStore } from "./settings/pronunciation.ts";
import { createGuildSettingsStore } from "./settings/settings.ts";
import { createUsageLedger } from "./settings/usage.ts";
import { createUserSettingsStore } from "./settings/user-settings.ts";
import { createAudioCache } from "./speak/audio-cache.ts";
import { createUserGuards } from "./speak/guards.ts";
import { createRequestPlanner } from "./speak/planner.ts";
import { createSpeakService } from "./speak/speak-service.ts";
import { instrumentProvider } from "./speech/instrumented-provider.ts";
import { createStorage, type Storage } from "./storage/storage.ts";
import { createAutoReader } from "./voice/auto-read.ts";
import { createSpeechPlayback } from "./voice/play-speech.ts";
import { createSettleHandler } from "./voice/settle.ts";
import { openSpeechSource } from "./voice/speech-source.ts";
import { createVoiceService, type VoiceService } from "./voice/voice-service.ts";
import { createVoiceCatalog } from "./voices/voice-catalog.ts";

export interface App {
  start(): Promise<void>;
  /** Finishes (or answers) in-flight interactions, then disconnects and closes storage. */
  stop(): Promise<void>;
  readonly client: Client;
}

export interface AppOptions {
  /** Where command files live; the project's `commands/` by default. */
  commandsDir?: URL;
  /** How long stop() waits for in-flight interactions. */
  drainMs?: number;
  tts?: ProviderTuning;
  /** Narration job timing (tests poll faster). */
  jobs?: JobRunnerOptions;
}

/** Builds every service from the configuration and passes them in explicitly: no module-level singletons. */
export function createApp(config: Config, logger: Logger, opts: AppOptions = {}): App {
  const metrics = createMetrics();
  const tts = createProvider(config, logger, opts.tts);
  const provider = instrumentProvider(tts.provider, metrics);
  const client = createDiscordClient({ apiUrl: config.discord.apiUrl, autoRead: config.voice.autoRead });
  let storage: Storage | undefined;
  let dispatcher: Dispatcher | undefined;
  let runner: JobRunner | undefined;
  let metricsServer: MetricsServer | undefined;
  let voice: VoiceService | undefined;

  async function build(): Promise<Dispatcher> {
    storage = await createStorage(config.storageUrl, { logger });
    const voices = createVoiceCatalog({
      provider,
      onError: (err) =>
        logger.warn({ err }, "could not fetch the voice list; using the cached or built-in one"),
    });
    voices.warm();
    const users = createUserSettingsStore(storage.keyv("users"));
    const guildSettings = createGuildSettingsStore(storage.keyv("guilds"), { logger });
    const pronunciation = createPronunciationStore(storage.keyv("pronunciation"));
    const guildPronunciation = (guildId: string) => pronunciation.tone(guildId);
    const usage = createUsageLedger(budgetStoreFor(storage));
    const jobStore = createJobStore(storage.keyv("jobs"), { logger, recordTtlMs: config.recordTtlMs });
    const planner = createRequestPlanner({
      users,
      guildSettings,
      guildPronunciation,
      ledger: usage,
      guards: createUserGuards({
        cooldownMs: config.speak.cooldownMs,
        burst: config.speak.burst,
        maxConcurrent: config.speak.maxConcurrentPerUser,
      }),
      openJobs: async (guildId, userId) => {
        const mine = (await jobStore.listByUser(userId, 50)).filter((j) => j.guildId === guildId);
        return {
          open: mine.filter((j) => !isFinal(j.state)).length,
          lastCreatedAt: mine.reduce<number | undefined>((t, j) => Math.max(t ?? 0, j.createdAt), undefined),
        };
      },
      config: {
        model: config.tts.model,
        voice: config.tts.defaultVoice,
        syncMaxChars: config.tts.syncMaxChars,
      },
      logger,
    });
    const publisher = createDiscordJobPublisher(client, logger);
    let requests: RequestService | undefined;
    runner = createJobRunner({
      store: jobStore,
      publisher,
      provider,
      ledger: usage,
      logger,
      options: {
        ...opts.jobs,
        // A request's job ended: the request follows and the next ones start (never throws).
        onChange: (job) => void requests?.onJobChange(job),
      },
    });
    const jobs = createJobService({ store: jobStore, publisher, provider, runner, ledger: usage, logger });
    const audioCache = createAudioCache(storage, { maxBytes: config.audioCacheMaxBytes });
    const speak = createSpeakService({
      provider,
      cache: audioCache,
      planner,
      users,
      toVoiceMessage,
      config: {
        model: config.tts.model,
        voice: config.tts.defaultVoice,
        syncMaxChars: config.tts.syncMaxChars,
      },
      logger,
    });
    const narration = createNarration({ jobs, planner });
    requests = createRequestService({
      store: createRequestStore(storage.keyv("requests"), { logger, recordTtlMs: config.recordTtlMs }),
      cards: createDiscordRequestCards(client, logger),
      narration,
      guildSettings,
      jobs,
      logger,
    });
    const voiceHost = createVoiceHost(client);
    const voiceService = createVoiceService({
      host: voiceHost,
      openSource: (request) => openSpeechSource({ provider, cache: audioCache, logger }, request),
      logger,
      options: {
        limits: { maxItems: config.voice.queueMax, maxPerUser: config.voice.queueMaxPerUser },
        idleMs: config.voice.idleMs,
        connectTimeoutMs: 15_000,
        daveFailureRejoin: 3,
      },
      onSessions: (count) => metrics.voiceSessions.set(count),
      onSettled: createSettleHandler({
        post: voiceHost.post,
        logger,
        count: (outcome) => metrics.voiceClips.inc({ outcome }),
      }),
    });
    voice = voiceService;
    client.on(Events.VoiceStateUpdate, (before, after) =>
      voiceService.onVoiceState({
        guildId: after.guild.id,
        userId: after.id,
        oldChannelId: before.channelId,
        newChannelId: after.channelId,
      }),
    );
    client.on(Events.ChannelDelete, (channel) => {
      if (!channel.isDMBased()) voiceService.onChannelDelete(channel.guildId, channel.id);
    });
    const playback = createSpeechPlayback({ planner, voice: voiceService });
    if (config.voice.autoRead) {
      const autoReader = createAutoReader({ voice: voiceService, playback, guildSettings, logger });
      client.on(Events.MessageCreate, (message) => {
        const chat = toChatMessage(message);
        if (chat) void autoReader.handle(chat);
      });
    }
    const ctx: BotContext = {
      voice: voiceService,
      playback,
      requests,
      speak,
      voices,
      users,
      jobs,
      guildSettings,
      pronunciation,
      usage,
      narration,
      narrateDrafts: createDraftStore(),
      config: {
        provider: provider.name,
        model: config.tts.model,
        defaultVoice: config.tts.defaultVoice,
        syncMaxChars: config.tts.syncMaxChars,
        autoRead: config.voice.autoRead,
      },
      logger,
    };
    const registry = await loadCommands<BotContext>(
      opts.commandsDir ?? new URL("../commands/", import.meta.url),
    );
    const meta = storage.keyv<string>("meta");
    client.once(Events.ClientReady, (ready) => {
      logger.info(
        {
          user: ready.user.tag,
          guilds: ready.guilds.cache.size,
          provider: provider.name,
          model: config.tts.model,
        },
        "logged in to Discord",
      );
      syncCommands({
        rest: ready.rest,
        applicationId: ready.application.id,
        guildId: config.discord.guildId,
        definitions: registry.definitions(),
        state: {
          get: async (k) => (await meta.get(k)) ?? undefined,
          set: async (k, v) => void (await meta.set(k, v)),
        },
        logger,
      }).catch((err: unknown) => logger.error({ err }, "could not register the slash commands"));
      // Jobs post through the client, so they resume once it is ready; none is lost across restarts.
      // Holds a crash left behind are settled first, so budgets are right before anything new runs.
      reconcileHolds({ ledger: usage, getJob: (id) => jobStore.get(id) })
        .then(
          (report) => logger.info(report, "reconciled character reservations"),
          (err: unknown) => logger.error({ err }, "could not reconcile character reservations"),
        )
        .then(() => runner?.start())
        .catch((err: unknown) => logger.error({ err }, "could not resume narration jobs"))
        .then(() => requests?.resumeAll());
    });
    return createDispatcher({ registry, ctx, logger });
  }

  client.on(Events.Error, (err) => logger.error({ err }, "discord client error"));
  client.on(Events.Warn, (message) => logger.warn({ message }, "discord client warning"));
  // Gateway state for /healthz; logs each loss and comeback of the connection once.
  const gateway = watchGateway(client, logger);

  return {
    client,
    async start() {
      dispatcher = await build();
      const d = dispatcher;
      client.on(Events.InteractionCreate, (interaction) => void d.handle(interaction));
      if (config.metricsPort !== undefined) {
        const meta = storage?.keyv("meta");
        metricsServer = await startMetricsServer({
          port: config.metricsPort,
          host: config.metricsHost,
          registry: metrics.registry,
          health: createHealthCheck({
            discord: gateway.state,
            storage: meta ? createStorageProbe(meta) : async () => "down",
          }),
        });
        logger.info(
          { host: metricsServer.host, port: metricsServer.port },
          "metrics and health on /metrics and /healthz",
        );
      }
      await client.login(config.discord.token);
    },
    async stop() {
      if (dispatcher) {
        dispatcher.stopAccepting();
        await dispatcher.drain(opts.drainMs ?? 10_000);
      }
      await runner?.stop();
      voice?.destroyAll();
      gateway.close();
      await client.destroy();
      await metricsServer?.close();
      await tts.close();
      await storage?.close();
    },
  };
}
