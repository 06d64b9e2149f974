/**
 * Reads the API's list RPCs page through. Keyset cursors carry timestamps as whole microseconds
 * since 1970: a JavaScript Date keeps only milliseconds, and a cursor rounded to the millisecond
 * would skip rows created within the same millisecond as the last row of a page.
 */
import { type Queryable, sql } from "../db/index.ts";
import type { Job, JobState } from "./jobs.ts";
import type { RunRow, RunStatus } from "./runs.ts";

/** `at` as a timestamptz, exactly (interval arithmetic is integer microseconds). */
const fromMicros = (at: number) => sql`(timestamptz 'epoch' + ${at}::bigint * interval '1 microsecond')`;

export interface RunsPageParams {
  workflowName?: string;
  status?: RunStatus;
  parentRunId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Only runs older than this (created_at in µs since 1970, then id). */
  after?: { at: number; id: string };
  limit: number;
}

/** A run row with its exact created_at in µs since 1970, for the next page's cursor. */
export interface RunPageRow extends RunRow {
  createdMicros: number;
}

/** Runs newest first; served by kronos_runs_recent / _by_workflow / _by_status. */
export async function runsPage(db: Queryable, p: RunsPageParams): Promise<RunPageRow[]> {
  const filters = [
    p.workflowName ? sql`AND r.workflow_name = ${p.workflowName}` : sql``,
    p.status ? sql`AND r.status = ${p.status}` : sql``,
    p.parentRunId ? sql`AND r.parent_run_id = ${p.parentRunId}::uuid` : sql``,
    p.createdAfter ? sql`AND r.created_at >= ${p.createdAfter}` : sql``,
    p.createdBefore ? sql`AND r.created_at < ${p.createdBefore}` : sql``,
    p.after ? sql`AND (r.created_at, r.id) < (${fromMicros(p.after.at)}, ${p.after.id}::uuid)` : sql``,
  ];
  return db.query<RunPageRow>(sql`
    SELECT r.id, r.definition_id AS "definitionId", r.workflow_name AS "workflowName", d.version AS "workflowVersion",
      d.fingerprint, r.status, r.input_hash AS "inputHash", r.output_hash AS "outputHash", r.error,
      r.failed_step AS "failedStep", r.parent_run_id AS "parentRunId", r.forked_from AS "forkedFrom",
      r.idempotency_key AS "idempotencyKey", r.created_at AS "createdAt", r.finished_at AS "finishedAt",
      (extract(epoch FROM r.created_at) * 1000000)::float8 AS "createdMicros"
    FROM kronos_runs r JOIN kronos_definitions d ON d.id = r.definition_id
    WHERE true ${filters[0]} ${filters[1]} ${filters[2]} ${filters[3]} ${filters[4]} ${filters[5]}
    ORDER BY r.created_at DESC, r.id DESC LIMIT ${p.limit}`);
}

/** A dead job with its exact finished_at in µs since 1970, for the next page's cursor. */
export interface DeadJobPageRow extends Job {
  finishedMicros: number;
}

/**
 * Dead jobs, most recently dead first (finished_at, then id). Dead jobs are few, and
 * kronos_jobs_state_recent narrows the scan to them before the sort.
 */
export async function deadJobsPage(
  db: Queryable,
  p: { after?: { at: number; id: number }; limit: number },
): Promise<DeadJobPageRow[]> {
  const state: JobState = "dead";
  const after = p.after ? sql`AND (finished_at, id) < (${fromMicros(p.after.at)}, ${p.after.id}::bigint)` : sql``;
  return db.query<DeadJobPageRow>(sql`
    SELECT id, type, payload, priority, state, run_at AS "runAt", attempt, max_retries AS "maxRetries",
      timeout_ms AS "timeoutMs", idempotency_key AS "idempotencyKey", definition_id AS "definitionId",
      lease_owner AS "leaseOwner", lease_expires_at AS "leaseExpiresAt", result, last_error AS "lastError",
      created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt",
      (extract(epoch FROM finished_at) * 1000000)::float8 AS "finishedMicros"
    FROM kronos_jobs WHERE state = ${state} ${after}
    ORDER BY finished_at DESC, id DESC LIMIT ${p.limit}`);
}
