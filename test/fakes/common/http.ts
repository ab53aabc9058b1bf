import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The plumbing both fakes share: read and record every request, hand it to a router that returns a
 * `Reply` value, then write that reply — or deliberately break it (truncate, hang) for fault tests.
 */

export interface RecordedFile {
  name: string;
  filename: string;
  size: number;
  content: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, still percent-encoded as sent. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed body when it was valid JSON. */
  json?: unknown;
  multipart?: { fields: Record<string, string>; files: RecordedFile[] };
  body: Buffer;
  /** `Date.now()` when the request arrived. */
  at: number;
}

export type Reply =
  | { kind: "buffer"; status: number; headers: Record<string, string>; body: Buffer; truncate?: boolean }
  | {
      kind: "stream";
      status: number;
      headers: Record<string, string>;
      chunks: AsyncIterable<Buffer> | Iterable<Buffer>;
      truncate?: boolean;
    }
  /** Accept the request and never answer (the socket is destroyed when the fake closes). */
  | { kind: "hang" };

export function bufferReply(status: number, contentType: string, body: Buffer | string, headers = {}): Reply {
  return {
    kind: "buffer",
    status,
    headers: { "Content-Type": contentType, ...headers },
    body: Buffer.from(body),
  };
}

export function jsonReply(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return bufferReply(status, "application/json", JSON.stringify(value), headers);
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error("request body too large for the fake");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function flattenHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

/** Uses the platform's multipart parser (the same one `fetch` users rely on) rather than a hand-rolled one. */
async function parseMultipart(
  contentType: string,
  body: Buffer,
): Promise<RecordedRequest["multipart"] | undefined> {
  try {
    const form = await new Request("http://fake.invalid/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: new Uint8Array(body),
    }).formData();
    const fields: Record<string, string> = {};
    const files: RecordedFile[] = [];
    for (const [name, value] of form) {
      if (typeof value === "string") fields[name] = value;
      else {
        const content = Buffer.from(await value.arrayBuffer());
        files.push({ name, filename: value.name, size: content.length, content });
      }
    }
    return { fields, files };
  } catch {
    return undefined;
  }
}

export async function recordRequest(req: IncomingMessage): Promise<RecordedRequest> {
  const at = Date.now();
  const body = await readBody(req);
  const url = new URL(req.url ?? "/", "http://fake.invalid");
  const headers = flattenHeaders(req);
  const contentType = headers["content-type"] ?? "";
  const record: RecordedRequest = {
    method: req.method ?? "GET",
    path: (req.url ?? "/").split("?")[0]!,
    query: Object.fromEntries(url.searchParams),
    headers,
    body,
    at,
  };
  if (body.length > 0 && !contentType.startsWith("multipart/")) {
    try {
      record.json = JSON.parse(body.toString("utf8"));
    } catch {
      // Not JSON: routes that need JSON report their own error shape.
    }
  }
  if (contentType.startsWith("multipart/form-data")) {
    const multipart = await parseMultipart(contentType, body);
    if (multipart) record.multipart = multipart;
  }
  return record;
}

/** Resolves false when the client went away, so a long stream stops instead of buffering forever. */
async function write(res: ServerResponse, chunk: Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(chunk)) return true;
  // Hand-rolled rather than racing events.once(): the losing listener would stay attached per chunk.
  return new Promise((resolve) => {
    const settle = (value: boolean) => () => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(value);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

const half = (b: Buffer): Buffer => b.subarray(0, Math.max(1, Math.floor(b.length / 2)));

function cut(res: ServerResponse, part: Buffer): void {
  res.write(part, () => res.destroy());
}

async function* toAsync(chunks: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
  yield* chunks;
}

export async function sendReply(res: ServerResponse, reply: Reply): Promise<void> {
  if (reply.kind === "hang") return;
  if (reply.kind === "buffer") {
    res.writeHead(reply.status, { ...reply.headers, "Content-Length": String(reply.body.length) });
    if (reply.truncate) {
      res.flushHeaders();
      cut(res, half(reply.body));
      return;
    }
    res.end(reply.body);
    return;
  }
  res.writeHead(reply.status, reply.headers);
  res.flushHeaders();
  if (reply.truncate) {
    // The first piece whole, then half of the next: for SSE that is a cut in the middle of an event.
    let first: Buffer | undefined;
    for await (const chunk of toAsync(reply.chunks)) {
      if (first === undefined) {
        first = chunk;
        continue;
      }
      if (await write(res, first)) cut(res, half(chunk));
      return;
    }
    if (first === undefined) res.destroy();
    else cut(res, half(first));
    return;
  }
  for await (const chunk of toAsync(reply.chunks)) {
    if (!(await write(res, chunk))) return;
  }
  res.end();
}

export interface HttpFake {
  server: Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface HttpFakeOptions {
  host?: string;
  port?: number;
  onRequest: (record: RecordedRequest) => void;
  route: (record: RecordedRequest) => Promise<Reply>;
}

export async function startHttpFake(opts: HttpFakeOptions): Promise<HttpFake> {
  const server = createServer((req, res) => {
    void (async () => {
      let record: RecordedRequest;
      try {
        record = await recordRequest(req);
      } catch {
        res.destroy();
        return;
      }
      opts.onRequest(record);
      try {
        await sendReply(res, await opts.route(record));
      } catch (error) {
        // A bug in the fake itself: answer like a crashed upstream instead of hanging the test.
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(`fake server error: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  });
  const host = opts.host ?? "127.0.0.1";
  server.listen(opts.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
