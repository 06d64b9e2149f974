/** The job-queue RPCs: SubmitJob, GetJob, ListJobs, CancelJob, ListDeadJobs, RetryJob. */
import type { ServiceImpl } from "@connectrpc/connect";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import type {
  KronosService,
  ListDeadJobsRequest,
  ListJobsRequest,
  SubmitJobRequest,
} from "../gen/kronos/v1/kronos_pb.ts";
import * as jobs from "../store/jobs.ts";
import { STEP_JOB } from "../workflow/step-job.ts";
import { fromEnum, JOB_STATES, jobMessage, jsonOf } from "./convert.ts";
import { dateOf, intWithin, jobIdOf, optionalText, pageSizeOf, priorityOf, requiredText } from "./fields.ts";
import { decodePageToken, takePage } from "./page-token.ts";
import type { ApiDeps } from "./service.ts";

type JobsRpcs = "submitJob" | "getJob" | "listJobs" | "cancelJob" | "listDeadJobs" | "retryJob";

// setTimeout fires at once past 2^31-1 ms; keep per-job timeouts under it (about 24 days).
const MAX_TIMEOUT_MS = 24 * 86_400_000;

async function existingJob(d: ApiDeps, id: number): Promise<jobs.Job> {
  const job = await jobs.get(d.kronos.db, { id });
  if (!job) throw new NotFoundError("id", `job ${id} does not exist`);
  return job;
}

/** Step jobs belong to their run: changing one by hand would leave the run's projection wrong. */
function refuseStepJob(job: jobs.Job, instead: "CancelRun" | "ForkRun"): void {
  if (job.type === STEP_JOB || job.definitionId !== null) {
    const runId = (job.payload as { runId?: string } | null)?.runId ?? "?";
    throw new FailedPreconditionError(
      `job ${job.id} is a step of workflow run ${runId}; use ${instead} on the run instead`,
    );
  }
}

async function submitJob(d: ApiDeps, req: SubmitJobRequest) {
  const type = requiredText(req.type, "type", 200);
  if (type === STEP_JOB) {
    throw new InvalidArgumentError("type", `type "${STEP_JOB}" is reserved for workflow steps; use StartWorkflow`);
  }
  const { job, existing } = await d.kronos.submit({
    type,
    payload: jsonOf(req.payload, "payload") ?? null,
    priority: priorityOf(req.priority),
    runAt: dateOf(req.runAt, "runAt"),
    maxRetries: req.maxRetries === undefined ? undefined : intWithin(req.maxRetries, "maxRetries", 0, 1000),
    timeoutMs: req.timeoutMs === undefined ? undefined : intWithin(req.timeoutMs, "timeoutMs", 1, MAX_TIMEOUT_MS),
    idempotencyKey: optionalText(req.idempotencyKey, "idempotencyKey", 500),
  });
  return { job: jobMessage(job), deduplicated: existing };
}

async function listJobs(d: ApiDeps, req: ListJobsRequest) {
  const state = fromEnum(JOB_STATES, req.state);
  if (req.state !== 0 && !state) throw new InvalidArgumentError("state", `state ${req.state} is not a job state`);
  const size = pageSizeOf(req.pageSize);
  const cursor = decodePageToken(req.pageToken, "jobs");
  const rows = await jobs.list(d.kronos.db, {
    state,
    type: optionalText(req.type, "type", 200),
    beforeId: cursor?.id,
    limit: size + 1,
  });
  const { page, nextPageToken } = takePage(rows, size, (last) => ({ list: "jobs", id: last.id }));
  return { jobs: page.map(jobMessage), nextPageToken };
}

async function listDeadJobs(d: ApiDeps, req: ListDeadJobsRequest) {
  const size = pageSizeOf(req.pageSize);
  const after = decodePageToken(req.pageToken, "dead-jobs");
  const rows = await jobs.listDead(d.kronos.db, { after, limit: size + 1 });
  const { page, nextPageToken } = takePage(rows, size, (last) => ({
    list: "dead-jobs",
    at: last.finishedMicros,
    id: last.id,
  }));
  return { jobs: page.map(jobMessage), nextPageToken };
}

async function cancelJob(d: ApiDeps, id: number) {
  const job = await existingJob(d, id);
  refuseStepJob(job, "CancelRun");
  const cancelled = await jobs.cancel(d.kronos.db, { id });
  if (!cancelled) {
    const now = await existingJob(d, id);
    throw new FailedPreconditionError(
      `job ${id} is already ${now.state}; only a pending or running job can be cancelled`,
    );
  }
  return { job: jobMessage(cancelled) };
}

async function retryJob(d: ApiDeps, id: number) {
  const job = await existingJob(d, id);
  refuseStepJob(job, "ForkRun");
  const retried = job.state === "dead" ? await jobs.retryDead(d.kronos.db, { id }) : undefined;
  if (!retried) {
    const now = await existingJob(d, id);
    throw new FailedPreconditionError(`job ${id} is ${now.state}, not dead; only a dead job can be retried`);
  }
  return { job: jobMessage(retried) };
}

export function jobsService(d: ApiDeps): Pick<ServiceImpl<typeof KronosService>, JobsRpcs> {
  return {
    submitJob: (req) => submitJob(d, req),
    getJob: async (req) => ({ job: jobMessage(await existingJob(d, jobIdOf(req.id))) }),
    listJobs: (req) => listJobs(d, req),
    cancelJob: (req) => cancelJob(d, jobIdOf(req.id)),
    listDeadJobs: (req) => listDeadJobs(d, req),
    retryJob: (req) => retryJob(d, jobIdOf(req.id)),
  };
}
