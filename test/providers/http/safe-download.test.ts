import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AddressClass,
  classifyAddress,
  type DownloadPolicy,
  hostMatches,
  type LookupAll,
  refusalReason,
  SafeDownloader,
} from "../../../src/providers/http/safe-download.ts";
import { describeTtsError, UntrustedDownloadError, UpstreamError } from "../../../src/speech/errors.ts";

/**
 * The download policy for provider-returned URLs, over real HTTP on loopback. DNS is simulated by
 * injecting the resolver the connect-time check uses (the check itself is the real one).
 */

interface Recorder {
  server: Server;
  port: number;
  url: string;
  /** Requests received: method, path, Host header. */
  requests: { path: string; host: string | undefined }[];
  /** TCP connections accepted (a refused address must not even get one). */
  connections: number;
  /** Per path: a redirect target; anything else answers "ok". */
  redirects: Map<string, string>;
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const rec = { requests: [], connections: 0, redirects: new Map() } as unknown as Recorder;
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    rec.requests.push({ path, host: req.headers.host });
    const location = rec.redirects.get(path);
    if (location) {
      res.writeHead(302, { Location: location, "Content-Type": "text/plain" });
      res.end("moved");
      return;
    }
    res.writeHead(200, { "Content-Type": "application/octet-stream" });
    res.end(`ok ${path}`);
  });
  server.on("connection", () => {
    rec.connections++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  rec.server = server;
  rec.port = (server.address() as AddressInfo).port;
  rec.url = `http://127.0.0.1:${rec.port}`;
  rec.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return rec;
}

/** A resolver answering from a table; records what it was asked. */
function fakeDns(table: Record<string, string[]>): LookupAll & { asked: string[] } {
  const asked: string[] = [];
  const lookup = ((hostname, _opts, cb) => {
    asked.push(hostname);
    const answers = table[hostname];
    if (!answers) {
      const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
      cb(err, []);
      return;
    }
    cb(
      null,
      answers.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })),
    );
  }) as LookupAll & { asked: string[] };
  lookup.asked = asked;
  return lookup;
}

const TIMEOUTS = { connectMs: 2000, headersMs: 2000, bodyMs: 2000, keepAliveMs: 1000 };
const downloaders: SafeDownloader[] = [];
const warnings: Record<string, unknown>[] = [];

function downloader(policy: DownloadPolicy, lookup?: LookupAll): SafeDownloader {
  const d = new SafeDownloader({
    policy,
    provider: "minimax",
    label: "MiniMax",
    timeouts: TIMEOUTS,
    lookup,
    logger: { warn: (obj) => warnings.push(obj as Record<string, unknown>) },
  });
  downloaders.push(d);
  return d;
}

async function body(d: SafeDownloader, url: string): Promise<string> {
  const { res } = await d.open(url);
  return await res.body.text();
}

async function refusal(p: Promise<unknown>): Promise<UntrustedDownloadError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UntrustedDownloadError);
  return err as UntrustedDownloadError;
}

let cdn: Recorder;
let internal: Recorder;
beforeAll(async () => {
  cdn = await startRecorder();
  internal = await startRecorder();
});
afterAll(async () => {
  await Promise.all(downloaders.map((d) => d.close()));
  await cdn.close();
  await internal.close();
});
afterEach(() => {
  cdn.requests.length = 0;
  cdn.redirects.clear();
  internal.requests.length = 0;
  internal.connections = 0;
  internal.redirects.clear();
  warnings.length = 0;
});

describe("classifyAddress", () => {
  it.each<[string, AddressClass | undefined]>([
    ["8.8.8.8", "public"],
    ["47.88.1.2", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["10.0.0.5", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "shared"],
    ["100.127.255.255", "shared"],
    ["169.254.169.254", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["0.1.2.3", "unspecified"],
    ["::", "unspecified"],
    ["224.0.0.1", "multicast"],
    ["255.255.255.255", "broadcast"],
    ["240.0.0.1", "reserved"],
    ["192.0.2.1", "reserved"],
    ["fe80::1", "link-local"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "unique-local"],
    ["fd12:3456::1", "unique-local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:10.0.0.5", "private"],
    ["::ffff:8.8.8.8", "public"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["64:ff9b::10.0.0.5", "private"],
    ["64:ff9b::8.8.8.8", "public"],
    ["2002:0a00:0005::1", "private"],
    ["2001:db8::1", "reserved"],
    ["2001:4860:4860::8888", "public"],
    ["2606:4700::1111", "public"],
    ["example.com", undefined],
  ])("%s is %s", (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});

describe("hostMatches", () => {
  const patterns = ["*.minimax.io", "cdn.aimlapi.com"];
  it.each([
    ["minimax.io", true],
    ["api.minimax.io", true],
    ["a.b.minimax.io", true],
    ["API.MINIMAX.IO.", true],
    ["cdn.aimlapi.com", true],
    ["x.cdn.aimlapi.com", false],
    ["aimlapi.com", false],
    ["evilminimax.io", false],
    ["minimax.io.evil.com", false],
  ])("%s → %s", (host, ok) => {
    expect(hostMatches(host, patterns)).toBe(ok);
  });
});

describe("refusalReason", () => {
  const strict: DownloadPolicy = { allowedHosts: ["*.aliyuncs.com", "api.minimax.io"] };
  const loose: DownloadPolicy = { ...strict, allowLoopback: true };
  it.each<[string, DownloadPolicy, RegExp | undefined]>([
    ["https://bucket.oss-us-east-1.aliyuncs.com/a.tar?Signature=x", strict, undefined],
    ["https://api.minimax.io/v1/files/retrieve_content", strict, undefined],
    ["http://bucket.oss-us-east-1.aliyuncs.com/a.tar", strict, /scheme http:/],
    ["ftp://bucket.aliyuncs.com/a.tar", loose, /scheme ftp:/],
    ["file:///etc/passwd", loose, /scheme file:/],
    ["https://evil.example.com/a.mp3", strict, /host not allowed/],
    ["https://evil.example.com/a.mp3", loose, /host not allowed/],
    ["https://user:pw@api.minimax.io/x", strict, /credentials/],
    ["https://127.0.0.1/x", strict, /loopback address/],
    ["http://127.0.0.1:8080/x", loose, undefined],
    ["http://[::1]:8080/x", loose, undefined],
    ["https://[::1]/x", strict, /loopback address/],
    ["http://localhost:8080/x", loose, undefined],
    ["https://localhost/x", strict, /loopback host/],
    ["http://10.0.0.5/x", loose, /private address/],
    ["http://169.254.169.254/latest/meta-data/", loose, /link-local address/],
    ["http://100.64.1.1/x", loose, /shared address/],
    ["http://0.0.0.0:8080/x", loose, /unspecified address/],
    ["http://[fd00::1]/x", loose, /unique-local address/],
    ["http://[::ffff:169.254.169.254]/x", loose, /link-local address/],
    ["http://224.0.0.1/x", loose, /multicast address/],
    ["https://8.8.8.8/x", strict, /host not allowed/],
  ])("%s", (url, policy, reason) => {
    const why = refusalReason(new URL(url), policy);
    if (reason) expect(why).toMatch(reason);
    else expect(why).toBeUndefined();
  });
});

describe("SafeDownloader over loopback", () => {
  it("refuses a loopback URL without the allowance, before any connection", async () => {
    const d = downloader({ allowedHosts: ["*.minimax.io"] });
    const err = await refusal(d.open(`${internal.url}/secret?Signature=abc`));
    expect(err.kind).toBe("upstream");
    expect(err.retryable).toBe(false);
    expect(err.host).toBe("127.0.0.1");
    expect(internal.connections).toBe(0);
  });

  it("accepts a loopback URL with the allowance", async () => {
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true });
    expect(await body(d, `${cdn.url}/file`)).toBe("ok /file");
  });

  it("refuses http:// on an allowlisted name without the allowance", async () => {
    const dns = fakeDns({ "files.minimax.io": ["8.8.8.8"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"] }, dns);
    const err = await refusal(d.open(`http://files.minimax.io:${cdn.port}/a.mp3`));
    expect(err.reason).toMatch(/scheme http:/);
    expect(dns.asked).toEqual([]);
  });

  it("refuses a host outside the allowlist without even resolving it", async () => {
    const dns = fakeDns({ "internal.corp": ["127.0.0.1"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true }, dns);
    const err = await refusal(d.open(`http://internal.corp:${internal.port}/admin`));
    expect(err.reason).toBe("host not allowed");
    expect(dns.asked).toEqual([]);
    expect(internal.connections).toBe(0);
  });

  it("refuses an allowlisted name whose DNS answer is private, at connect time", async () => {
    const dns = fakeDns({ "files.minimax.io": ["10.0.0.5"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true }, dns);
    const err = await refusal(d.open(`http://files.minimax.io:${cdn.port}/a.tar`));
    expect(err.reason).toMatch(/private address/);
    expect(dns.asked).toEqual(["files.minimax.io"]);
  });

  it("refuses an allowlisted name that resolves to this machine without the allowance", async () => {
    // https, so only the address check stands between the name and the internal server.
    const dns = fakeDns({ "files.minimax.io": ["127.0.0.1"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"] }, dns);
    const err = await refusal(d.open(`https://files.minimax.io:${internal.port}/a.tar`));
    expect(err.reason).toMatch(/loopback address/);
    expect(internal.connections).toBe(0);
  });

  it("refuses a name when any of its addresses is internal, even if another is fine", async () => {
    const dns = fakeDns({ "files.minimax.io": ["127.0.0.1", "169.254.169.254"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true }, dns);
    await refusal(d.open(`http://files.minimax.io:${internal.port}/a.tar`));
    expect(internal.connections).toBe(0);
  });

  it("connects to an allowlisted name whose (simulated) answer is allowed", async () => {
    const dns = fakeDns({ "files.minimax.io": ["127.0.0.1"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true }, dns);
    expect(await body(d, `http://files.minimax.io:${cdn.port}/a.tar`)).toBe("ok /a.tar");
    expect(cdn.requests[0]!.host).toBe(`files.minimax.io:${cdn.port}`);
  });

  it("follows redirects by hand between allowed hosts", async () => {
    const d = downloader({ allowedHosts: [], allowLoopback: true });
    cdn.redirects.set("/one", "/two");
    cdn.redirects.set("/two", `${cdn.url}/three`);
    const { res, url } = await d.open(`${cdn.url}/one`);
    expect(await res.body.text()).toBe("ok /three");
    expect(url.pathname).toBe("/three");
    expect(cdn.requests.map((r) => r.path)).toEqual(["/one", "/two", "/three"]);
  });

  it.each([
    ["a literal private address", "http://10.0.0.5:{port}/admin", /private address/],
    ["a link-local metadata address", "http://169.254.169.254/latest/meta-data/", /link-local address/],
    ["a host outside the allowlist", "http://internal.corp:{port}/admin", /host not allowed/],
    ["a non-http scheme", "ftp://127.0.0.1:{port}/x", /scheme ftp:/],
  ])(
    "refuses a redirect from an allowed host to %s; the target gets no request",
    async (_l, target, reason) => {
      const dns = fakeDns({ "internal.corp": ["127.0.0.1"] });
      const d = downloader({ allowedHosts: [], allowLoopback: true }, dns);
      cdn.redirects.set("/signed", target.replace("{port}", String(internal.port)));
      const err = await refusal(d.open(`${cdn.url}/signed?Signature=s3cr3t`));
      expect(err.reason).toMatch(reason);
      expect(cdn.requests).toHaveLength(1);
      expect(internal.requests).toHaveLength(0);
      expect(internal.connections).toBe(0);
    },
  );

  it("refuses a redirect to an allowlisted name that resolves internally; the internal server gets nothing", async () => {
    // The name resolves to a private address and to the internal server: the check must refuse
    // before the connector could pick the latter.
    const dns = fakeDns({ "cdn.minimax.io": ["10.1.2.3", "127.0.0.1"] });
    const d = downloader({ allowedHosts: ["*.minimax.io"], allowLoopback: true }, dns);
    cdn.redirects.set("/signed", `http://cdn.minimax.io:${internal.port}/internal`);
    const err = await refusal(d.open(`${cdn.url}/signed`));
    expect(err.reason).toMatch(/private address/);
    expect(internal.connections).toBe(0);
  });

  it("refuses a loopback literal without the allowance, even over https", async () => {
    // Every hop, redirect targets included, goes through this same check.
    const d = downloader({ allowedHosts: ["*.minimax.io", "127.0.0.1"] });
    const err = await refusal(d.open(`https://127.0.0.1:${internal.port}/x`));
    expect(err.reason).toMatch(/loopback address/);
    expect(internal.connections).toBe(0);
  });

  it("stops after three redirects", async () => {
    const d = downloader({ allowedHosts: [], allowLoopback: true });
    for (let i = 0; i < 5; i++) cdn.redirects.set(`/r${i}`, `/r${i + 1}`);
    const err = await d.open(`${cdn.url}/r0`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as Error).message).toMatch(/redirected more than 3 times/);
    expect(cdn.requests).toHaveLength(4);
  });

  it("treats the extra hosts (the API base host) as allowlisted", async () => {
    const dns = fakeDns({ "api.example.test": ["127.0.0.1"] });
    const d = new SafeDownloader({
      policy: { allowedHosts: [], allowLoopback: true },
      extraHosts: ["api.example.test"],
      provider: "aimlapi",
      label: "AI/ML API",
      timeouts: TIMEOUTS,
      lookup: dns,
    });
    downloaders.push(d);
    expect(await body(d, `http://api.example.test:${cdn.port}/f`)).toBe("ok /f");
  });

  it("logs the refused host and reason, never the URL's query", async () => {
    const d = downloader({ allowedHosts: ["*.minimax.io"] });
    const err = await refusal(d.open("https://evil.example.com/a.mp3?Signature=s3cr3t&Expires=1"));
    expect(warnings).toEqual([{ host: "evil.example.com", reason: "host not allowed" }]);
    expect(JSON.stringify(warnings)).not.toContain("s3cr3t");
    expect(err.message).not.toContain("s3cr3t");
    expect(describeTtsError(err)).toBe("The speech service returned a download link the bot does not trust.");
  });

  it("refuses a URL that does not parse without echoing it", async () => {
    const d = downloader({ allowedHosts: ["*.minimax.io"] });
    const err = await refusal(d.open("not a url ?Signature=s3cr3t"));
    expect(err.reason).toBe("not a URL");
    expect(JSON.stringify(warnings)).not.toContain("s3cr3t");
  });
});
