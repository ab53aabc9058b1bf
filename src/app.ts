import { randomUUID } from "node:crypto";
import { type Client, Events } from "discord.js";
import { toVoiceMessage } from "./audio/voice-message.ts";
import type { Config } from "./config.ts";
import { toChatMessage } from "./discord/chat-message.ts";
import { createDiscordClient, loginOrExplain } from "./discord/client.ts";
import type { BotContext } from "./discord/context.ts";
import { createDispatcher, type Dispatcher } from "./discord/dispatcher.ts";
import { createDraftStore } from "./discord/drafts.ts";
import { type GatewayHealth, watchGateway } from "./discord/gateway-health.ts";
import { inviteUrl } from "./discord/invite.ts";
import { createDiscordJobPublisher } from "./discord/job-publisher.ts";
import {
  type CommandSyncState,
  keyvSyncState,
  type SyncCommandsOptions,
  syncCommands,
} from "./discord/register-commands.ts";
import { loadCommands } from "./discord/registry.ts";
import { createDiscordRequestCards } from "./discord/request-cards.ts";
import { createShardCoordinator } from "./discord/sharding/fleet.ts";
import { startSharding, syncsCommands } from "./discord/sharding/start.ts";
import { createVoiceHost } from "./discord/voice-host.ts";
import { toVoiceMove } from "./discord/voice-move.ts";
import { createBullJobRunner } from "./jobs/bullmq-runner.ts";
import { createNarration, type NarrationDeps } from "./jobs/narrate.ts";
import { reconcileHolds } from "./jobs/reconcile.ts";
import { createJobRunner, type JobRunner, type JobRunnerOptions } from "./jobs/runner.ts";
import { createJobService } from "./jobs/service.ts";
import { createJobStore } from "./jobs/store.ts";
import { isFinal, type JobRecord } from "./jobs/types.ts";
import type { Logger } from "./logger.ts";
import { createHealthCheck, createStorageProbe } from "./metrics/health.ts";
import { createMetrics, type Metrics } from "./metrics/registry.ts";
import { type MetricsServer, startMetricsServer } from "./metrics/server.ts";
import { createProvider, type ProviderTuning } from "./providers/create-provider.ts";
import { sharedProviderLimiters } from "./providers/http/shared-rate-limiter.ts";
import { createRequestService, type RequestService } from "./requests/service.ts";
import { createRequestStore } from "./requests/store.ts";
import { budgetStoreFor } from "./settings/budget-store-for.ts";
import { createPronunciationStore } from "./settings/pronunciation.ts";
import { createGuildSettingsStore } from "./settings/settings.ts";
import { createUsageLedger } from "./settings/usage.ts";
import { createUserSettingsStore } from "./settings/user-settings.ts";
import { type AudioCache, createAudioCache } from "./speak/audio-cache.ts";
import { createSharedUserGuards, createUserGuards, type GuardOptions } from "./speak/guards.ts";
import { createRequestPlanner, type RequestPlanner } from "./speak/planner.ts";
import { createSpeakService } from "./speak/speak-service.ts";
import { instrumentProvider } from "./speech/instrumented-provider.ts";
import type { TtsProvider } from "./speech/types.ts";
import { createFleetRedis, type FleetRedis, isRedisUrl } from "./storage/fleet-redis.ts";
import { createStorage, type Storage } from "./storage/storage.ts";
import { createAutoReader } from "./voice/auto-read.ts";
import { createJoinAnnouncer } from "./voice/join-announcements.ts";
import { createSpeechPlayback } from "./voice/play-speech.ts";
import { createSettleHandler } from "./voice/settle.ts";
import { openSpeechSource } from "./voice/speech-source.ts";
import { createVoiceService, type VoiceService } from "./voice/voice-service.ts";
import { createDesignedVoiceStore } from "./voices/designed-store.ts";
import {
  createDesignedVoices,
  DESIGNED_VOICE_PREFIX,
  type DesignedVoices,
} from "./voices/designed-voices.ts";
import { createPreviewLimiter } from "./voices/preview-limits.ts";
import { createVoiceCatalog, type VoiceCatalog } from "./voices/voice-catalog.ts";
import { createVoicePreviews } from "./voices/voice-preview.ts";

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

/** What every part is built from: made once, when the app is created. */
interface Base {
  config: Config;
  logger: Logger;
  opts: AppOptions;
  metrics: Metrics;
  provider: TtsProvider;
  client: Client;
  /** The distributed mode's Redis connections (BullMQ, shared limiters); absent with SQLite. */
  fleet?: FleetRedis;
}

/** What start() has brought up so far: stop() takes down whatever is there, also after a failed start. */
interface Running {
  storage?: Storage;
  /** Closed before the storage: it writes the entries still pending. */
  audioCache?: AudioCache;
  dispatcher?: Dispatcher;
  runner?: JobRunner;
  requests?: RequestService;
  voice?: VoiceService;
  metricsServer?: MetricsServer;
}

/**
 * Builds every service from the configuration and passes them in explicitly: no module-level
 * singletons. Start-up: storage, the voice catalog, stores and settings, speech, narration jobs and
 * requests, voice, the commands and the Discord events; then the metrics server and the login. Once
 * the client is ready: command sync, then reservations reconciled, jobs resumed, requests resumed.
 */
export function createApp(config: Config, logger: Logger, opts: AppOptions = {}): App {
  const metrics = createMetrics();
  // A fleet (STORAGE_URL=redis://…): narration jobs on BullMQ and the account's limits held fleet-wide.
  const fleet = isRedisUrl(config.storageUrl) ? createFleetRedis(config.storageUrl, logger) : undefined;
  const tts = createProvider(config, logger, {
    ...opts.tts,
    limiters: opts.tts?.limiters ?? (fleet && fleetLimiters(config, fleet)),
  });
  const provider = instrumentProvider(tts.provider, metrics);
  // A fleet (STORAGE_URL=redis://…) shares the IDENTIFY rate limit through Redis.
  const shardCoordinator = createShardCoordinator({ storageUrl: config.storageUrl, logger });
  const client = createDiscordClient({
    apiUrl: config.discord.apiUrl,
    autoRead: config.voice.autoRead,
    buildIdentifyThrottler: shardCoordinator.buildIdentifyThrottler,
  });
  let stopShardWatch: (() => void) | undefined;
  const base: Base = { config, logger, opts, metrics, provider, client, fleet };
  const running: Running = {};

  client.on(Events.Error, (err) => logger.error({ err }, "discord client error"));
  client.on(Events.Warn, (message) => logger.warn({ message }, "discord client warning"));
  // Gateway state for /healthz; logs each loss and comeback of the connection once.
  const gateway = watchGateway(client, logger);

  return {
    client,
    async start() {
      running.dispatcher = await build(base, running);
      const dispatcher = running.dispatcher;
      client.on(Events.InteractionCreate, (interaction) => void dispatcher.handle(interaction));
      // The shards this process runs (SHARD_COUNT, SHARD_IDS) before the metrics carry them as labels.
      if (running.voice) {
        const voice = running.voice;
        ({ stop: stopShardWatch } = await startSharding({ client, config, logger, metrics, voice }));
      }
      running.metricsServer = await startMetrics(base, gateway, running.storage);
      // A refused token, an unreachable DISCORD_API_URL or a disallowed intent fails here with one line
      // that says what to change (a DiscordSetupError).
      await loginOrExplain(client, config.discord.token, {
        apiUrl: config.discord.apiUrl,
        autoRead: config.voice.autoRead,
      });
    },
    async stop() {
      if (running.dispatcher) {
        running.dispatcher.stopAccepting();
        await running.dispatcher.drain(opts.drainMs ?? 10_000);
      }
      await running.runner?.stop();
      await running.requests?.stop();
      running.voice?.destroyAll();
      gateway.close();
      await client.destroy();
      stopShardWatch?.();
      await shardCoordinator.close();
      await running.metricsServer?.close();
      await tts.close();
      await running.audioCache?.close?.();
      await running.storage?.close();
      await fleet?.close();
    },
  };
}

/** Every service, in order, and the Discord events wired to them; returns the command dispatcher. */
async function build(base: Base, running: Running): Promise<Dispatcher> {
  running.storage = await createStorage(base.config.storageUrl, { logger: base.logger });
  const storage = running.storage;
  const voices = createVoices(base);
  const stores = createStores(base, storage);
  const speech = createSpeech(base, storage, stores);
  running.audioCache = speech.audioCache;
  const narrations = createNarrations(base, storage, stores, speech.planner, async (voice, actor) => {
    // A story's voices: the provider's, or a designed voice the member may use by name.
    if ((await voices.list()).some((v) => v.voiceId === voice)) return true;
    // Throws a clear refusal for a designed voice the member may not use here.
    const id = await speech.designed.resolve(voice, actor);
    return id !== voice || voice.startsWith(DESIGNED_VOICE_PREFIX);
  });
  running.runner = narrations.runner;
  running.requests = narrations.requests;
  const voice = createVoice(base, stores, speech);
  running.voice = voice.service;
  wireVoiceEvents(base.client, voice);
  const ctx = botContext(base, { voices, stores, speech, narrations, voice });
  const registry = await loadCommands<BotContext>(
    base.opts.commandsDir ?? new URL("../commands/", import.meta.url),
  );
  const commandState = keyvSyncState(storage.keyv<string>("meta"));
  base.client.once(Events.ClientReady, (ready) =>
    whenReady(base, ready, {
      definitions: registry.definitions(),
      commandState,
      stores,
      running,
      requests: narrations.requests,
    }),
  );
  return createDispatcher({ registry, ctx, logger: base.logger });
}

/** What command handlers are given. */
function botContext(
  { config, logger, provider }: Base,
  parts: { voices: VoiceCatalog; stores: Stores; speech: Speech; narrations: Narrations; voice: Voice },
): BotContext {
  const { voices, stores, speech, narrations, voice } = parts;
  return {
    voice: voice.service,
    playback: voice.playback,
    requests: narrations.requests,
    speak: speech.speak,
    voices,
    previews: speech.previews,
    designedVoices: speech.designed,
    users: stores.users,
    jobs: narrations.jobs,
    guildSettings: stores.guildSettings,
    pronunciation: stores.pronunciation,
    usage: stores.usage,
    narration: narrations.narration,
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
}

/** The voice catalog, fetched in the background (the cached or built-in list serves meanwhile). */
function createVoices({ provider, logger }: Base) {
  const voices = createVoiceCatalog({
    provider,
    onError: (err) =>
      logger.warn({ err }, "could not fetch the voice list; using the cached or built-in one"),
  });
  voices.warm();
  return voices;
}

type Stores = ReturnType<typeof createStores>;

/** Storage and settings: members' and servers' settings, the dictionary, the budget ledger, job records. */
function createStores({ config, logger }: Base, storage: Storage) {
  const guildSettings = createGuildSettingsStore(storage.keyv("guilds"), { logger });
  return {
    users: createUserSettingsStore(storage.keyv("users")),
    guildSettings,
    pronunciation: createPronunciationStore(storage.keyv("pronunciation")),
    usage: createUsageLedger(budgetStoreFor(storage)),
    jobStore: createJobStore(storage.keyv("jobs"), { logger, recordTtlMs: config.recordTtlMs }),
  };
}

type Speech = ReturnType<typeof createSpeech>;

/** Speech: the request planner (the one way to spend characters), the audio cache and /speak. */
function createSpeech({ config, logger, provider, fleet }: Base, storage: Storage, stores: Stores) {
  const { users, guildSettings, pronunciation, usage, jobStore } = stores;
  const defaults = {
    model: config.tts.model,
    voice: config.tts.defaultVoice,
    syncMaxChars: config.tts.syncMaxChars,
  };
  // Designed voices and the planner need each other: requests resolve voices through them, and
  // designing one reserves through the planner.
  let designed: DesignedVoices | undefined;
  const planner = createRequestPlanner({
    resolveVoice: (voice, actor) => designed?.resolve(voice, actor) ?? Promise.resolve(voice),
    users,
    guildSettings,
    guildPronunciation: (guildId) => pronunciation.tone(guildId),
    ledger: usage,
    guards: guardsFor(fleet, {
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
    personal: {
      dailyChars: config.personal.dailyChars,
      guards: guardsFor(
        fleet,
        { cooldownMs: config.personal.cooldownMs, burst: 1, maxConcurrent: 1 },
        "cooldown-dm",
      ),
    },
    config: defaults,
    logger,
  });
  const audioCache = createAudioCache(storage, { maxBytes: config.audioCacheMaxBytes, logger });
  const speak = createSpeakService({
    provider,
    cache: audioCache,
    planner,
    users,
    toVoiceMessage,
    config: defaults,
    logger,
  });
  designed = createDesignedVoices({
    store: createDesignedVoiceStore(storage.keyv("designed-voices")),
    provider,
    designAccess: async (guildId) => (await guildSettings.get(guildId)).voices.designAccess,
    reserve: (input) => planner.design(input),
    logger,
  });
  const previews = createVoicePreviews({
    provider,
    cache: audioCache,
    account: ({ actor, voiceId, model, chars }) =>
      planner.preview({ actor, holdId: `preview:${model}:${voiceId}:${randomUUID()}`, chars }),
    limiter: createPreviewLimiter({ storage }),
    logger,
  });
  return { planner, audioCache, speak, designed, previews };
}

type Narrations = ReturnType<typeof createNarrations>;

/** Narration jobs (the runner, not started yet) and the community requests that run as jobs. */
function createNarrations(
  base: Base,
  storage: Storage,
  stores: Stores,
  planner: RequestPlanner,
  knownVoice: NarrationDeps["knownVoice"],
) {
  const { config, logger, opts, provider, client } = base;
  const { jobStore: store, usage: ledger, guildSettings } = stores;
  const publisher = createDiscordJobPublisher(client, logger);
  let requests: RequestService | undefined;
  const runnerDeps = {
    store,
    publisher,
    provider,
    ledger,
    logger,
    // The learned processing speed survives restarts, so the first queries land near the finish at once.
    speedStore: storage.keyv("job-speed"),
    options: {
      queryQps: config.tts.asyncPollQps,
      ...opts.jobs,
      // A request's job ended: the request follows and the next ones start (never throws).
      onChange: (job: JobRecord) => void requests?.onJobChange(job),
    },
  };
  // One job interface, two backends: BullMQ when the processes share Redis, the embedded loop otherwise.
  const runner = base.fleet
    ? createBullJobRunner({ ...runnerDeps, connection: base.fleet.queues })
    : createJobRunner(runnerDeps);
  const jobs = createJobService({ store, publisher, provider, runner, ledger, logger });
  const narration = createNarration({ jobs, planner, knownVoice });
  requests = createRequestService({
    store: createRequestStore(storage.keyv("requests"), { logger, recordTtlMs: config.recordTtlMs }),
    cards: createDiscordRequestCards(client, logger),
    narration,
    guildSettings,
    jobs,
    logger,
    // A fleet: one guild's pump runs at a time across processes; a fresh claim may be another's.
    fleet: base.fleet && { connection: base.fleet.queues },
    resumeGraceMs: base.fleet ? 120_000 : undefined,
  });
  return { runner, jobs, narration, requests };
}

type Voice = ReturnType<typeof createVoice>;

/** Voice: the sessions, playback into them, and auto-read when it is configured. */
function createVoice(base: Base, stores: Stores, speech: Speech) {
  const { config, logger, metrics, provider, client } = base;
  const host = createVoiceHost(client);
  const service = createVoiceService({
    host,
    openSource: (request) => openSpeechSource({ provider, cache: speech.audioCache, logger }, request),
    logger,
    options: {
      limits: { maxItems: config.voice.queueMax, maxPerUser: config.voice.queueMaxPerUser },
      idleMs: config.voice.idleMs,
      connectTimeoutMs: 15_000,
      daveFailureRejoin: 3,
    },
    onSessions: (count) => metrics.voiceSessions.set(count),
    onSettled: createSettleHandler({
      post: host.post,
      logger,
      count: (outcome) => metrics.voiceClips.inc({ outcome }),
    }),
  });
  const playback = createSpeechPlayback({
    planner: speech.planner,
    voice: service,
    guildSettings: stores.guildSettings,
  });
  const autoReader = config.voice.autoRead
    ? createAutoReader({
        voice: service,
        playback,
        guildSettings: stores.guildSettings,
        users: stores.users,
        logger,
      })
    : undefined;
  const announcer = createJoinAnnouncer({
    voice: service,
    playback,
    guildSettings: stores.guildSettings,
    users: stores.users,
    botUserId: host.botUserId,
    logger,
  });
  return { service, playback, autoReader, announcer };
}

/** Gateway events the voice side follows: voice moves, deleted channels, and chat to auto-read. */
function wireVoiceEvents(client: Client, voice: Voice): void {
  client.on(Events.VoiceStateUpdate, (before, after) => {
    voice.service.onVoiceState({
      guildId: after.guild.id,
      userId: after.id,
      oldChannelId: before.channelId,
      newChannelId: after.channelId,
    });
    // After the session followed the move: the last member leaving ends it, with nothing to announce.
    const move = toVoiceMove(before, after);
    if (move) void voice.announcer.handle(move);
  });
  client.on(Events.ChannelDelete, (channel) => {
    if (!channel.isDMBased()) voice.service.onChannelDelete(channel.guildId, channel.id);
  });
  const { autoReader } = voice;
  if (autoReader) {
    client.on(Events.MessageCreate, (message) => {
      const chat = toChatMessage(message);
      if (chat) void autoReader.handle(chat);
    });
  }
}

/**
 * Once logged in: the invite URL is logged, the slash commands are synced (in the background), and
 * jobs resume, since they post through the client; none is lost across restarts. Holds a crash left
 * behind are settled first, so budgets are right before anything new runs; requests resume last.
 */
function whenReady(
  { config, logger, provider }: Base,
  ready: Client<true>,
  parts: {
    definitions: SyncCommandsOptions["definitions"];
    commandState: CommandSyncState;
    stores: Stores;
    running: Running;
    requests: RequestService;
  },
): void {
  const { stores, running, requests } = parts;
  logger.info(
    {
      user: ready.user.tag,
      guilds: ready.guilds.cache.size,
      provider: provider.name,
      model: config.tts.model,
    },
    "logged in to Discord",
  );
  logger.info({ url: inviteUrl(ready.application.id) }, "invite the bot to a server with this URL");
  // Once per fleet: by the process that runs shard 0.
  if (syncsCommands(ready)) {
    syncCommands({
      rest: ready.rest,
      applicationId: ready.application.id,
      guildId: config.discord.guildId,
      definitions: parts.definitions,
      state: parts.commandState,
      logger,
      // One GET of what Discord has: a new application or a wiped guild gets its commands back even
      // when the stored hash says they were sent.
      verify: true,
    }).catch((err: unknown) => logger.error({ err }, "could not register the slash commands"));
  }
  reconcileHolds({ ledger: stores.usage, getJob: (id) => stores.jobStore.get(id) })
    .then(
      (report) => logger.info(report, "reconciled character reservations"),
      (err: unknown) => logger.error({ err }, "could not reconcile character reservations"),
    )
    .then(() => running.runner?.start())
    .catch((err: unknown) => logger.error({ err }, "could not resume narration jobs"))
    .then(() => requests.resumeAll());
}

/** The metrics and health server, when a port is configured. */
async function startMetrics(
  { config, logger, metrics }: Base,
  gateway: GatewayHealth,
  storage: Storage | undefined,
): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) return undefined;
  const meta = storage?.keyv("meta");
  const server = await startMetricsServer({
    port: config.metricsPort,
    host: config.metricsHost,
    registry: metrics.registry,
    health: createHealthCheck({
      discord: gateway.state,
      shards: gateway.shards,
      storage: meta ? createStorageProbe(meta) : async () => "down",
    }),
  });
  logger.info({ host: server.host, port: server.port }, "metrics and health on /metrics and /healthz");
  return server;
}

/** The provider account's budgets (synthesis per minute, queries and downloads per second) on Redis. */
function fleetLimiters(config: Config, fleet: FleetRedis) {
  const apiKey = (config.tts.provider === "aimlapi" ? config.aimlapi.apiKey : config.minimax.apiKey) ?? "";
  return sharedProviderLimiters(
    fleet.limits,
    { provider: config.tts.provider, apiKey },
    { synthesisRpm: config.tts.rateLimitRpm, queryQps: config.tts.asyncPollQps },
  );
}

/** Per-member cooldowns: in Redis for a fleet (one cooldown whichever process serves), else in memory. */
function guardsFor(fleet: FleetRedis | undefined, opts: GuardOptions, prefix = "cooldown") {
  return fleet ? createSharedUserGuards({ ...opts, redis: fleet.limits, prefix }) : createUserGuards(opts);
}
