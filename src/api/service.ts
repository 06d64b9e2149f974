/**
 * The KronosService implementation, assembled from one file per group of RPCs. Handlers throw
 * domain errors (src/errors.ts); the router's interceptor maps them to Connect codes.
 */
import type { ServiceImpl } from "@connectrpc/connect";
import type { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import type { Kronos } from "../kronos.ts";
import { clusterService } from "./cluster-service.ts";
import { jobsService } from "./jobs-service.ts";
import { runsService } from "./runs-service.ts";
import { streamEventsService } from "./stream-events.ts";
import { workflowsService } from "./workflows-service.ts";

/** What the handlers need. */
export interface ApiDeps {
  kronos: Kronos;
  /** GetClusterInfo leaves out nodes whose last heartbeat is older than this (ms). */
  nodeStaleMs: number;
}

/**
 * Every RPC of kronos.v1.KronosService over one Kronos node.
 *
 * @example
 * router.service(KronosService, createKronosService({ kronos, nodeStaleMs: 5_000 }));
 */
export function createKronosService(d: ApiDeps): ServiceImpl<typeof KronosService> {
  return {
    ...jobsService(d),
    ...runsService(d),
    ...streamEventsService(d),
    ...workflowsService(d),
    ...clusterService(d),
  };
}
