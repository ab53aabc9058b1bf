import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface HealthReport {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  port: number;
  /**
   * The address to listen on. Default 127.0.0.1: metrics and health stay on the machine unless the
   * operator opens them up (METRICS_HOST=0.0.0.0 for a scraper outside the container).
   */
  host?: string;
  registry: Registry;
  /** A failing (rejecting) check reads as unhealthy. */
  health: () => HealthReport | Promise<HealthReport>;
}

export interface MetricsServer {
  /** The address bound. */
  host: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_METRICS_HOST = "127.0.0.1";

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
      Promise.resolve()
        .then(() => opts.health())
        .catch((): HealthReport => ({ ok: false, error: "health check failed" }))
        .then((report) => {
          res
            .writeHead(report.ok ? 200 : 503, {
              "content-type": "application/json",
              "cache-control": "no-store",
            })
            .end(JSON.stringify({ status: report.ok ? "ok" : "unavailable", ...report }));
        });
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? DEFAULT_METRICS_HOST, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
