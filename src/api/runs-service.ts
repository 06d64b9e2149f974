/** The workflow-run RPCs: StartWorkflow, GetRun, ListRuns, CancelRun, ForkRun, GetRunEvents. */
import type { ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { KronosService, ListRunsRequest, StartWorkflowRequest } from "../gen/kronos/v1/kronos_pb.ts";
import * as blobs from "../store/blobs.ts";
import * as events from "../store/events.ts";
import * as runs from "../store/runs.ts";
import type { RunView } from "../workflow/views.ts";
import { eventMessage, fromEnum, jsonOf, RUN_STATUSES, runMessage, stepMessage } from "./convert.ts";
import { dateOf, intWithin, optionalText, pageSizeOf, requiredText, runIdOf } from "./fields.ts";
import { decodePageToken, takePage } from "./page-token.ts";
import type { ApiDeps } from "./service.ts";

type RunsRpcs = "startWorkflow" | "getRun" | "listRuns" | "cancelRun" | "forkRun" | "getRunEvents";

const runOf = (view: RunView) => runMessage(view, view);

/** The run's row, or NotFound naming runId. */
export async function existingRun(d: ApiDeps, runId: string): Promise<runs.RunRow> {
  const run = await runs.get(d.kronos.db, { id: runId });
  if (!run) throw new NotFoundError("runId", `run ${runId} does not exist`);
  return run;
}

async function startWorkflow(d: ApiDeps, req: StartWorkflowRequest) {
  // Everything is checked before engine.start, whose writes share one transaction:
  // a refused start leaves no run, step, job or event behind.
  const { runId, existing } = await d.kronos.startRun({
    workflowName: requiredText(req.workflowName, "workflowName", 200),
    input: jsonOf(req.input, "input"),
    version: req.version === "" ? undefined : req.version,
    idempotencyKey: optionalText(req.idempotencyKey, "idempotencyKey", 500),
  });
  return { run: runOf(await d.kronos.getRun(runId)), deduplicated: existing };
}

async function listRuns(d: ApiDeps, req: ListRunsRequest) {
  const status = fromEnum(RUN_STATUSES, req.status);
  if (req.status !== 0 && !status) throw new InvalidArgumentError("status", `status ${req.status} is not a run status`);
  const size = pageSizeOf(req.pageSize);
  const rows = await runs.list(d.kronos.db, {
    workflowName: optionalText(req.workflowName, "workflowName", 200),
    status,
    parentRunId: req.parentRunId === "" ? undefined : runIdOf(req.parentRunId, "parentRunId"),
    createdAfter: dateOf(req.createdAfter, "createdAfter"),
    createdBefore: dateOf(req.createdBefore, "createdBefore"),
    after: decodePageToken(req.pageToken, "runs"),
    limit: size + 1,
  });
  const { page, nextPageToken } = takePage(rows, size, (last) => ({
    list: "runs",
    at: last.createdMicros,
    id: last.id,
  }));
  // Inputs and outputs of the whole page in one query.
  const values = await blobs.get(
    d.kronos.db,
    page.flatMap((r) => (r.outputHash ? [r.inputHash, r.outputHash] : [r.inputHash])),
  );
  const valuesOf = (r: runs.RunRow) => ({
    input: values.get(r.inputHash),
    output: r.outputHash ? values.get(r.outputHash) : undefined,
  });
  return { runs: page.map((r) => runMessage(r, valuesOf(r))), nextPageToken };
}

async function forkRun(d: ApiDeps, runId: string, fromStep: string) {
  const child = await d.kronos.forkRun(runIdOf(runId), requiredText(fromStep, "fromStep", 100));
  return { run: runOf(await d.kronos.getRun(child.runId)) };
}

async function getRunEvents(d: ApiDeps, runId: string, afterSeq: number) {
  const run = await existingRun(d, runIdOf(runId));
  const rows = await events.list(d.kronos.db, {
    runId: run.id,
    afterSeq: intWithin(afterSeq, "afterSeq", 0, 2 ** 31 - 1),
  });
  return { events: rows.map(eventMessage) };
}

export function runsService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, RunsRpcs> {
  return {
    startWorkflow: (req) => startWorkflow(d, req),
    getRun: async (req) => {
      const view = await d.kronos.getRun(runIdOf(req.runId));
      return { run: runOf(view), steps: view.steps.map(stepMessage) };
    },
    listRuns: (req) => listRuns(d, req),
    cancelRun: async (req) => {
      const run = await d.kronos.cancelRun(runIdOf(req.runId));
      return { run: runOf(await d.kronos.getRun(run.id)) };
    },
    forkRun: (req) => forkRun(d, req.runId, req.fromStep),
    getRunEvents: (req) => getRunEvents(d, req.runId, req.afterSeq),
  };
}
