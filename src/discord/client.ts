import { Client, type ClientOptions, Events, GatewayIntentBits } from "discord.js";
import { routeInteractionWrites } from "./interaction-rest.ts";
import { NO_PINGS } from "./reply.ts";
import { createRestTransport } from "./rest-transport.ts";

export interface DiscordClientOptions {
  /** REST base, e.g. https://discord.com/api, a REST proxy or a local fake. */
  apiUrl: string;
  /**
   * Auto-read needs message events with their text: GuildMessages, and MessageContent, a privileged
   * intent to enable in the Developer Portal. Requested only when auto-read is configured.
   */
  autoRead?: boolean;
  /**
   * discord.js's client-side global limit on bot-token requests (default 50 per second, Discord's).
   * Interaction writes are not counted (see `interaction-rest.ts`). Lowered only by tests.
   */
  globalRequestsPerSecond?: number;
  /**
   * The IDENTIFY throttler (one identify per `max_concurrency` bucket per 5 s); a fleet shares one
   * through Redis (`sharding/identify-throttler.ts`). Default: discord.js's, within this process.
   */
  buildIdentifyThrottler?: NonNullable<ClientOptions["ws"]>["buildIdentifyThrottler"];
}

/**
 * A discord.js client with the minimal intents: Guilds for slash commands and channels, and
 * GuildVoiceStates to know which voice channel a member is in. Privileged intents only for auto-read.
 */
export function createDiscordClient(opts: DiscordClientOptions): Client {
  const client = withoutShardVariables(
    () =>
      new Client({
        intents: [
          GatewayIntentBits.Guilds,
          GatewayIntentBits.GuildVoiceStates,
          ...(opts.autoRead ? [GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent] : []),
        ],
        rest: {
          api: opts.apiUrl,
          // undici 8 on an agent of our own, uploads encoded in one buffer (see rest-transport.ts).
          makeRequest: createRestTransport().makeRequest,
          ...(opts.globalRequestsPerSecond !== undefined
            ? { globalRequestsPerSecond: opts.globalRequestsPerSecond }
            : {}),
        },
        // Nobody gets pinged by what a member typed: discord.js applies this default to interaction
        // replies, edits, follow-ups and channel sends alike.
        allowedMentions: NO_PINGS,
        ...(opts.buildIdentifyThrottler
          ? { ws: { buildIdentifyThrottler: opts.buildIdentifyThrottler } }
          : {}),
      }),
  );
  // The shards are the app's to choose (`useShards`, from SHARD_COUNT/SHARD_IDS): one shard until it does.
  useShards(client, { shardIds: [0], shardCount: 1 });
  // Interaction replies, edits and follow-ups skip the bot's global limit, which Discord does not
  // apply to them; bot-token routes keep it.
  routeInteractionWrites(client.rest);
  return client;
}

/**
 * discord.js's Client constructor reads SHARDS and SHARD_COUNT from the environment by itself (meant
 * for the children of its ShardingManager) whenever the options leave them at their defaults.
 * SHARD_COUNT is also this bot's variable: read that way, every process would open every shard, and
 * `SHARD_COUNT=auto` would fail the constructor's validation. So the client is built with the two
 * hidden (synchronously: nothing else runs meanwhile) and gets its shards from `useShards`.
 */
function withoutShardVariables<T>(build: () => T): T {
  const saved = { SHARDS: process.env.SHARDS, SHARD_COUNT: process.env.SHARD_COUNT };
  delete process.env.SHARDS;
  delete process.env.SHARD_COUNT;
  try {
    return build();
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
}

/** Sets the shards the client opens at login (read by discord.js only then). */
export function useShards(client: Client, plan: { shardIds: number[]; shardCount: number }): void {
  client.options.shards = [...plan.shardIds];
  client.options.shardCount = plan.shardCount;
}

/**
 * A start-up failure the operator fixes in the configuration or in the Developer Portal. Its message is
 * one line that names what to change; the entry point prints it alone, without a stack.
 */
export class DiscordSetupError extends Error {
  override readonly name = "DiscordSetupError";
}

export interface ExplainContext {
  /** DISCORD_API_URL as configured. */
  apiUrl: string;
  /** AUTO_READ: the only reason the bot asks for a privileged intent. */
  autoRead?: boolean;
  /** The gateway close code seen while logging in, if the gateway closed the connection. */
  closeCode?: number | undefined;
}

/** Logs in; a failure the operator can fix (token, URL, privileged intent) becomes a DiscordSetupError. */
export async function loginOrExplain(
  client: Client,
  token: string | undefined,
  ctx: Omit<ExplainContext, "closeCode">,
): Promise<void> {
  let closeCode: number | undefined;
  // discord.js rejects the login with a bare "Used disallowed intents"; the close code says more.
  const onDisconnect = (event: { code: number }) => {
    closeCode = event.code;
  };
  client.on(Events.ShardDisconnect, onDisconnect);
  try {
    await client.login(token);
  } catch (err) {
    throw explainDiscordError(err, { ...ctx, closeCode }) ?? err;
  } finally {
    client.off(Events.ShardDisconnect, onDisconnect);
  }
}

/** Network failures that mean "nothing answered at that address". */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPROTO",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/**
 * One line for a Discord failure an operator can fix: a refused token (401 on `GET /gateway/bot`, or
 * gateway close 4004), an unreachable or wrong DISCORD_API_URL, or a privileged intent the application
 * is not allowed (gateway close 4014). Anything else is left to the caller (undefined).
 */
export function explainDiscordError(err: unknown, ctx: ExplainContext): DiscordSetupError | undefined {
  const url = `DISCORD_API_URL=${withoutCredentials(ctx.apiUrl)}`;
  const message = err instanceof Error ? err.message : "";
  if (ctx.closeCode === 4014 || message === "Used disallowed intents") {
    return new DiscordSetupError(
      ctx.autoRead
        ? 'Discord refused the privileged Message Content intent that AUTO_READ=true needs (gateway close 4014 "Disallowed intent(s)"): ' +
            "enable the Message Content intent in the Developer Portal (your application → Bot → Privileged Gateway Intents), or set AUTO_READ=false."
        : 'Discord refused a privileged intent (gateway close 4014 "Disallowed intent(s)"): ' +
            "enable it in the Developer Portal (your application → Bot → Privileged Gateway Intents).",
    );
  }
  const status = httpStatus(err);
  if (ctx.closeCode === 4004 || status === 401 || errorCode(err) === "TokenInvalid") {
    const why = ctx.closeCode === 4004 ? 'gateway close 4004 "Authentication failed"' : "401 Unauthorized";
    return new DiscordSetupError(
      `Discord refused DISCORD_TOKEN (${why}): copy the bot token from the Developer Portal ` +
        "(your application → Bot → Reset Token) into DISCORD_TOKEN.",
    );
  }
  if (status !== undefined) {
    return new DiscordSetupError(
      `Discord at ${url} answered ${status}${statusText(status)} instead of logging in: check DISCORD_API_URL ` +
        `(the REST base ending in /api; https://discord.com/api when unset)${status >= 500 ? ", or try again later" : ""}.`,
    );
  }
  const network = networkFailure(err);
  if (network !== undefined) {
    return new DiscordSetupError(
      `Could not reach Discord at ${url} (${network}): check DISCORD_API_URL ` +
        "(https://discord.com/api when unset) and that this machine can reach it.",
    );
  }
  return undefined;
}

function httpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null || !("status" in err)) return undefined;
  const status = (err as { status: unknown }).status;
  return typeof status === "number" && status >= 400 ? status : undefined;
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null && "code" in err
    ? (err as { code: unknown }).code
    : undefined;
}

function statusText(status: number): string {
  const names: Record<number, string> = {
    400: " Bad Request",
    403: " Forbidden",
    404: " Not Found",
    405: " Method Not Allowed",
    500: " Internal Server Error",
    502: " Bad Gateway",
    503: " Service Unavailable",
    504: " Gateway Timeout",
  };
  return names[status] ?? "";
}

/** "connect ECONNREFUSED 127.0.0.1:9" from fetch's TypeError (the code sits on its cause), or a timeout. */
function networkFailure(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e.name === "AbortError" || e.name === "TimeoutError") return "no answer in time";
    const code = errorCode(e);
    if (typeof code === "string" && UNREACHABLE.has(code)) return e.message || code;
    if (e.message === "bad port") return "a port fetch refuses to use";
  }
  return undefined;
}

/** A URL as it may be printed: without a user name or password. */
function withoutCredentials(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return raw;
  }
}
