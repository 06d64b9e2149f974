/** ListWorkflows: every definition this node loaded, all versions, with its DAG. */
import type { ServiceImpl } from "@connectrpc/connect";
import type { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import { workflowMessage } from "./convert.ts";
import type { ApiDeps } from "./service.ts";

export function workflowsService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, "listWorkflows"> {
  return {
    listWorkflows() {
      const registry = d.kronos.workflows;
      return {
        workflows: registry.list().map((def) => workflowMessage(def, registry.latest(def.name) === def)),
      };
    },
  };
}
