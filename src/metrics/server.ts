import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  port: number;
  /** Default: every interface, so a scraper outside the container can reach it. */
  host?: string;
  registry: Registry;
  health: () => HealthReport;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** `GET /metrics` (Prometheus text format) and `GET /healthz` (200 when healthy, 503 otherwise). */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      opts.registry
        .metrics()
        .then((text) => res.writeHead(200, { "content-type": opts.registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
      return;
    }
    if (path === "/healthz") {
      const report = opts.health();
      res
        .writeHead(report.ok ? 200 : 503, { "content-type": "application/json" })
        .end(JSON.stringify({ status: report.ok ? "ok" : "unavailable", ...report }));
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
