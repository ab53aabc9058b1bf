import { createHmac, randomBytes } from "node:crypto";
import { bufferReply, type Reply } from "./http.ts";
import { requestId } from "./ids.ts";

/**
 * A stand-in for the object storage (Aliyun OSS / S3) behind MiniMax and AI/ML API download URLs:
 * pre-signed, unauthenticated GET URLs that expire, answering with XML errors as those services do.
 */

export interface StoredObject {
  contentType: string;
  /** Produced on each download (given the request path), so a hostile variant can be chosen then. */
  open(path: string): Buffer | Iterable<Buffer>;
}

interface IssuedUrl {
  key: string;
  expiresAt: number;
  /** `expireAll()` calls before this URL was signed. */
  generation: number;
}

export class SignedObjectStore {
  readonly prefix: string;
  #objects = new Map<string, StoredObject>();
  #issued = new Map<string, IssuedUrl>();
  #secret = randomBytes(16);
  #generation = 0;
  #now: () => number;

  constructor(prefix: string, now: () => number) {
    this.prefix = prefix;
    this.#now = now;
  }

  put(key: string, object: StoredObject): void {
    this.#objects.set(key, object);
  }

  has(key: string): boolean {
    return this.#objects.has(key);
  }

  /** A fresh signed URL for `key`; the key is percent-encoded (`audio%2Ftts-….mp3`) like OSS does. */
  sign(baseUrl: string, key: string, ttlMs: number): string {
    const expiresAt = this.#now() + ttlMs;
    const signature = createHmac("sha1", this.#secret)
      .update(`${key}\n${expiresAt}\n${this.#issued.size}`)
      .digest("base64");
    this.#issued.set(signature, { key, expiresAt, generation: this.#generation });
    const query = new URLSearchParams({
      Expires: String(Math.ceil(expiresAt / 1000)),
      OSSAccessKeyId: "FAKEOSSACCESSKEY",
      Signature: signature,
    });
    return `${baseUrl}${this.prefix}${encodeURIComponent(key)}?${query}`;
  }

  /** Every URL issued so far stops working; URLs signed afterwards work again. */
  expireAll(): void {
    this.#generation++;
  }

  clear(): void {
    this.#objects.clear();
    this.#issued.clear();
  }

  owns(path: string): boolean {
    return path.startsWith(this.prefix);
  }

  handle(method: string, path: string, query: Record<string, string>): Reply {
    let key: string;
    try {
      key = decodeURIComponent(path.slice(this.prefix.length));
    } catch {
      return xmlError(400, "InvalidURI", "Could not parse the specified URI.");
    }
    if (method !== "GET") return xmlError(405, "MethodNotAllowed", "The specified method is not allowed.");
    const issued = this.#issued.get(query.Signature ?? "");
    if (!issued || issued.key !== key) {
      return xmlError(403, "SignatureDoesNotMatch", "The request signature we calculated does not match.");
    }
    const now = this.#now();
    if (now >= issued.expiresAt || issued.generation < this.#generation) {
      return xmlError(403, "AccessDenied", "Request has expired.", {
        Expires: new Date(Math.min(issued.expiresAt, now)).toISOString(),
        ServerTime: new Date(now).toISOString(),
      });
    }
    const object = this.#objects.get(key);
    if (!object) return xmlError(404, "NoSuchKey", "The specified key does not exist.");
    const body = object.open(path);
    const headers = { "Content-Type": object.contentType, "x-oss-request-id": requestId() };
    if (Buffer.isBuffer(body)) return { kind: "buffer", status: 200, headers, body };
    return { kind: "stream", status: 200, headers, chunks: body };
  }
}

function xmlError(status: number, code: string, message: string, extra: Record<string, string> = {}): Reply {
  const fields = Object.entries(extra)
    .map(([name, value]) => `  <${name}>${value}</${name}>\n`)
    .join("");
  const id = requestId();
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n  <Code>${code}</Code>\n  <Message>${message}</Message>\n` +
    `  <RequestId>${id}</RequestId>\n  <HostId>fake-oss.invalid</HostId>\n${fields}</Error>\n`;
  return bufferReply(status, "application/xml", xml, { "x-oss-request-id": id });
}
