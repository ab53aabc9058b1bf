import { DiscordError, errors, issue } from "./errors.ts";
import type { RecordedRequest, Reply } from "./http.ts";
import type { UploadedFile } from "./messages.ts";
import type { FakeState } from "./state.ts";
import { FILES_MAX } from "./validate-message.ts";

/** A tiny router over decoded path segments, plus the body helpers routes share. */

export interface RouteContext {
  state: FakeState;
  req: RecordedRequest;
  params: Record<string, string>;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** e.g. `/channels/:channel/messages/:message`. */
  pattern: string;
  /** `bot`: `Authorization: Bot <token>` required (401 otherwise). */
  auth: "bot" | "none";
  handle(ctx: RouteContext): Reply | Promise<Reply>;
}

export type RouteMatch =
  | { route: Route; params: Record<string, string> }
  | { methodNotAllowed: true }
  | undefined;

export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const segments = path.split("/").filter((s) => s.length > 0);
  let pathMatched = false;
  for (const route of routes) {
    const pattern = route.pattern.split("/").filter((s) => s.length > 0);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length; i++) {
      const p = pattern[i]!;
      const s = segments[i]!;
      if (p.startsWith(":")) params[p.slice(1)] = s;
      else if (p !== s) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    pathMatched = true;
    if (route.method === method) return { route, params };
  }
  return pathMatched ? { methodNotAllowed: true } : undefined;
}

export const json = (status: number, value: unknown): Reply => ({ status, json: value });
export const noContent = (): Reply => ({ status: 204 });

type Obj = Record<string, unknown>;

/** The JSON body as an object (50109 when it was not valid JSON). */
export function jsonBody(req: RecordedRequest): unknown {
  if (req.invalidJson) throw errors.invalidJson();
  return req.json;
}

/**
 * A message body from JSON or multipart (`payload_json`, or plain form fields), with the files.
 * More than 10 files → 400; any file over `perFileLimit` → 413 (40005).
 */
export function messagePayload(
  req: RecordedRequest,
  perFileLimit: number,
  path: ReadonlyArray<string | number> = [],
): { body: Obj; files: UploadedFile[] } {
  if (req.headers["content-type"]?.startsWith("multipart/form-data")) {
    const mp = req.multipart;
    if (!mp) throw errors.invalidForm([issue.custom([], "CONTENT_TYPE_INVALID", "Invalid multipart body")]);
    if (mp.payloadError) throw errors.invalidJson();
    let body: Obj;
    if (mp.payload !== undefined) {
      if (typeof mp.payload !== "object" || mp.payload === null || Array.isArray(mp.payload))
        throw errors.invalidForm([issue.type([], "object", mp.payload)]);
      body = mp.payload as Obj;
    } else {
      body = { ...mp.fields };
    }
    if (mp.files.length > FILES_MAX)
      throw errors.invalidForm([issue.maxLength([...path, "attachments"], FILES_MAX)]);
    if (mp.files.some((f) => f.bytes.length > perFileLimit)) throw errors.requestTooLarge();
    return { body, files: mp.files };
  }
  const value = jsonBody(req);
  if (value === undefined) return { body: {}, files: [] };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw errors.invalidForm([issue.type([], "object", value)]);
  }
  return { body: value as Obj, files: [] };
}

export function isBotAuthorized(state: FakeState, req: RecordedRequest): boolean {
  return req.headers.authorization === `Bot ${state.opts.botToken}`;
}

export function toErrorReply(error: unknown): Reply {
  if (error instanceof DiscordError) return { status: error.status, json: error.body };
  throw error;
}
