import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DownloadError, downloadBounded } from "../../src/discord/download.ts";

const LIMIT = 1000;

let server: Server;
let origin: string;
/** Bytes the streaming route managed to send before the client hung up. */
let streamedBytes = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case "/ok?sig=abc":
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("hello, file");
        return;
      case "/redirect":
        res.writeHead(302, { location: "/ok?sig=abc" });
        res.end();
        return;
      case "/declared-big":
        // Declares too much, then holds the response open: only the header can end this quickly.
        res.writeHead(200, { "content-length": String(10 * LIMIT) });
        res.write(Buffer.alloc(10, 0x61));
        return;
      case "/streamed-big": {
        // Chunked, never-ending: the client must stop reading once past the limit.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        streamedBytes = 0;
        const timer = setInterval(() => {
          if (res.destroyed) return clearInterval(timer);
          streamedBytes += 300;
          res.write(Buffer.alloc(300, 0x62));
        }, 5);
        return;
      }
      case "/slow":
        // Headers never come.
        return;
      default:
        res.writeHead(404, { "content-type": "application/xml" });
        res.end("<Error><Code>NoSuchKey</Code></Error>");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DownloadError);
  return err as DownloadError;
}

describe("downloadBounded", () => {
  it("returns the body, query string included", async () => {
    const body = await downloadBounded(`${origin}/ok?sig=abc`, { maxBytes: LIMIT });
    expect(body.toString()).toBe("hello, file");
  });

  it("follows a redirect", async () => {
    const body = await downloadBounded(`${origin}/redirect`, { maxBytes: LIMIT });
    expect(body.toString()).toBe("hello, file");
  });

  it("refuses a declared size over the limit without waiting for the body", async () => {
    const err = await failure(
      downloadBounded(`${origin}/declared-big`, { maxBytes: LIMIT, timeoutMs: 5000 }),
    );
    expect(err.kind).toBe("too-large");
    expect(err.message).toBe("The file is 9.8 KiB; the limit is 1000 B.");
  });

  it("stops reading a body that streams past the limit", async () => {
    const err = await failure(
      downloadBounded(`${origin}/streamed-big`, { maxBytes: LIMIT, timeoutMs: 5000 }),
    );
    expect(err.kind).toBe("too-large");
    expect(err.message).toBe("The file is larger than the 1000 B limit.");
    // The transfer was cut off, not read to the end (it never ends).
    await new Promise((resolve) => setTimeout(resolve, 50));
    const sentAfterAbort = streamedBytes;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(streamedBytes).toBe(sentAfterAbort);
  });

  it("reports an HTTP error status", async () => {
    const err = await failure(downloadBounded(`${origin}/missing`, { maxBytes: LIMIT }));
    expect(err.kind).toBe("http");
    expect(err.status).toBe(404);
    expect(err.message).toContain("HTTP 404");
    expect(err.message).not.toContain("NoSuchKey");
  });

  it("times out when the server does not answer", async () => {
    const started = Date.now();
    const err = await failure(downloadBounded(`${origin}/slow`, { maxBytes: LIMIT, timeoutMs: 200 }));
    expect(err.kind).toBe("timeout");
    expect(err.message).toBe("The download took longer than 0.2 s; try again.");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("rethrows the caller's abort reason, not a DownloadError", async () => {
    const controller = new AbortController();
    const reason = new Error("shutting down");
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      downloadBounded(`${origin}/slow`, { maxBytes: LIMIT, signal: controller.signal }),
    ).rejects.toBe(reason);
  });

  it("reports an unreachable server", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(downloadBounded(`http://127.0.0.1:${port}/x`, { maxBytes: LIMIT }));
    expect(err.kind).toBe("unreachable");
  });

  it.each(["not a url", "file:///etc/passwd", "ftp://example.com/a.txt"])("refuses %s", async (url) => {
    const err = await failure(downloadBounded(url, { maxBytes: LIMIT }));
    expect(err.kind).toBe("invalid-url");
  });
});
