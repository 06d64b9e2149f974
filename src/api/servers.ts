import { Hono } from "hono";
import type { Config } from "../config/index.ts";
import type { Kronos } from "../kronos.ts";
import type { Logger } from "../log.ts";
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics/index.ts";
import type { HealthState } from "./health.ts";

export interface ServersOptions {
  kronos: Kronos;
  config: Config;
  health: HealthState;
  metrics: MetricsRegistry;
  log: Logger;
}

export interface RunningServers {
  adminPort: number;
  grpcPort: number | null;
  metricsPort: number | null;
  close(): Promise<void>;
}

/** The admin HTTP app: health for load balancers (and, as they land, the API and debugger). */
export function adminApp(o: ServersOptions): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const ok = o.health.status() === "SERVING";
    return c.json({ status: ok ? "ok" : o.kronos.draining ? "draining" : "unavailable" }, ok ? 200 : 503);
  });
  return app;
}

/** Starts the listeners of one node. Ports of 0 pick free ones (tests). */
export async function startServers(o: ServersOptions): Promise<RunningServers> {
  const app = adminApp(o);
  const admin = Bun.serve({
    hostname: o.config.adminAddr.host,
    port: o.config.adminAddr.port,
    fetch: app.fetch,
    maxRequestBodySize: o.config.maxRequestBytes,
  });
  const metrics = o.config.metricsAddr
    ? Bun.serve({
        hostname: o.config.metricsAddr.host,
        port: o.config.metricsAddr.port,
        fetch: async (req) =>
          new URL(req.url).pathname === "/metrics"
            ? new Response(await o.metrics.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } })
            : new Response("not found: metrics are at /metrics\n", { status: 404 }),
      })
    : undefined;
  return {
    adminPort: admin.port as number,
    grpcPort: null,
    metricsPort: (metrics?.port as number | undefined) ?? null,
    close: async () => {
      await admin.stop(true);
      await metrics?.stop(true);
    },
  };
}
