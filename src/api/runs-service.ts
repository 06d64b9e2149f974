/** The workflow-run RPCs: StartWorkflow, GetRun, ListRuns, CancelRun, ForkRun, GetRunEvents. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { KronosService } from "../gen/kronos/v1/kronos_pb.ts";
import * as reads from "../store/api-reads.ts";
import * as blobs from "../store/blobs.ts";
import * as events from "../store/events.ts";
import * as runs from "../store/runs.ts";
import type { RunView } from "../workflow/views.ts";
import { eventMessage, fromEnum, jsonOf, RUN_STATUSES, runMessage, stepMessage } from "./convert.ts";
import { dateOf, intWithin, optionalText, pageSizeOf, requiredText, runIdOf } from "./fields.ts";
import { decodePageToken, encodePageToken } from "./page-token.ts";
import type { ApiDeps } from "./service.ts";

type RunsRpcs = "startWorkflow" | "getRun" | "listRuns" | "cancelRun" | "forkRun" | "getRunEvents";

const runOf = (view: RunView) => runMessage(view, view);

/** The run's row, or NotFound naming runId. */
export async function existingRun(d: ApiDeps, runId: string): Promise<runs.RunRow> {
  const run = await runs.get(d.kronos.db, { id: runId });
  if (!run) throw new NotFoundError("runId", `run ${runId} does not exist`);
  return run;
}

export function runsService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, RunsRpcs> {
  const k = d.kronos;
  return {
    async startWorkflow(req) {
      // Everything is checked before engine.start, whose writes share one transaction:
      // a refused start leaves no run, step, job or event behind.
      const { runId, existing } = await k.startRun({
        workflowName: requiredText(req.workflowName, "workflowName", 200),
        input: jsonOf(req.input, "input"),
        version: req.version === "" ? undefined : req.version,
        idempotencyKey: optionalText(req.idempotencyKey, "idempotencyKey", 500),
      });
      return { run: runOf(await k.getRun(runId)), deduplicated: existing };
    },

    async getRun(req) {
      const view = await k.getRun(runIdOf(req.runId));
      return { run: runOf(view), steps: view.steps.map(stepMessage) };
    },

    async listRuns(req) {
      const status = fromEnum(RUN_STATUSES, req.status);
      if (req.status !== 0 && !status)
        throw new InvalidArgumentError("status", `status ${req.status} is not a run status`);
      const size = pageSizeOf(req.pageSize);
      const cursor = decodePageToken(req.pageToken, "runs");
      const rows = await reads.runsPage(k.db, {
        workflowName: optionalText(req.workflowName, "workflowName", 200),
        status,
        parentRunId: req.parentRunId === "" ? undefined : runIdOf(req.parentRunId, "parentRunId"),
        createdAfter: dateOf(req.createdAfter, "createdAfter"),
        createdBefore: dateOf(req.createdBefore, "createdBefore"),
        after: cursor,
        limit: size + 1,
      });
      const page = rows.slice(0, size);
      const values = await blobs.get(
        k.db,
        page.flatMap((r) => (r.outputHash ? [r.inputHash, r.outputHash] : [r.inputHash])),
      );
      const last = page.at(-1);
      return {
        runs: page.map((r) =>
          runMessage(r, {
            input: values.get(r.inputHash),
            output: r.outputHash ? values.get(r.outputHash) : undefined,
          }),
        ),
        nextPageToken:
          rows.length > size && last ? encodePageToken({ list: "runs", at: last.createdMicros, id: last.id }) : "",
      };
    },

    async cancelRun(req) {
      const run = await k.cancelRun(runIdOf(req.runId));
      return { run: runOf(await k.getRun(run.id)) };
    },

    async forkRun(req) {
      const parentId = runIdOf(req.runId);
      const fromStep = requiredText(req.fromStep, "fromStep", 100);
      const { runId } = await k.forkRun(parentId, fromStep);
      return { run: runOf(await k.getRun(runId)) };
    },

    async getRunEvents(req) {
      const run = await existingRun(d, runIdOf(req.runId));
      const afterSeq = intWithin(req.afterSeq, "afterSeq", 0, 2 ** 31 - 1);
      const rows = await events.list(k.db, { runId: run.id, afterSeq });
      return { events: rows.map(eventMessage) };
    },
  };
}
