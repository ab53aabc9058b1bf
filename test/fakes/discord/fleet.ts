import { once } from "node:events";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FleetGateway, type IdentifyRecord, shardOf } from "./fleet-gateway.ts";
import { makeBotToken } from "./ids.ts";
import { type FakeDiscord, startFakeDiscord } from "./server.ts";
import type { FakeDiscordOptions } from "./state.ts";
import { FIXTURE_EPOCH_MS } from "./world.ts";

/**
 * A fake Discord with several guilds for one bot, sharded as Discord shards:
 *
 *   const fleet = await startFakeDiscordFleet({ guilds: 4, shards: 2, maxConcurrency: 1 });
 *   // bot processes: DISCORD_API_URL=fleet.apiUrl, DISCORD_TOKEN=fleet.botToken, SHARD_COUNT=2 …
 *   const g = fleet.guilds[1];               // a whole FakeDiscord for that guild
 *   await g.dispatchCommand({ name: "speak", options: { text: "hi" } }).waitForResponse();
 *
 * Each guild is a complete single-guild fake (its own world, messages, interactions, voice server
 * if one is attached), so every helper of `FakeDiscord` works per guild. This front puts them behind
 * one REST base and one gateway: REST requests are forwarded to the guild they name (channel, guild,
 * interaction or webhook token; the rest to the first guild, which holds the application), global
 * commands are one registry shared by all, and the gateway (`fleet-gateway.ts`) routes each guild's
 * events to the shard `(guild_id >> 22) % shard_count` and enforces the identify rate.
 */

export interface FakeDiscordFleetOptions {
  /** Number of guilds (default 4). */
  guilds?: number;
  /** GET /gateway/bot's recommended `shards` (default 1). */
  shards?: number;
  /** `session_start_limit.max_concurrency` (default 1). */
  maxConcurrency?: number;
  /** The identify window per bucket (default Discord's 5000 ms; benches shorten it). */
  identifyWindowMs?: number;
  /** Fewer shards than this are closed 4011 "Sharding required" (default 1). */
  requiredShards?: number;
  /** Options for every guild's fake (world fixtures, limits…). */
  guild?: FakeDiscordOptions;
}

export interface FleetRequest {
  method: string;
  path: string;
  /** Index of the guild fake that answered (-1: the front itself). */
  guild: number;
  status?: number;
  at: number;
}

export class FakeDiscordFleet {
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly botToken: string;
  readonly guilds: FakeDiscord[];
  readonly gateway: FleetGateway;
  /** Every REST request through the front. */
  readonly requests: FleetRequest[] = [];
  readonly #server: Server;
  readonly #opts: Required<Omit<FakeDiscordFleetOptions, "guild">>;

  constructor(
    server: Server,
    baseUrl: string,
    guilds: FakeDiscord[],
    opts: Required<Omit<FakeDiscordFleetOptions, "guild">>,
  ) {
    this.#server = server;
    this.#opts = opts;
    this.apiUrl = `${baseUrl}/api`;
    this.gatewayUrl = `${baseUrl.replace(/^http/, "ws")}/gateway`;
    this.guilds = guilds;
    this.botToken = guilds[0]!.botToken;
    this.gateway = new FleetGateway(guilds, {
      botToken: this.botToken,
      heartbeatIntervalMs: guilds[0]!.state.opts.heartbeatIntervalMs,
      maxConcurrency: opts.maxConcurrency,
      identifyWindowMs: opts.identifyWindowMs,
      requiredShards: opts.requiredShards,
      gatewayUrl: () => this.gatewayUrl,
    });
  }

  /** The guild fake of a guild id. */
  guild(guildId: string): FakeDiscord {
    const g = this.guilds.find((m) => m.fixtures.guild.id === guildId);
    if (!g) throw new Error(`fake discord fleet: no guild ${guildId}`);
    return g;
  }

  /** The shard a guild belongs to with `shardCount` shards. */
  shardOf(guildId: string, shardCount = this.#opts.shards): number {
    return shardOf(guildId, shardCount);
  }

  /** Every IDENTIFY; `accepted: false, reason: "rate"` ones were answered op 9. */
  get identifies(): IdentifyRecord[] {
    return this.gateway.identifies;
  }

  /** PUT/POST/PATCH/DELETE on application commands (global or guild), through the front. */
  commandWrites(): FleetRequest[] {
    return this.requests.filter(
      (r) => r.method !== "GET" && /^\/api\/v\d+\/applications\/\d+\/(guilds\/\d+\/)?commands/.test(r.path),
    );
  }

  async close(): Promise<void> {
    await this.gateway.close();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    for (const g of this.guilds) await g.close();
  }

  /** @internal */
  handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const record: FleetRequest = { method: req.method ?? "GET", path, guild: -1, at: Date.now() };
    this.requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    const route = /^\/api(?:\/v\d+)?(\/.*)$/.exec(path)?.[1];
    if (route === "/gateway/bot" || route === "/gateway") {
      const auth = req.headers.authorization;
      if (route === "/gateway/bot" && auth !== `Bot ${this.botToken}`) {
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ message: "401: Unauthorized", code: 0 }));
        return;
      }
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          route === "/gateway"
            ? { url: this.gatewayUrl }
            : {
                url: this.gatewayUrl,
                shards: this.#opts.shards,
                session_start_limit: {
                  total: 1000,
                  remaining: 1000,
                  reset_after: 14_400_000,
                  max_concurrency: this.#opts.maxConcurrency,
                },
              },
        ),
      );
      return;
    }
    const index = this.#target(route ?? path);
    record.guild = index;
    const target = this.guilds[index]!;
    const upstream = request(
      {
        host: "127.0.0.1",
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }

  /** Which guild fake answers a route: by channel, guild, interaction or interaction token. */
  #target(route: string): number {
    const find = (pred: (g: FakeDiscord) => boolean) => Math.max(0, this.guilds.findIndex(pred));
    let m = /^\/(?:channels|attachments|ephemeral-attachments)\/(\d+)/.exec(route);
    if (m) return find((g) => g.state.world.channels.has(m![1]!));
    m = /^\/(?:applications\/\d+\/)?guilds\/(\d+)/.exec(route);
    if (m) return find((g) => g.fixtures.guild.id === m![1]);
    m = /^\/interactions\/(\d+)\//.exec(route);
    if (m) return find((g) => g.state.interactions.has(m![1]!));
    m = /^\/webhooks\/\d+\/([^/]+)/.exec(route);
    if (m) return find((g) => g.state.tokens.has(m![1]!));
    return 0;
  }
}

export async function startFakeDiscordFleet(opts: FakeDiscordFleetOptions = {}): Promise<FakeDiscordFleet> {
  const count = opts.guilds ?? 4;
  const first = await startFakeDiscord(opts.guild);
  const botId = first.fixtures.bot.id;
  const botToken = opts.guild?.botToken ?? first.botToken ?? makeBotToken(botId);
  const guilds = [first];
  for (let i = 1; i < count; i++) {
    guilds.push(
      await startFakeDiscord({
        ...opts.guild,
        botToken,
        guildName: `Fake Guild ${i + 1}`,
        // Fixture timestamps one millisecond apart modulo any shard count up to 4096, so guild i
        // lands on shard (first + i) % count: guilds spread evenly over the shards.
        fleetMember: { botId, fixtureEpochMs: FIXTURE_EPOCH_MS + 1 + i * 4097, idWorker: (i % 31) + 2 },
      }),
    );
  }
  // One application: its global commands are the same for every guild.
  for (const g of guilds.slice(1)) g.state.commands = first.state.commands;
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const fleet = new FakeDiscordFleet(server, `http://127.0.0.1:${port}`, guilds, {
    guilds: count,
    shards: opts.shards ?? 1,
    maxConcurrency: opts.maxConcurrency ?? 1,
    identifyWindowMs: opts.identifyWindowMs ?? 5000,
    requiredShards: opts.requiredShards ?? 1,
  });
  server.on("request", (req, res) => fleet.handleHttp(req, res));
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/gateway" || path === "/gateway/" || path === "/")
      fleet.gateway.handleUpgrade(req, socket, head);
    else socket.destroy();
  });
  return fleet;
}
