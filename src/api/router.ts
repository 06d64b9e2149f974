/**
 * The one Connect router of a node: KronosService, grpc.health.v1.Health and server reflection,
 * with the request gate, the error interceptor and the size limit. servers.ts serves it twice.
 */
import { type ConnectRouter, createConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { Health } from "../gen/grpc/health/v1/health_pb.ts";
import { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import { type HealthSource, registerHealth } from "./health.ts";
import { createErrorInterceptor, createRequestGate, type ObserveOptions } from "./observe.ts";
import { registerReflection } from "./reflection.ts";
import { type ApiDeps, createKronosService } from "./service.ts";

export interface KronosRouterOptions extends ApiDeps, ObserveOptions {
  health: HealthSource;
  /** Largest request message accepted (KRONOS_MAX_REQUEST_BYTES); larger ones get ResourceExhausted. */
  readMaxBytes: number;
  /** Fires when the servers close: open streams (Watch, StreamRunEvents) end. */
  shutdownSignal?: AbortSignal;
}

/**
 * Builds the router with every service of the API.
 *
 * @example
 * const router = createKronosRouter({ kronos, health, log, readMaxBytes: 4 << 20, nodeStaleMs: 5_000 });
 */
export function createKronosRouter(o: KronosRouterOptions): ConnectRouter {
  const router = createConnectRouter({
    readMaxBytes: o.readMaxBytes,
    acceptCompression: [compressionGzip, compressionBrotli],
    requestGate: createRequestGate(o),
    interceptors: [createErrorInterceptor(o)],
    shutdownSignal: o.shutdownSignal,
  });
  router.service(KronosService, createKronosService(o));
  registerHealth(router, o.health);
  registerReflection(router, [KronosService, Health]);
  return router;
}
