import type http2 from "node:http2";
import type { AddressInfo } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import { Hono } from "hono";
import type { Config } from "../config/index.ts";
import type { Address } from "../config/parse.ts";
import type { Kronos } from "../kronos.ts";
import type { Logger } from "../log.ts";
import { type MetricsRegistry, PROMETHEUS_CONTENT_TYPE } from "../metrics/index.ts";
import type { HealthState } from "./health.ts";
import { createH2cServer, mountConnect } from "./mount.ts";
import type { RpcMetrics } from "./observe.ts";
import { createKronosRouter } from "./router.ts";

export interface ServersOptions {
  kronos: Kronos;
  config: Config;
  health: HealthState;
  metrics: MetricsRegistry;
  log: Logger;
  /** RPC counter and latency histogram (from createKronosMetrics on `metrics`); without them RPCs go uncounted. */
  rpcMetrics?: RpcMetrics;
  /**
   * Adds routes to the admin app after /healthz and the API, e.g. the debugger UI under
   * /debugger/ (protect them with `bearerAuth(config.apiToken)` from ./auth.ts).
   */
  mountAdmin?: (app: Hono) => void;
}

export interface RunningServers {
  adminPort: number;
  /** The h2c (gRPC) port. */
  grpcPort: number | null;
  metricsPort: number | null;
  close(): Promise<void>;
}

/**
 * The admin HTTP app: /healthz for load balancers, the Connect router (Connect and gRPC-web) when
 * given one, then whatever `o.mountAdmin` adds (the debugger).
 */
export function adminApp(o: ServersOptions, router?: ConnectRouter): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => {
    const ok = o.health.status() === "SERVING";
    return c.json({ status: ok ? "ok" : o.kronos.draining ? "draining" : "unavailable" }, ok ? 200 : 503);
  });
  if (router) mountConnect(app, router);
  o.mountAdmin?.(app);
  return app;
}

/** `:8080` listens on every interface; node:http2 wants no host for that, Bun.serve any. */
const listenHost = (address: Address) => (address.host === "" ? undefined : address.host);

async function listenH2c(server: http2.Http2Server, address: Address): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) =>
      reject(new Error(`GRPC_ADDR: cannot listen on port ${address.port}: ${error.message}`));
    server.once("error", fail);
    server.listen(address.port, listenHost(address), () => {
      server.off("error", fail);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** How long closing waits for in-flight requests before cutting their connections. */
const CLOSE_GRACE_MS = 2_000;

/** Closes an h2c server: open sessions are asked to finish, and dropped if they have not soon after. */
async function closeH2c(server: http2.Http2Server, sessions: Set<http2.ServerHttp2Session>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const session of sessions) session.close();
  const timer = setTimeout(() => {
    for (const session of sessions) session.destroy();
  }, CLOSE_GRACE_MS);
  await closed;
  clearTimeout(timer);
}

/** Stops the admin server: in-flight requests may finish for a moment, then are cut. */
async function closeAdmin(admin: ReturnType<typeof Bun.serve>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cut = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_GRACE_MS);
  });
  await Promise.race([admin.stop(false), cut]);
  clearTimeout(timer);
  await admin.stop(true);
}

function startMetrics(o: ServersOptions) {
  if (!o.config.metricsAddr) return undefined;
  return Bun.serve({
    hostname: o.config.metricsAddr.host,
    port: o.config.metricsAddr.port,
    fetch: async (req) =>
      new URL(req.url).pathname === "/metrics"
        ? new Response(await o.metrics.render(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } })
        : new Response("not found: metrics are at /metrics\n", { status: 404 }),
  });
}

/**
 * Starts the listeners of one node: the admin app (Connect, gRPC-web, /healthz, debugger), the
 * h2c server (gRPC, Connect) sharing its router, and /metrics. Ports of 0 pick free ones; the
 * ports bound are returned.
 */
export async function startServers(o: ServersOptions): Promise<RunningServers> {
  const shutdown = new AbortController();
  const router = createKronosRouter({
    kronos: o.kronos,
    health: o.health,
    log: o.log,
    metrics: o.rpcMetrics,
    apiToken: o.config.apiToken,
    readMaxBytes: o.config.maxRequestBytes,
    nodeStaleMs: 3 * Math.max(1_000, o.config.leaderCheckMs),
    shutdownSignal: shutdown.signal,
  });
  const admin = Bun.serve({
    hostname: o.config.adminAddr.host,
    port: o.config.adminAddr.port,
    fetch: adminApp(o, router).fetch,
    // The router enforces maxRequestBytes itself, answering ResourceExhausted in the caller's
    // protocol (a bare 413 reads as "unknown" to Connect clients). Bun's limit is only a backstop
    // against huge uploads to other routes, set well above it.
    maxRequestBodySize: Math.min(2 ** 30, o.config.maxRequestBytes * 16),
  });
  const h2c = createH2cServer(router);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2c.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  let grpcPort: number;
  let metrics: ReturnType<typeof startMetrics>;
  try {
    grpcPort = await listenH2c(h2c, o.config.grpcAddr);
    metrics = startMetrics(o);
  } catch (error) {
    await admin.stop(true);
    if (h2c.listening) await closeH2c(h2c, sessions);
    throw error;
  }
  return {
    adminPort: admin.port as number,
    grpcPort,
    metricsPort: (metrics?.port as number | undefined) ?? null,
    close: async () => {
      // Streams (Watch, StreamRunEvents) see the shutdown signal and end cleanly, then the
      // listeners close; connections still busy after a grace period are cut.
      shutdown.abort();
      await Promise.all([closeAdmin(admin), closeH2c(h2c, sessions), metrics?.stop(true)]);
    },
  };
}
