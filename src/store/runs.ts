import { json, type Queryable, sql } from "../db/index.ts";
import * as blobs from "./blobs.ts";
import * as events from "./events.ts";

export type RunStatus = "running" | "completed" | "failed" | "cancelled";

export interface RunRow {
  id: string;
  definitionId: number;
  workflowName: string;
  workflowVersion: string;
  fingerprint: string;
  status: RunStatus;
  inputHash: string;
  outputHash: string | null;
  error: { step: string; attempt: number; message: string } | null;
  failedStep: string | null;
  parentRunId: string | null;
  forkedFrom: string | null;
  idempotencyKey: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

const COLUMNS = sql`r.id, r.definition_id AS "definitionId", r.workflow_name AS "workflowName", d.version AS "workflowVersion",
  d.fingerprint, r.status, r.input_hash AS "inputHash", r.output_hash AS "outputHash", r.error, r.failed_step AS "failedStep",
  r.parent_run_id AS "parentRunId", r.forked_from AS "forkedFrom", r.idempotency_key AS "idempotencyKey",
  r.created_at AS "createdAt", r.finished_at AS "finishedAt"`;

export interface NewRun {
  definitionId: number;
  workflowName: string;
  inputHash: string;
  parentRunId?: string;
  forkedFrom?: string;
  idempotencyKey?: string;
}

/** Inserts a run; with an idempotency key already used, returns that run's id instead (`existing`). */
export async function insert(db: Queryable, r: NewRun): Promise<{ id: string; existing: boolean }> {
  const [row] = await db.query<{ id: string }>(sql`
    INSERT INTO kronos_runs (definition_id, workflow_name, input_hash, parent_run_id, forked_from, idempotency_key)
    VALUES (${r.definitionId}, ${r.workflowName}, ${r.inputHash}, ${r.parentRunId ?? null}::uuid,
            ${r.forkedFrom ?? null}::text, ${r.idempotencyKey ?? null}::text)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id`);
  if (row) return { id: row.id, existing: false };
  const [found] = await db.query<{ id: string }>(
    sql`SELECT id FROM kronos_runs WHERE idempotency_key = ${r.idempotencyKey ?? null}`,
  );
  if (!found) throw new Error("run insert conflicted but no run holds the idempotency key");
  return { id: found.id, existing: true };
}

export async function get(db: Queryable, p: { id: string }): Promise<RunRow | undefined> {
  const [row] = await db.query<RunRow>(sql`
    SELECT ${COLUMNS} FROM kronos_runs r JOIN kronos_definitions d ON d.id = r.definition_id WHERE r.id = ${p.id}`);
  return row;
}

/**
 * Locks runs in id order (so concurrent batches cannot deadlock) and returns their status.
 */
export async function lock(db: Queryable, p: { ids: readonly string[] }): Promise<Map<string, RunStatus>> {
  if (p.ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; status: RunStatus }>(sql`
    SELECT id, status FROM kronos_runs WHERE id = ANY(${[...new Set(p.ids)]}::uuid[]) ORDER BY id FOR UPDATE`);
  return new Map(rows.map((r) => [r.id, r.status]));
}

export async function complete(
  db: Queryable,
  p: { runs: readonly { id: string; outputHash: string }[] },
): Promise<void> {
  if (p.runs.length === 0) return;
  await db.query(sql`
    UPDATE kronos_runs r SET status = 'completed', output_hash = c.h, finished_at = now()
    FROM unnest(${p.runs.map((x) => x.id)}::uuid[], ${p.runs.map((x) => x.outputHash)}::text[]) AS c(id, h)
    WHERE r.id = c.id AND r.finished_at IS NULL -- = running; no index serves this, so the plan stays on the primary key`);
}

export async function fail(
  db: Queryable,
  p: { id: string; step: string; attempt: number; message: string },
): Promise<void> {
  await db.query(sql`
    UPDATE kronos_runs SET status = 'failed', failed_step = ${p.step}, finished_at = now(),
      error = ${json({ step: p.step, attempt: p.attempt, message: p.message })}::jsonb
    WHERE id = ${p.id} AND status = 'running'`);
}

export async function cancel(db: Queryable, p: { id: string }): Promise<boolean> {
  const rows = await db.query(sql`
    UPDATE kronos_runs SET status = 'cancelled', finished_at = now() WHERE id = ${p.id} AND status = 'running' RETURNING id`);
  return rows.length === 1;
}

/** `at` (µs since 1970) as a timestamptz, exactly: interval arithmetic is integer microseconds. */
export const fromMicros = (at: number) => sql`(timestamptz 'epoch' + ${at}::bigint * interval '1 microsecond')`;

export interface ListRunsParams {
  workflowName?: string;
  status?: RunStatus;
  parentRunId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  /**
   * Keyset cursor: only runs older than this (created_at in µs since 1970, then id). Microseconds,
   * because a Date keeps only milliseconds and a rounded cursor would skip rows of the same ms.
   */
  after?: { at: number; id: string };
  limit: number;
}

/** A run row with its exact created_at in µs since 1970, for the next page's cursor. */
export interface ListedRun extends RunRow {
  createdMicros: number;
}

/**
 * Runs newest first; served by kronos_runs_recent / _by_workflow / _by_status (the last holds
 * every status but completed: completed runs are found walking kronos_runs_recent).
 */
export async function list(db: Queryable, p: ListRunsParams): Promise<ListedRun[]> {
  const filters = [
    p.workflowName ? sql`AND r.workflow_name = ${p.workflowName}` : sql``,
    p.status ? sql`AND r.status = ${p.status}` : sql``,
    p.parentRunId ? sql`AND r.parent_run_id = ${p.parentRunId}::uuid` : sql``,
    p.createdAfter ? sql`AND r.created_at >= ${p.createdAfter}` : sql``,
    p.createdBefore ? sql`AND r.created_at < ${p.createdBefore}` : sql``,
    p.after ? sql`AND (r.created_at, r.id) < (${fromMicros(p.after.at)}, ${p.after.id}::uuid)` : sql``,
  ];
  return db.query<ListedRun>(sql`
    SELECT ${COLUMNS}, (extract(epoch FROM r.created_at) * 1000000)::float8 AS "createdMicros"
    FROM kronos_runs r JOIN kronos_definitions d ON d.id = r.definition_id
    WHERE true ${filters[0]} ${filters[1]} ${filters[2]} ${filters[3]} ${filters[4]} ${filters[5]}
    ORDER BY r.created_at DESC, r.id DESC LIMIT ${p.limit}`);
}

/**
 * Deletes up to `limit` runs finished before `before`, with their steps and events (retention;
 * no foreign keys cascade, see migration 0004). Returns how many runs.
 */
export async function deleteFinished(db: Queryable, p: { before: Date; limit: number }): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql`
    WITH run AS (
      DELETE FROM kronos_runs WHERE id IN (
        SELECT id FROM kronos_runs WHERE finished_at < ${p.before} ORDER BY finished_at LIMIT ${p.limit})
      RETURNING id
    ), step AS (
      DELETE FROM kronos_steps WHERE run_id IN (SELECT id FROM run)
    ), event AS (
      DELETE FROM kronos_event_batches WHERE run_id IN (SELECT id FROM run)
    )
    SELECT count(*)::int AS n FROM run`);
  return row?.n ?? 0;
}

/** Input values of runs (their blobs, read in the same statement). */
export async function inputs(db: Queryable, p: { ids: readonly string[] }): Promise<Map<string, unknown>> {
  if (p.ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; input: unknown }>(sql`
    SELECT r.id, b.data AS input FROM kronos_runs r JOIN kronos_blobs b ON b.hash = r.input_hash
    WHERE r.id = ANY(${[...new Set(p.ids)]}::uuid[])`);
  return new Map(rows.map((r) => [r.id, r.input]));
}

export interface StartRun {
  /** Chosen by the caller (a random UUID), so a batch maps its rows back without a lookup. */
  id: string;
  definitionId: number;
  workflowName: string;
  input: blobs.Blob;
  /** Every step of the definition. */
  steps: readonly string[];
  /** The steps to schedule now, with their job settings. */
  roots: readonly { name: string; maxRetries: number; timeoutMs: number | null }[];
  /** Data of the run_started event. */
  startedData: Record<string, unknown>;
  idempotencyKey?: string;
}

/**
 * Starts runs in ONE statement, however many (the hot path of StartWorkflow, batched): input blobs,
 * run rows, step rows, root step jobs, and each run's run_started + step_scheduled events with seq
 * 1..n. Foreign keys are checked at the end of the statement, after every part is in. A run whose
 * idempotency key is already used writes nothing and gets the existing run's id (`existing`).
 */
export async function startMany(
  db: Queryable,
  p: { stepJobType: string; runs: readonly StartRun[] },
): Promise<{ id: string; existing: boolean }[]> {
  const rs = p.runs;
  const steps = rs.flatMap((r) => r.steps.map((name) => ({ run: r.id, name })));
  const roots = rs.flatMap((r) => r.roots.map((root) => ({ run: r.id, ...root })));
  const inserted = await db.query<{ id: string }>(sql`
    WITH input AS (
      SELECT * FROM unnest(${rs.map((r) => r.id)}::uuid[], ${rs.map((r) => r.definitionId)}::int[],
                           ${rs.map((r) => r.workflowName)}::text[], ${rs.map((r) => r.input.hash)}::text[],
                           ${rs.map((r) => r.idempotencyKey ?? null)}::text[],
                           ${rs.map((r) => JSON.stringify(r.startedData))}::text[])
             AS u(id, def, wf, hash, key, started)
    ), ${blobs.storing(rs.map((r) => r.input))}, run AS (
      INSERT INTO kronos_runs (id, definition_id, workflow_name, input_hash, idempotency_key)
      SELECT id, def, wf, hash, key FROM input
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id, definition_id
    ), job AS (
      INSERT INTO kronos_jobs (type, payload, max_retries, timeout_ms, definition_id)
      SELECT ${p.stepJobType}, jsonb_build_object('runId', run.id, 'step', r.name), r.retries, r.timeout, run.definition_id
      FROM run JOIN unnest(${roots.map((r) => r.run)}::uuid[], ${roots.map((r) => r.name)}::text[],
                           ${roots.map((r) => r.maxRetries)}::int[], ${roots.map((r) => r.timeoutMs)}::int[])
                    AS r(run_id, name, retries, timeout) ON r.run_id = run.id
      RETURNING id, (payload->>'runId')::uuid AS run_id, payload->>'step' AS step
    ), step AS (
      INSERT INTO kronos_steps (run_id, name, status, job_id)
      SELECT run.id, s.name, CASE WHEN job.id IS NULL THEN 'waiting' ELSE 'scheduled' END, job.id
      FROM run JOIN unnest(${steps.map((st) => st.run)}::uuid[], ${steps.map((st) => st.name)}::text[]) AS s(run_id, name)
        ON s.run_id = run.id
      LEFT JOIN job ON job.run_id = run.id AND job.step = s.name
    ), event AS (
      INSERT INTO kronos_event_batches (run_id, seq, last_seq, events)
      SELECT run.id, 1, 1 + count(job.id)::int,
             jsonb_build_array(jsonb_build_object('type', 'run_started', 'data', input.started::jsonb))
             || coalesce(jsonb_agg(jsonb_build_object('type', 'step_scheduled', 'step', job.step,
                                                      'data', jsonb_build_object('jobId', job.id)) ORDER BY job.id)
                         FILTER (WHERE job.id IS NOT NULL), '[]')
      FROM run JOIN input ON input.id = run.id LEFT JOIN job ON job.run_id = run.id
      GROUP BY run.id, input.started
    )
    SELECT id, pg_notify('kronos_events', ${events.notifyPayload(rs.map((r) => r.id))}) FROM run`);
  const fresh = new Set(inserted.map((r) => r.id));
  const keys = rs.filter((r) => !fresh.has(r.id)).map((r) => r.idempotencyKey);
  const existing = new Map(
    keys.length === 0
      ? []
      : (
          await db.query<{ id: string; key: string }>(sql`
            SELECT id, idempotency_key AS key FROM kronos_runs WHERE idempotency_key = ANY(${keys as string[]}::text[])`)
        ).map((r) => [r.key, r.id]),
  );
  return rs.map((r) => {
    if (fresh.has(r.id)) return { id: r.id, existing: false };
    const id = r.idempotencyKey === undefined ? undefined : existing.get(r.idempotencyKey);
    if (!id) throw new Error(`run ${r.id} was not inserted and no run holds its idempotency key`);
    return { id, existing: true };
  });
}
