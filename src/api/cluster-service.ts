/** GetClusterInfo: the nodes sharing the database, the leader and the queue depth. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import * as jobs from "../store/jobs.ts";
import * as nodes from "../store/nodes.ts";
import { nodeMessage } from "./convert.ts";
import type { ApiDeps } from "./service.ts";

export function clusterService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, "getClusterInfo"> {
  return {
    async getClusterInfo() {
      const k = d.kronos;
      const [alive, depth] = await Promise.all([
        nodes.listAlive(k.db, { withinMs: d.nodeStaleMs }),
        jobs.countDue(k.db),
      ]);
      // This node knows first-hand whether it leads; other nodes' flags are as of their last heartbeat.
      const leader = k.leader.isLeader ? k.nodeId : (alive.find((n) => n.isLeader && n.id !== k.nodeId)?.id ?? "");
      return {
        nodes: alive.map((n) => nodeMessage({ ...n, isLeader: n.id === leader })),
        queueDepth: BigInt(depth),
        leaderId: leader,
      };
    },
  };
}
