import { type Queryable, sql } from "../db/index.ts";

export type StepStatus = "waiting" | "scheduled" | "running" | "completed" | "failed" | "cancelled" | "reused";

export interface StepRow {
  runId: string;
  name: string;
  status: StepStatus;
  attempt: number;
  jobId: number | null;
  outputHash: string | null;
  error: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A (run, step) pair: how every batch statement here names its rows. */
export interface StepKey {
  runId: string;
  name: string;
}

const COLUMNS = sql`run_id AS "runId", name, status, attempt, job_id AS "jobId",
  output_hash AS "outputHash", error, started_at AS "startedAt", finished_at AS "finishedAt"`;

const runIds = (keys: readonly StepKey[]) => keys.map((k) => k.runId);
const names = (keys: readonly StepKey[]) => keys.map((k) => k.name);

export async function insertMany(
  db: Queryable,
  rows: readonly (StepKey & {
    status: StepStatus;
    outputHash?: string | null;
    jobId?: number | null;
  })[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql`
    INSERT INTO kronos_steps (run_id, name, status, output_hash, job_id, finished_at)
    SELECT r, n, s, h, j, CASE WHEN s = 'reused' THEN now() END
    FROM unnest(${runIds(rows)}::uuid[], ${names(rows)}::text[], ${rows.map((r) => r.status)}::text[],
                ${rows.map((r) => r.outputHash ?? null)}::text[], ${rows.map((r) => r.jobId ?? null)}::bigint[])
         AS u(r, n, s, h, j)`);
}

export async function listForRun(db: Queryable, p: { runId: string }): Promise<StepRow[]> {
  return db.query<StepRow>(sql`SELECT ${COLUMNS} FROM kronos_steps WHERE run_id = ${p.runId}`);
}

/** Output hashes of the named steps of each run (inputs of the steps about to run). */
export async function outputs(db: Queryable, keys: readonly StepKey[]): Promise<(StepKey & { outputHash: string })[]> {
  if (keys.length === 0) return [];
  return db.query(sql`
    SELECT s.run_id AS "runId", s.name, s.output_hash AS "outputHash"
    FROM kronos_steps s JOIN unnest(${runIds(keys)}::uuid[], ${names(keys)}::text[]) AS k(r, n) ON s.run_id = k.r AND s.name = k.n
    WHERE s.output_hash IS NOT NULL`);
}

/** Output values of the named steps that have one (their blobs, read in the same statement). */
export async function outputValues(
  db: Queryable,
  keys: readonly StepKey[],
): Promise<(StepKey & { output: unknown })[]> {
  if (keys.length === 0) return [];
  return db.query(sql`
    SELECT s.run_id AS "runId", s.name, b.data AS output
    FROM kronos_steps s JOIN unnest(${runIds(keys)}::uuid[], ${names(keys)}::text[]) AS k(r, n) ON s.run_id = k.r AND s.name = k.n
    JOIN kronos_blobs b ON b.hash = s.output_hash`);
}

/** A step that became ready, with the settings of its job. */
export interface ReadyStep extends StepKey {
  jobType: string;
  payload: unknown;
  definitionId: number;
  maxRetries: number;
  timeoutMs: number | null;
}

/**
 * Creates the jobs of ready steps and points their step rows at them, in one statement. The first
 * `claim.count` jobs are created running under `claim.worker`'s lease (attempt 1, step running),
 * the rest pending (step scheduled). Returns the job ids in the order of `rows`.
 */
export async function schedule(
  db: Queryable,
  rows: readonly ReadyStep[],
  claim: { worker: string; leaseMs: number; count: number } = { worker: "", leaseMs: 0, count: 0 },
): Promise<number[]> {
  if (rows.length === 0) return [];
  const created = await db.query<{ id: number }>(sql`
    WITH u AS (
      SELECT * FROM unnest(${runIds(rows)}::uuid[], ${names(rows)}::text[], ${rows.map((r) => r.jobType)}::text[],
                           ${rows.map((r) => JSON.stringify(r.payload))}::text[], ${rows.map((r) => r.definitionId)}::int[],
                           ${rows.map((r) => r.maxRetries)}::int[], ${rows.map((r) => r.timeoutMs)}::int[])
                    WITH ORDINALITY AS u(r, n, t, p, d, mr, tm, i)
    ), job AS (
      INSERT INTO kronos_jobs (type, payload, max_retries, timeout_ms, definition_id,
                               state, attempt, lease_owner, lease_expires_at, started_at)
      SELECT t, p::jsonb, mr, tm, d,
             CASE WHEN claimed THEN 'running' ELSE 'pending' END, CASE WHEN claimed THEN 1 ELSE 0 END,
             CASE WHEN claimed THEN ${claim.worker}::text END,
             CASE WHEN claimed THEN now() + ${claim.leaseMs} * interval '1 millisecond' END,
             CASE WHEN claimed THEN now() END
      FROM (SELECT u.*, u.i <= ${claim.count} AS claimed FROM u) AS c
      ORDER BY i
      RETURNING id, state = 'running' AS running
    ), numbered AS (
      -- Identity values follow the insert order above: the k-th smallest id is the k-th row.
      SELECT id, running, row_number() OVER (ORDER BY id) AS i FROM job
    ), step AS (
      UPDATE kronos_steps s SET job_id = j.id,
        status = CASE WHEN j.running THEN 'running' ELSE 'scheduled' END,
        attempt = CASE WHEN j.running THEN 1 ELSE s.attempt END,
        started_at = CASE WHEN j.running THEN now() ELSE s.started_at END
      FROM numbered j JOIN u ON u.i = j.i
      WHERE s.run_id = u.r AND s.name = u.n
    )
    SELECT j.id FROM numbered j ORDER BY j.i`);
  return created.map((c) => c.id);
}

export async function markRunning(db: Queryable, rows: readonly (StepKey & { attempt: number })[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql`
    UPDATE kronos_steps s SET status = 'running', attempt = u.a, started_at = now(), error = NULL
    FROM unnest(${runIds(rows)}::uuid[], ${names(rows)}::text[], ${rows.map((r) => r.attempt)}::int[]) AS u(r, n, a)
    WHERE s.run_id = u.r AND s.name = u.n`);
}

export async function markCompleted(db: Queryable, rows: readonly (StepKey & { outputHash: string })[]): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql`
    UPDATE kronos_steps s SET status = 'completed', output_hash = u.h, finished_at = now(), error = NULL
    FROM unnest(${runIds(rows)}::uuid[], ${names(rows)}::text[], ${rows.map((r) => r.outputHash)}::text[]) AS u(r, n, h)
    WHERE s.run_id = u.r AND s.name = u.n`);
}

/** Records a failed attempt: back to scheduled when it will be retried, failed when it will not. */
export async function markFailed(
  db: Queryable,
  rows: readonly (StepKey & { error: string; final: boolean })[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(sql`
    UPDATE kronos_steps s SET status = CASE WHEN u.f = 1 THEN 'failed' ELSE 'scheduled' END, error = u.e,
      finished_at = CASE WHEN u.f = 1 THEN now() END
    FROM unnest(${runIds(rows)}::uuid[], ${names(rows)}::text[], ${rows.map((r) => r.error)}::text[],
                ${rows.map((r) => (r.final ? 1 : 0))}::int[]) AS u(r, n, e, f) -- 0/1: postgres.js mistypes boolean arrays
    WHERE s.run_id = u.r AND s.name = u.n`);
}

/** The status of each named step that exists (read under the run lock: see step-job.ts). */
export async function statuses(db: Queryable, keys: readonly StepKey[]): Promise<(StepKey & { status: StepStatus })[]> {
  if (keys.length === 0) return [];
  return db.query(sql`
    SELECT s.run_id AS "runId", s.name, s.status
    FROM kronos_steps s JOIN unnest(${runIds(keys)}::uuid[], ${names(keys)}::text[]) AS k(r, n) ON s.run_id = k.r AND s.name = k.n`);
}

/** Stops every step of a run that has not finished; returns the jobs to cancel. */
export async function cancelUnfinished(db: Queryable, p: { runId: string }): Promise<number[]> {
  const rows = await db.query<{ jobId: number | null }>(sql`
    UPDATE kronos_steps SET status = 'cancelled', finished_at = now()
    WHERE run_id = ${p.runId} AND status IN ('waiting', 'scheduled', 'running')
    RETURNING job_id AS "jobId"`);
  return rows.flatMap((r) => (r.jobId === null ? [] : [r.jobId]));
}
