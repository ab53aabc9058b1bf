import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, type Dispatcher } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type BoundedReadOptions,
  collectBounded,
  discard,
  header,
  readBounded,
  readErrorText,
} from "../../../src/providers/http/http-body.ts";

const LIMIT = 100;

class TooLarge extends Error {}

let server: Server;
let agent: Agent;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case "/declared-big":
        // Declares more than the limit, sends a little and then holds the response open.
        res.writeHead(200, { "content-length": String(10 * LIMIT) });
        res.write(Buffer.alloc(10, 0x61));
        return;
      case "/streamed-big": {
        // No content-length (chunked): only the streamed bytes can pass the limit.
        res.writeHead(200, { "content-type": "application/octet-stream" });
        let sent = 0;
        const timer = setInterval(() => {
          if (res.destroyed || sent >= 10) {
            clearInterval(timer);
            res.end();
            return;
          }
          res.write(Buffer.alloc(40, 0x62));
          sent++;
        }, 5);
        res.on("close", () => clearInterval(timer));
        return;
      }
      case "/small":
        res.writeHead(200, { "content-length": String(LIMIT) });
        res.end(Buffer.alloc(LIMIT, 0x63));
        return;
      case "/error-big":
        res.writeHead(500, { "content-type": "text/plain" });
        res.end("x".repeat(200 * 1024));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent();
});

afterAll(async () => {
  await agent.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function get(path: string): Promise<Dispatcher.ResponseData> {
  return agent.request({ origin, path, method: "GET" });
}

function limits(): BoundedReadOptions & { convert: ReturnType<typeof vi.fn> } {
  return {
    maxBytes: LIMIT,
    tooLarge: () => new TooLarge(`over ${LIMIT}`),
    convert: vi.fn((err: unknown) => err),
  };
}

describe("header", () => {
  it("takes the first value of a repeated header", () => {
    expect(header({ a: ["1", "2"], b: "3" }, "a")).toBe("1");
    expect(header({ b: "3" }, "b")).toBe("3");
    expect(header({}, "c")).toBeUndefined();
  });
});

describe("readBounded", () => {
  it("refuses a declared content-length over the limit before reading", async () => {
    const res = await get("/declared-big");
    const opts = limits();
    const chunks: Buffer[] = [];
    const read = async () => {
      for await (const chunk of readBounded(res, opts)) chunks.push(chunk);
    };
    await expect(read()).rejects.toBeInstanceOf(TooLarge);
    expect(chunks).toEqual([]);
    expect(opts.convert).not.toHaveBeenCalled();
    expect(res.body.destroyed).toBe(true);
  });

  it("aborts once the streamed bytes pass the limit", async () => {
    const res = await get("/streamed-big");
    expect(header(res.headers, "content-length")).toBeUndefined();
    const opts = limits();
    let received = 0;
    const read = async () => {
      for await (const chunk of readBounded(res, opts)) received += chunk.length;
    };
    await expect(read()).rejects.toBeInstanceOf(TooLarge);
    expect(received).toBeLessThanOrEqual(LIMIT);
    expect(opts.convert).toHaveBeenCalledTimes(1);
    expect(opts.convert.mock.calls[0]![0]).toBeInstanceOf(TooLarge);
    expect(res.body.destroyed).toBe(true);
  });

  it("throws what convert makes of the failure", async () => {
    const res = await get("/streamed-big");
    const converted = new Error("converted");
    await expect(collectBounded(res, { ...limits(), convert: () => converted })).rejects.toBe(converted);
  });

  it("returns every byte of a body within the limit", async () => {
    const res = await get("/small");
    const bytes = await collectBounded(res, limits());
    expect(bytes).toEqual(Buffer.alloc(LIMIT, 0x63));
  });
});

describe("readErrorText", () => {
  it("truncates at the given limit", async () => {
    const res = await get("/error-big");
    const text = await readErrorText(res, undefined, 1000);
    expect(text).toBe("x".repeat(1000));
    expect(res.body.destroyed).toBe(true);
  });

  it("reads 64 KiB by default", async () => {
    const res = await get("/error-big");
    expect(await readErrorText(res, undefined)).toHaveLength(64 * 1024);
  });
});

describe("discard", () => {
  it("accepts a response or its body, and swallows the abort", async () => {
    const a = await get("/declared-big");
    discard(a);
    expect(a.body.destroyed).toBe(true);
    const b = await get("/declared-big");
    discard(b.body);
    expect(b.body.destroyed).toBe(true);
  });
});
