/**
 * gRPC health checking (grpc.health.v1.Health) for load balancers, Kubernetes probes and
 * grpc_health_probe. The status itself lives outside the API, in a HealthSource that start-up
 * and shutdown flip, so draining can report NOT_SERVING before the listener closes.
 */
import { Code, ConnectError, type ConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as WireStatus } from "../gen/grpc/health/v1/health_pb.ts";
import { KronosService } from "../gen/kronos/v1/kronos_pb.ts";

/** Whether the server takes requests. */
export type ServingStatus = "SERVING" | "NOT_SERVING";

/** Where the health service reads the status from. */
export interface HealthSource {
  status(): ServingStatus;
  /** Calls `listener` on every change; returns the function that unsubscribes it. */
  onChange(listener: (status: ServingStatus) => void): () => void;
}

/**
 * A settable HealthSource.
 *
 * @example
 * const health = new HealthState("NOT_SERVING");
 * registerHealth(router, health);
 * await startWorkers();
 * health.set("SERVING");
 */
export class HealthState implements HealthSource {
  #status: ServingStatus;
  readonly #listeners = new Set<(status: ServingStatus) => void>();

  constructor(initial: ServingStatus = "SERVING") {
    this.#status = initial;
  }

  status(): ServingStatus {
    return this.#status;
  }

  /** Changes the status and tells every listener; setting the same status again is a no-op. */
  set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of [...this.#listeners]) listener(status);
  }

  onChange(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** Service names that report the overall status: "" (the server) and the Kronos API. */
export const HEALTH_SERVICE_NAMES: readonly string[] = ["", KronosService.typeName];

const toWire = (status: ServingStatus): WireStatus =>
  status === "SERVING" ? WireStatus.SERVING : WireStatus.NOT_SERVING;

/**
 * The grpc.health.v1.Health implementation over `source`.
 *
 * @example
 * router.service(Health, createHealthService(health));
 */
export function createHealthService(
  source: HealthSource,
  services: readonly string[] = HEALTH_SERVICE_NAMES,
): ServiceImpl<typeof Health> {
  const known = new Set(services);
  return {
    check(request) {
      if (!known.has(request.service)) {
        throw new ConnectError(
          `unknown service "${request.service}" (known: ${[...known].map((s) => `"${s}"`).join(", ")})`,
          Code.NotFound,
        );
      }
      return { status: toWire(source.status()) };
    },

    list() {
      const status = toWire(source.status());
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status }])) };
    },

    async *watch(request, context) {
      // The protocol keeps a watch on an unknown name open (the name could become known
      // later); ours never does, so it reports SERVICE_UNKNOWN once and waits for the hang-up.
      if (!known.has(request.service)) {
        yield { status: WireStatus.SERVICE_UNKNOWN };
        await aborted(context.signal);
        return;
      }
      for await (const status of statusChanges(source, context.signal)) yield { status: toWire(status) };
    },
  };
}

/**
 * Mounts the health service on a router.
 *
 * @example
 * const health = new HealthState();
 * const routes = (router: ConnectRouter) => registerHealth(router, health);
 */
export function registerHealth(
  router: ConnectRouter,
  source: HealthSource,
  services?: readonly string[],
): ConnectRouter {
  return router.service(Health, createHealthService(source, services));
}

/** Yields the current status, then each distinct change, until `signal` fires. */
async function* statusChanges(source: HealthSource, signal: AbortSignal): AsyncGenerator<ServingStatus> {
  const pending: ServingStatus[] = [];
  let wake: (() => void) | undefined;
  // Subscribe before reading the current status so that no change can fall in between.
  const unsubscribe = source.onChange((status) => {
    pending.push(status);
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    let last = source.status();
    yield last;
    while (!signal.aborted) {
      const next = pending.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      } else if (next !== last) {
        last = next;
        yield next;
      }
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
