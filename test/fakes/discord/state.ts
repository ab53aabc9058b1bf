import { EventEmitter } from "node:events";
import { waitUntil } from "../common/wait.ts";
import type { CommandRegistry } from "./commands.ts";
import type { Gateway } from "./gateway.ts";
import type { RecordedRequest } from "./http.ts";
import type { FakeMessage, MessageStore, UploadedFile } from "./messages.ts";
import type { Json } from "./serialize.ts";
import type { Fixtures, World, WorldOptions } from "./world.ts";

/** Shared state of one fake Discord: options, world, stores, interactions and the change bus. */

export const MiB = 1024 * 1024;

export interface FakeDiscordOptions extends WorldOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** Default: a random token shaped like Discord's. */
  botToken?: string;
  /** HELLO's heartbeat_interval (default 41250 ms). */
  heartbeatIntervalMs?: number;
  /** An interaction callback later than this after dispatch gets 10062 (default 3000 ms). */
  ackTimeoutMs?: number;
  /** Interaction tokens stop working this long after dispatch (default 15 min). */
  tokenTtlMs?: number;
  /** `attachment_size_limit` of interactions and the per-file limit of channel messages (default 10 MiB). */
  attachmentSizeLimit?: number;
  /** Largest request body (default 25 MiB). */
  maxRequestBytes?: number;
  /** Default locale of invoking users (default "en-US"). */
  locale?: string;
  /**
   * Privileged intents the application is allowed (GUILD_MEMBERS 1<<1, GUILD_PRESENCES 1<<8,
   * MESSAGE_CONTENT 1<<15); IDENTIFY asking for others is closed with 4014. Default: all three.
   */
  privilegedIntents?: number;
  /** READY `application.flags` (default: GATEWAY_GUILD_MEMBERS_LIMITED | GATEWAY_MESSAGE_CONTENT_LIMITED). */
  applicationFlags?: number;
}

export interface ResolvedOptions {
  host: string;
  port: number;
  botToken: string;
  heartbeatIntervalMs: number;
  ackTimeoutMs: number;
  tokenTtlMs: number;
  maxRequestBytes: number;
  locale: string;
  privilegedIntents: number;
  applicationFlags: number;
}

export interface CallbackRecord {
  interactionId: string;
  /** Callback type (4 reply, 5 defer, 6 defer update, 7 update, 8 autocomplete, 9 modal…). */
  type: number;
  /** ms between dispatching INTERACTION_CREATE and this callback's arrival. */
  ackMs: number;
  at: number;
  /** HTTP status the fake answered. */
  status: number;
  accepted: boolean;
  /** `data` of the body (from JSON or `payload_json`). */
  data?: unknown;
  files: UploadedFile[];
  withResponse: boolean;
  /** Error body when rejected. */
  error?: { message: string; code: number; errors?: unknown };
  /** Type 8: the choices. */
  choices?: AutocompleteChoice[];
  /** Type 9: the modal. */
  modal?: Json;
}

export interface AutocompleteChoice {
  name: string;
  value: string | number;
  name_localizations?: Record<string, string> | null;
}

export interface InteractionState {
  id: string;
  token: string;
  /** 2 application command, 3 component, 4 autocomplete, 5 modal submit. */
  type: number;
  /** For application commands: 1 slash, 2 user, 3 message. */
  commandType?: number;
  name?: string;
  customId?: string;
  /** The focused option's type, for autocomplete. */
  focusedType?: number;
  payload: Json;
  /** The installation that authorised it: 0 the server's, 1 the invoking user's own. */
  install: number;
  /** 0 server, 1 the bot's DM, 2 a private channel (group DM) the bot is not part of. */
  context: number;
  userId: string;
  channelId: string;
  guildId: string | null;
  attachmentSizeLimit: number;
  ackTimeoutMs: number;
  tokenTtlMs: number;
  /** `performance.now()` when dispatched. */
  dispatchedAt: number;
  /** `Date.now()` when dispatched. */
  dispatchedAtMs: number;
  callbacks: CallbackRecord[];
  ack?: CallbackRecord;
  /** The message `@original` refers to (own response, or the component's message after 6/7). */
  originalId?: string;
  /** True while the original is a "thinking" message (5) or a deferred update (6) not yet edited. */
  originalPending: boolean;
  /** The message a component sits on (components, modals opened from components). */
  sourceMessageId?: string;
  followUpIds: string[];
  expired: boolean;
}

export interface ShownModal {
  interactionId: string;
  userId: string;
  channelId: string;
  guildId: string | null;
  data: Json;
  sourceMessageId?: string;
  at: number;
}

export interface GatewayOpRecord {
  op: number;
  d: unknown;
  at: number;
  sessionId?: string;
  /** For op 4: why the fake did not move the bot (missing CONNECT, unknown channel…). */
  ignoredReason?: string;
}

export interface FaultRule {
  method?: string;
  path?: string | RegExp;
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
  times: number;
  retryAfter?: number;
}

export interface FakeState {
  opts: ResolvedOptions;
  world: World;
  fixtures: Fixtures;
  store: MessageStore;
  commands: CommandRegistry;
  interactions: Map<string, InteractionState>;
  tokens: Map<string, InteractionState>;
  modals: ShownModal[];
  requests: RecordedRequest[];
  gatewayOps: GatewayOpRecord[];
  faults: FaultRule[];
  attachmentSizeLimit: number;
  sessionStartRemaining: number;
  baseUrl: string;
  apiUrl: string;
  gatewayUrl: string;
  gateway: Gateway;
  bus: EventEmitter;
}

export function notifyChange(state: FakeState): void {
  state.bus.emit("change");
}

/** Resolves with `check()`'s first non-undefined value, re-checking on every change. */
export function waitFor<T>(
  state: FakeState,
  check: () => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return waitUntil(state.bus, check, { timeoutMs, what, fake: "fake discord" });
}

export function createBus(): EventEmitter {
  const bus = new EventEmitter();
  bus.setMaxListeners(0);
  return bus;
}

export type MessagePredicate = (message: FakeMessage) => boolean;
