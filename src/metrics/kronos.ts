import type { Counter, Gauge, Histogram, MetricsRegistry } from "./registry.ts";

/** How recording a job attempt ended: done, failed for good, failed and rescheduled, moved to dead-letter, or refused as late. */
export type JobOutcome = "completed" | "failed" | "retried" | "dead" | "refused";
/** How a workflow run ended. */
export type RunOutcome = "completed" | "failed" | "cancelled";

/** Seconds, from 1ms to a minute: job and step handlers. */
export const DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
/** Jobs per claim query, up to SCHEDULER_BATCH_SIZE's limit. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/** The metrics Kronos records, as typed handles: a wrong label name or outcome does not compile. */
export interface KronosMetrics {
  readonly jobsCompleted: Counter<{ type: string; outcome: JobOutcome }>;
  readonly jobDuration: Histogram<{ type: string }>;
  readonly queueDepth: Gauge;
  readonly claimBatchSize: Histogram;
  readonly rpcRequests: Counter<{ method: string; code: string }>;
  readonly rpcDuration: Histogram<{ method: string }>;
  readonly workflowRuns: Counter<{ workflow: string; outcome: RunOutcome }>;
  readonly stepDuration: Histogram<{ workflow: string; step: string }>;
}

export interface KronosMetricsOptions {
  /** Jobs due now, read at every scrape (e.g. `() => jobs.countDue(db)`); without it, `queueDepth.set()`. */
  queueDepth?: () => number | Promise<number>;
}

/**
 * Registers the Kronos metric set on a registry.
 * @example
 * const metrics = createKronosMetrics(new MetricsRegistry(), { queueDepth: () => jobs.countDue(db) });
 * metrics.jobsCompleted.inc({ type: "email", outcome: "completed" });
 */
export function createKronosMetrics(registry: MetricsRegistry, options: KronosMetricsOptions = {}): KronosMetrics {
  const depth = options.queueDepth;
  return {
    jobsCompleted: registry.counter({
      name: "kronos_job_outcomes_total",
      help: "Job attempts recorded, by job type and outcome (completed, failed, retried, dead, refused).",
      labels: ["type", "outcome"],
    }),
    jobDuration: registry.histogram({
      name: "kronos_job_duration_seconds",
      help: "Time a job handler ran, by job type.",
      labels: ["type"],
      buckets: DURATION_BUCKETS,
    }),
    queueDepth: registry.gauge({
      name: "kronos_queue_depth",
      help: "Jobs due to run now and not yet claimed.",
      collect: depth && (() => depth()),
    }),
    claimBatchSize: registry.histogram({
      name: "kronos_claim_batch_size",
      help: "Jobs returned by one claim query.",
      buckets: BATCH_BUCKETS,
    }),
    rpcRequests: registry.counter({
      name: "kronos_rpc_requests_total",
      help: "API calls handled, by method and Connect code.",
      labels: ["method", "code"],
    }),
    rpcDuration: registry.histogram({
      name: "kronos_rpc_duration_seconds",
      help: "Time to handle an API call, by method.",
      labels: ["method"],
      buckets: DURATION_BUCKETS,
    }),
    workflowRuns: registry.counter({
      name: "kronos_workflow_runs_total",
      help: "Workflow runs finished, by workflow and outcome.",
      labels: ["workflow", "outcome"],
    }),
    stepDuration: registry.histogram({
      name: "kronos_step_duration_seconds",
      help: "Time a workflow step ran, by workflow and step.",
      labels: ["workflow", "step"],
      buckets: DURATION_BUCKETS,
    }),
  };
}
