import type { RawData, WebSocket, WebSocketServer } from "ws";
import { apiUser, type Json } from "./serialize.ts";
import type { World } from "./world.ts";

/**
 * What the single-guild gateway (`gateway.ts`) and the sharded fleet front (`fleet-gateway.ts`) do
 * the same way on the wire: frames, per-session sequence numbers with a replay buffer, the checks on
 * an incoming payload, READY's body, and shutting the sockets.
 */

const REPLAY_BUFFER = 2000;

export interface WirePayload {
  op: number;
  d: unknown;
  s: number | null;
  t: string | null;
}

/** Sends one payload as a JSON text frame, when the socket is open. */
export function sendFrame(
  ws: WebSocket,
  payload: { op: number; d: unknown; s?: number | null; t?: string | null },
): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(JSON.stringify({ op: payload.op, d: payload.d, s: payload.s ?? null, t: payload.t ?? null }));
}

/** A dispatch with the session's next sequence number, kept for RESUME (the oldest dropped past the buffer). */
export function nextDispatch(
  session: { seq: number; buffer: WirePayload[] },
  t: string,
  d: unknown,
): WirePayload {
  session.seq += 1;
  const payload: WirePayload = { op: 0, d, s: session.seq, t };
  session.buffer.push(payload);
  if (session.buffer.length > REPLAY_BUFFER) session.buffer.shift();
  return payload;
}

/** A client's frame as `{ op, d }`, or undefined after closing the socket 4002 as Discord does. */
export function readFrame(
  ws: WebSocket,
  data: RawData,
  isBinary: boolean,
): { op: number; d: unknown } | undefined {
  let payload: { op?: unknown; d?: unknown };
  try {
    if (isBinary) throw new Error("binary");
    payload = JSON.parse(data.toString());
  } catch {
    ws.close(4002, "Error while decoding payload.");
    return undefined;
  }
  if (typeof payload.op !== "number") {
    ws.close(4002, "Error while decoding payload.");
    return undefined;
  }
  return { op: payload.op, d: payload.d };
}

/** READY's body for a session of the bot in `world`. */
export function readyBody(
  world: World,
  ready: {
    sessionId: string;
    guilds: { id: string; unavailable: true }[];
    resumeUrl: string;
    shard: [number, number];
    applicationFlags: number;
  },
): Json {
  return {
    v: 10,
    user: { ...apiUser(world, world.botId), verified: true, mfa_enabled: false, email: null },
    user_settings: {},
    guilds: ready.guilds,
    session_id: ready.sessionId,
    session_type: "normal",
    resume_gateway_url: ready.resumeUrl,
    shard: ready.shard,
    application: { id: world.applicationId, flags: ready.applicationFlags },
    private_channels: [],
    presences: [],
    relationships: [],
    guild_join_requests: [],
    geo_ordered_rtc_regions: ["fake-local"],
    auth: {},
  };
}

/** Closes every socket 1000 (terminating those that linger past a second), then the server. */
export async function closeSockets(
  wss: WebSocketServer,
  connections: Set<{ ws: WebSocket; ready: boolean }>,
): Promise<void> {
  for (const conn of connections) {
    conn.ready = false;
    conn.ws.close(1000, "fake discord: shutting down");
  }
  const deadline = Date.now() + 1000;
  while (connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  for (const conn of connections) conn.ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
}
