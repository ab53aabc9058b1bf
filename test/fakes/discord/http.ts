import type { IncomingMessage, ServerResponse } from "node:http";
import type { UploadedFile } from "./messages.ts";

/** Reading, recording and answering HTTP requests the way the fake needs (decoded paths, multipart). */

export interface RecordedRequest {
  /** Sequence number, from 1. */
  seq: number;
  method: string;
  /** Decoded path without the query, e.g. `/api/v10/webhooks/1/tok/messages/@original`. */
  path: string;
  /** Decoded path after the `/api/vN` prefix, e.g. `/webhooks/1/tok/messages/@original`. */
  route: string;
  /** The path exactly as sent (percent-encoded). */
  rawPath: string;
  apiVersion?: number;
  query: Record<string, string>;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** Parsed JSON body (JSON requests). */
  json?: unknown;
  /** True when a JSON body could not be parsed. */
  invalidJson?: boolean;
  /** Parsed multipart body: `payload_json` parsed into `payload`, files in order. */
  multipart?: {
    payload?: unknown;
    payloadError?: boolean;
    fields: Record<string, string>;
    files: UploadedFile[];
  };
  bodySize: number;
  /** `Date.now()` at arrival. */
  at: number;
  /** Response status, once answered. */
  status?: number;
  /** Response JSON, once answered. */
  response?: unknown;
  /** For interaction callbacks: the interaction id and ms since it was dispatched. */
  interactionId?: string;
  ackMs?: number;
}

export interface Reply {
  status: number;
  json?: unknown;
  raw?: { bytes: Buffer; contentType: string };
  headers?: Record<string, string>;
}

/** Bodies above this are drained and dropped (the fake still answers 413 for anything over the limit). */
const HARD_CAP_BYTES = 64 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<{ body: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size <= HARD_CAP_BYTES) chunks.push(buf);
  }
  return { body: size <= HARD_CAP_BYTES ? Buffer.concat(chunks) : Buffer.alloc(0), size };
}

export function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

export function decodePath(rawPath: string): string {
  return rawPath
    .split("/")
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    })
    .join("/");
}

export function splitApiPrefix(path: string): { route: string; apiVersion?: number } {
  const match = /^\/api(?:\/v(\d+))?(\/.*)?$/.exec(path);
  if (!match) return { route: path };
  const route = match[2] ?? "/";
  return match[1] ? { route, apiVersion: Number(match[1]) } : { route };
}

/** Parses multipart/form-data with the platform's parser; `undefined` when malformed. */
export async function parseMultipart(
  contentType: string,
  body: Buffer,
): Promise<
  | { payload?: unknown; payloadError?: boolean; fields: Record<string, string>; files: UploadedFile[] }
  | undefined
> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(body), { headers: { "content-type": contentType } }).formData();
  } catch {
    return undefined;
  }
  const fields: Record<string, string> = {};
  const files: UploadedFile[] = [];
  let position = 0;
  for (const [name, value] of form) {
    if (typeof value === "string") {
      fields[name] = value;
      continue;
    }
    const bytes = Buffer.from(await value.arrayBuffer());
    const indexMatch = /^files\[(\d+)\]$/.exec(name) ?? /^file(\d+)$/.exec(name);
    files.push({
      field: name,
      index: indexMatch ? Number(indexMatch[1]) : position,
      filename: value.name,
      contentType: value.type,
      bytes,
    });
    position += 1;
  }
  const out: {
    payload?: unknown;
    payloadError?: boolean;
    fields: Record<string, string>;
    files: UploadedFile[];
  } = {
    fields,
    files,
  };
  if (fields.payload_json !== undefined) {
    try {
      out.payload = JSON.parse(fields.payload_json);
    } catch {
      out.payloadError = true;
    }
  }
  return out;
}

export function sendReply(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let body: Buffer | undefined;
  if (reply.raw) {
    body = reply.raw.bytes;
    headers["content-type"] = reply.raw.contentType;
  } else if (reply.json !== undefined) {
    body = Buffer.from(JSON.stringify(reply.json));
    headers["content-type"] = "application/json";
  }
  if (body) headers["content-length"] = String(body.length);
  res.writeHead(reply.status, headers);
  res.end(body);
}
