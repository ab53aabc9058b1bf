import { randomBytes } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { RESTOptions } from "discord.js";
import { Agent, request } from "undici";

/**
 * How discord.js's REST sends a request: undici's `request` on a pooled keep-alive agent of our own,
 * with a multipart body encoded in one buffer.
 *
 * Why not discord.js's default: it calls its own undici 6 through the process-wide dispatcher, which
 * undici 8 (our HTTP client) replaces with one that refuses undici 6's multipart bodies. Why not
 * `fetch`: an upload through fetch streams a FormData through web streams and Blob readers, which
 * costs more CPU than the rest of a `/speak` reply; under a burst of members that CPU is what the
 * last member waits for. The body discord.js builds is a FormData of strings and Blobs held in memory
 * (the files it was given), so encoding it in one go copies each file once and writes one buffer.
 */

type MakeRequest = RESTOptions["makeRequest"];
type RequestInit = Parameters<MakeRequest>[1];
type ResponseLike = Awaited<ReturnType<MakeRequest>>;

export interface RestTransport {
  makeRequest: MakeRequest;
  /** Closes the agent's connections (after the client is destroyed). */
  close(): Promise<void>;
}

export function createRestTransport(opts: { keepAliveTimeoutMs?: number } = {}): RestTransport {
  const agent = new Agent({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 10_000 });
  return {
    async makeRequest(url, init) {
      const { body, contentType } = await encodeBody(init.body);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
        headers[name.toLowerCase()] = value;
      }
      if (contentType) headers["content-type"] = contentType;
      const res = await request(url, {
        method: (init.method ?? "GET") as "GET",
        headers,
        body,
        // discord.js aborts a request after its `timeout` (15 s by default) through this signal.
        signal: (init.signal ?? undefined) as AbortSignal | undefined,
        dispatcher: agent,
      });
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (value === undefined) continue;
        for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
      }
      const response = {
        body: res.body,
        arrayBuffer: () => res.body.arrayBuffer(),
        json: () => res.body.json(),
        text: () => res.body.text(),
        get bodyUsed() {
          return res.body.bodyUsed;
        },
        headers: responseHeaders,
        status: res.statusCode,
        statusText: STATUS_CODES[res.statusCode] ?? "",
        ok: res.statusCode >= 200 && res.statusCode < 300,
      };
      return response as unknown as ResponseLike;
    },
    close: () => agent.close(),
  };
}

/** What discord.js passes as a body: a JSON string, bytes, or a FormData with the files. */
async function encodeBody(
  body: RequestInit["body"],
): Promise<{ body: string | Uint8Array | null; contentType?: string }> {
  if (body === null || body === undefined) return { body: null };
  if (typeof body === "string") return { body };
  if (body instanceof Uint8Array) return { body };
  if (body instanceof ArrayBuffer) return { body: new Uint8Array(body) };
  if (body instanceof FormData) return encodeMultipart(body);
  if (body instanceof Blob) return { body: new Uint8Array(await body.arrayBuffer()) };
  throw new TypeError("unsupported request body for Discord's REST API");
}

/** multipart/form-data (RFC 7578), as a browser encodes a FormData: names quoted and escaped. */
export async function encodeMultipart(form: FormData): Promise<{ body: Uint8Array; contentType: string }> {
  const boundary = `----discord-tts-${randomBytes(12).toString("hex")}`;
  const parts: Uint8Array[] = [];
  for (const [name, value] of form) {
    if (typeof value === "string") {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`,
        ),
      );
      continue;
    }
    const type = value.type || "application/octet-stream";
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"; ` +
          `filename="${escapeName(value.name)}"\r\nContent-Type: ${type}\r\n\r\n`,
      ),
      new Uint8Array(await value.arrayBuffer()),
      Buffer.from("\r\n"),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The HTML standard's escaping of field names and file names in a multipart header. */
function escapeName(name: string): string {
  return name.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
}
