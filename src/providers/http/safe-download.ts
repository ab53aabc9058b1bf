import dns, { type LookupAddress } from "node:dns";
import { isIP } from "node:net";
import { Agent, type Dispatcher } from "undici";
import { type ProviderErrorDetails, UntrustedDownloadError, UpstreamError } from "../../speech/errors.ts";
import { type AgentTimeouts, discard, header } from "./http-body.ts";

/**
 * Downloads of URLs a provider handed us (MiniMax `download_url` and `output_format: url` audio, the
 * AI/ML API's `audio.url`). The provider is untrusted: a compromised or confused upstream must not be
 * able to point the bot at its own network (cloud metadata, a database, the metrics port) or at an
 * arbitrary host. So every hop is checked before it is requested — https only, host on an allowlist,
 * a literal IP must be public — and the address a name resolves to is checked again at connect time
 * (a custom `lookup` in the Agent's connector, so a DNS answer of 10.0.0.5 for an allowlisted name
 * is refused and DNS rebinding between check and connect is impossible). Redirects are followed by
 * hand, each hop checked the same way.
 */

/** Where provider downloads may go. */
export interface DownloadPolicy {
  /** Host names or `*.domain` patterns (`*.example.com` matches example.com and every name under it). */
  allowedHosts: readonly string[];
  /**
   * Tests and local fakes only: `http://` and loopback addresses (127.0.0.0/8, ::1, `localhost`) are
   * allowed too. Private, link-local and other special addresses stay refused.
   */
  allowLoopback?: boolean;
}

/** dns.lookup with `all: true`, injectable so tests can simulate DNS answers. */
export type LookupAll = (
  hostname: string,
  options: { family?: number; hints?: number },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/** The shape `net.connect` calls its `lookup` option with. */
type ConnectLookup = (
  hostname: string,
  options: { family?: number | string; hints?: number; all?: boolean },
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

const systemLookup: LookupAll = (hostname, options, callback) =>
  dns.lookup(hostname, { ...options, all: true }, callback);

// ---------------------------------------------------------------------------------------------------
// Addresses

/** What kind of address an IP is; only "public" (and "loopback" with the allowance) may be fetched. */
export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "shared"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "reserved";

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** 16 bytes of an IPv6 address (zone id dropped, embedded dotted quad allowed). */
function parseIPv6(text: string): number[] | undefined {
  let s = text.replace(/^\[|\]$/g, "");
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

const inV4 = (b: number[], net: [number, number, number, number], bits: number): boolean => {
  for (let i = 0; i < 4 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((b[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
};

function classifyV4(b: number[]): AddressClass {
  if (inV4(b, [0, 0, 0, 0], 8)) return "unspecified";
  if (inV4(b, [127, 0, 0, 0], 8)) return "loopback";
  if (inV4(b, [10, 0, 0, 0], 8) || inV4(b, [172, 16, 0, 0], 12) || inV4(b, [192, 168, 0, 0], 16)) {
    return "private";
  }
  if (inV4(b, [100, 64, 0, 0], 10)) return "shared"; // CGNAT
  if (inV4(b, [169, 254, 0, 0], 16)) return "link-local";
  if (inV4(b, [255, 255, 255, 255], 32)) return "broadcast";
  if (inV4(b, [224, 0, 0, 0], 4)) return "multicast";
  if (
    inV4(b, [240, 0, 0, 0], 4) || // future use
    inV4(b, [192, 0, 0, 0], 24) || // IETF protocol assignments
    inV4(b, [192, 0, 2, 0], 24) || // TEST-NET-1
    inV4(b, [198, 51, 100, 0], 24) || // TEST-NET-2
    inV4(b, [203, 0, 113, 0], 24) || // TEST-NET-3
    inV4(b, [198, 18, 0, 0], 15) || // benchmarking
    inV4(b, [192, 88, 99, 0], 24) // 6to4 relay anycast (deprecated)
  ) {
    return "reserved";
  }
  return "public";
}

function classifyV6(b: number[]): AddressClass {
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(15) && b[15] === 0) return "unspecified";
  if (zeroUpTo(15) && b[15] === 1) return "loopback";
  // IPv4-mapped ::ffff:a.b.c.d: what it maps to.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12));
  // NAT64 well-known prefix 64:ff9b::/96 (DNS64 answers for IPv4-only hosts): what it embeds.
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0)) {
    return classifyV4(b.slice(12));
  }
  // 6to4 2002:AABB:CCDD::/48 embeds an IPv4 address.
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.slice(2, 6));
  if (b[0] === 0xff) return "multicast";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return "link-local";
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return "private"; // deprecated site-local
  if ((b[0]! & 0xfe) === 0xfc) return "unique-local";
  // Only global unicast (2000::/3) is public, minus documentation, Teredo and other IETF blocks.
  if ((b[0]! & 0xe0) !== 0x20) return "reserved";
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return "reserved"; // 2001:db8::/32
  if (b[0] === 0x20 && b[1] === 0x01 && (b[2]! & 0xfe) === 0) return "reserved"; // 2001::/23
  if (b[0] === 0x3f && b[1] === 0xff && (b[2]! & 0xf0) === 0) return "reserved"; // 3fff::/20 documentation
  return "public";
}

/** The class of an IP address (v4, v6, bracketed v6); undefined when it is not an IP address. */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare.replace(/%.*$/, ""));
  if (family === 4) return classifyV4(parseIPv4(bare)!);
  if (family === 6) {
    const bytes = parseIPv6(bare);
    return bytes ? classifyV6(bytes) : "reserved";
  }
  return undefined;
}

/** Whether a connection to `address` is allowed: public, or loopback with the allowance. */
export function addressAllowed(address: string, policy: Pick<DownloadPolicy, "allowLoopback">): boolean {
  const kind = classifyAddress(address);
  return kind === "public" || (kind === "loopback" && policy.allowLoopback === true);
}

// ---------------------------------------------------------------------------------------------------
// Host names and URLs

/** `localhost` and names under it always mean this machine (RFC 6761). */
const isLoopbackName = (host: string) => host === "localhost" || host.endsWith(".localhost");

/** The URL's host without IPv6 brackets or a trailing dot, lower-cased. */
export function hostOf(url: URL): string {
  return url.hostname
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
    .toLowerCase();
}

/** Whether `host` matches one of `patterns` (exact names, or `*.domain` for the domain and below). */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.replace(/\.$/, "").toLowerCase();
  return patterns.some((raw) => {
    const p = raw.trim().toLowerCase().replace(/\.$/, "");
    if (p.startsWith("*.")) {
      const domain = p.slice(2);
      return h === domain || h.endsWith(`.${domain}`);
    }
    return h === p;
  });
}

/**
 * Why `url` may not be fetched, or undefined when it may (its resolved address is checked later, at
 * connect time). Pure: no DNS.
 */
export function refusalReason(url: URL, policy: DownloadPolicy): string | undefined {
  const loopbackOk = policy.allowLoopback === true;
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopbackOk)) {
    return `scheme ${url.protocol} not allowed`;
  }
  if (url.username || url.password) return "credentials in the URL";
  const host = hostOf(url);
  if (host === "") return "no host";
  const ipClass = classifyAddress(host);
  if (ipClass !== undefined) {
    if (ipClass === "loopback" && loopbackOk) return undefined;
    if (ipClass !== "public") return `${ipClass} address`;
    return hostMatches(host, policy.allowedHosts) ? undefined : "host not allowed";
  }
  if (isLoopbackName(host)) return loopbackOk ? undefined : "loopback host";
  return hostMatches(host, policy.allowedHosts) ? undefined : "host not allowed";
}

/** A connection refused by the address check (thrown inside the connector, mapped by the downloader). */
export class AddressRefusedError extends Error {
  readonly code = "ERR_DOWNLOAD_ADDRESS_REFUSED";
  readonly host: string;
  readonly address: string;
  readonly addressClass: AddressClass | "none";
  constructor(host: string, address: string, addressClass: AddressClass | "none") {
    super(`download host ${host} resolves to a ${addressClass} address`);
    this.name = "AddressRefusedError";
    this.host = host;
    this.address = address;
    this.addressClass = addressClass;
  }
}

/**
 * A `lookup` for `net.connect`: resolves every address (`all: true`) and refuses the connection when
 * any of them is not allowed — refusing on any, not just the chosen one, so a name cannot mix a
 * public address with an internal one and hope the connector picks the latter.
 */
export function guardedLookup(policy: DownloadPolicy, resolve: LookupAll = systemLookup): ConnectLookup {
  return (hostname, options, callback) => {
    const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : options.family;
    resolve(
      hostname,
      { family: typeof family === "number" ? family : undefined, hints: options.hints },
      (err, addresses) => {
        if (err) {
          callback(err, options.all ? [] : "");
          return;
        }
        const list = addresses ?? [];
        const bad = list.find((a) => !addressAllowed(a.address, policy));
        if (list.length === 0 || bad) {
          const refused = new AddressRefusedError(
            hostname,
            bad?.address ?? "",
            bad ? (classifyAddress(bad.address) ?? "reserved") : "none",
          );
          callback(refused, options.all ? [] : "");
          return;
        }
        if (options.all) callback(null, list);
        else callback(null, list[0]!.address, list[0]!.family);
      },
    );
  };
}

// ---------------------------------------------------------------------------------------------------
// The downloader

/** A pino-compatible subset. */
export interface DownloadLogger {
  warn(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface SafeDownloaderOptions {
  policy: DownloadPolicy;
  /** Hosts allowed on top of the policy's (the configured API base host). */
  extraHosts?: readonly string[];
  /** Whose links these are: errors are that provider's. */
  provider: ProviderErrorDetails["provider"];
  /** How messages name the provider. */
  label: string;
  /** Sockets per origin. Default 16. */
  connections?: number;
  timeouts: AgentTimeouts;
  /** Redirects followed by hand, each hop checked. Default 3. */
  maxRedirects?: number;
  /** DNS for the connect-time check; tests inject answers. Default `dns.lookup`. */
  lookup?: LookupAll;
  logger?: DownloadLogger;
}

export interface OpenedDownload {
  /** The final answer (not a redirect); any status: the caller maps errors. */
  res: Dispatcher.ResponseData;
  /** The URL that answered, after redirects. */
  url: URL;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The refusal inside an error thrown by undici: it may come as is, as a cause, or in an AggregateError. */
function findRefusal(err: unknown, depth = 0): AddressRefusedError | undefined {
  if (depth > 4 || typeof err !== "object" || err === null) return undefined;
  if (err instanceof AddressRefusedError) return err;
  const nested = [(err as { cause?: unknown }).cause, ...(err instanceof AggregateError ? err.errors : [])];
  for (const e of nested) {
    const found = findRefusal(e, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * GETs provider-returned URLs with the policy enforced on every hop and at every connect. The Agent
 * has no redirect interceptor: a redirect is read here, checked and followed (at most `maxRedirects`).
 * No credentials are ever sent: these links are pre-signed.
 */
export class SafeDownloader {
  readonly #agent: Agent;
  readonly #policy: DownloadPolicy;
  readonly #provider: ProviderErrorDetails["provider"];
  readonly #label: string;
  readonly #maxRedirects: number;
  readonly #log: DownloadLogger | undefined;

  constructor(opts: SafeDownloaderOptions) {
    this.#policy = {
      allowedHosts: [...opts.policy.allowedHosts, ...(opts.extraHosts ?? [])],
      allowLoopback: opts.policy.allowLoopback === true,
    };
    this.#provider = opts.provider;
    this.#label = opts.label;
    this.#maxRedirects = opts.maxRedirects ?? 3;
    this.#log = opts.logger;
    const t = opts.timeouts;
    this.#agent = new Agent({
      connections: opts.connections ?? 16,
      connectTimeout: t.connectMs,
      headersTimeout: t.headersMs,
      bodyTimeout: t.bodyMs,
      keepAliveTimeout: t.keepAliveMs,
      connect: { lookup: guardedLookup(this.#policy, opts.lookup) },
    });
  }

  /** The effective policy (the extra hosts included). */
  get policy(): DownloadPolicy {
    return this.#policy;
  }

  /**
   * Throws UntrustedDownloadError when `raw` may not be fetched (before any connection). Returns the
   * parsed URL otherwise.
   */
  check(raw: string | URL): URL {
    let url: URL;
    try {
      url = typeof raw === "string" ? new URL(raw) : raw;
    } catch {
      // No cause: URL's TypeError carries the input, signature and all, into any log of it.
      throw this.#refuse("(unparseable)", "not a URL");
    }
    const reason = refusalReason(url, this.#policy);
    if (reason) throw this.#refuse(hostOf(url), reason);
    return url;
  }

  /**
   * GET `raw`, following redirects by hand. Throws UntrustedDownloadError for a refused hop (no
   * request is made to it), an UpstreamError for too many redirects, and whatever undici throws for
   * network failures (the caller converts those, as for its API routes).
   */
  async open(
    raw: string | URL,
    opts: { signal?: AbortSignal; headers?: Record<string, string> } = {},
  ): Promise<OpenedDownload> {
    let url = this.check(raw);
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      const started = performance.now();
      try {
        res = await this.#agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: "GET",
          headers: { accept: "*/*", ...opts.headers },
          signal: opts.signal ?? null,
        });
      } catch (err) {
        const refused = findRefusal(err);
        if (refused && !opts.signal?.aborted) {
          throw this.#refuse(hostOf(url), `resolves to a ${refused.addressClass} address`, err);
        }
        throw err;
      }
      // The host and path only: the query carries the signature.
      this.#log?.debug?.(
        {
          host: url.host,
          path: url.pathname,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        `${this.#label} download`,
      );
      const location = REDIRECT_STATUSES.has(res.statusCode) ? header(res.headers, "location") : undefined;
      if (location === undefined) return { res, url };
      discard(res);
      if (hop >= this.#maxRedirects) {
        throw new UpstreamError(`${this.#label} download redirected more than ${this.#maxRedirects} times`, {
          provider: this.#provider,
          httpStatus: res.statusCode,
        });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw this.#refuse(hostOf(url), "redirect to something that is not a URL");
      }
      url = this.check(next);
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  #refuse(host: string, reason: string, cause?: unknown): UntrustedDownloadError {
    this.#log?.warn({ host, reason }, `refused a ${this.#label} download link`);
    return new UntrustedDownloadError({ provider: this.#provider, host, reason, cause });
  }
}
