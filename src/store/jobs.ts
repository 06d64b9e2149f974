import { json, type Queryable, sql } from "../db/index.ts";

export type JobState = "pending" | "running" | "completed" | "dead" | "cancelled";

export interface Job {
  id: number;
  type: string;
  payload: unknown;
  priority: number;
  state: JobState;
  runAt: Date;
  attempt: number;
  maxRetries: number;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  definitionId: number | null;
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  result: unknown;
  lastError: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** What a worker gets from a claim: enough to run the job and to fence its completion. */
export interface ClaimedJob {
  id: number;
  type: string;
  payload: unknown;
  priority: number;
  runAt: Date;
  attempt: number;
  maxRetries: number;
  timeoutMs: number | null;
  definitionId: number | null;
}

export interface NewJob {
  type: string;
  payload?: unknown;
  priority?: number;
  runAt?: Date;
  maxRetries?: number;
  timeoutMs?: number;
  idempotencyKey?: string;
  definitionId?: number;
}

const JOB_COLUMNS = sql`id, type, payload, priority, state, run_at AS "runAt", attempt, max_retries AS "maxRetries",
  timeout_ms AS "timeoutMs", idempotency_key AS "idempotencyKey", definition_id AS "definitionId",
  lease_owner AS "leaseOwner", lease_expires_at AS "leaseExpiresAt", result, last_error AS "lastError",
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

/**
 * Inserts one job, or returns the unfinished job that already holds its idempotency key
 * (`existing: true`). Runs on the caller's Queryable, so it commits or rolls back with their data.
 */
export async function submit(db: Queryable, job: NewJob): Promise<{ job: Job; existing: boolean }> {
  const [inserted] = await db.query<Job>(sql`
    INSERT INTO kronos_jobs (type, payload, priority, run_at, max_retries, timeout_ms, idempotency_key, definition_id)
    VALUES (${job.type}, ${json(job.payload ?? null)}::jsonb, ${job.priority ?? 5}, coalesce(${job.runAt ?? null}::timestamptz, now()),
            ${job.maxRetries ?? 3}, ${job.timeoutMs ?? null}::int, ${job.idempotencyKey ?? null}::text, ${job.definitionId ?? null}::int)
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running') DO NOTHING
    RETURNING ${JOB_COLUMNS}`);
  if (inserted) return { job: inserted, existing: false };
  const [found] = await db.query<Job>(sql`
    SELECT ${JOB_COLUMNS} FROM kronos_jobs
    WHERE idempotency_key = ${job.idempotencyKey ?? null} AND state IN ('pending', 'running')`);
  // The holder finished between our insert and select: the key is free again, so try once more.
  if (!found) return submit(db, job);
  return { job: found, existing: true };
}

/**
 * Inserts many jobs in one statement (no idempotency keys); returns their ids in input order.
 * With `claimedBy`, they are inserted already running under that worker's lease (attempt 1): the
 * worker starts them itself once the transaction commits.
 */
export async function submitMany(
  db: Queryable,
  jobs: readonly NewJob[],
  claimedBy?: { worker: string; leaseMs: number },
): Promise<number[]> {
  if (jobs.length === 0) return [];
  const claimed = claimedBy
    ? sql`'running', 1, ${claimedBy.worker}::text, now() + ${claimedBy.leaseMs} * interval '1 millisecond', now()`
    : sql`'pending', 0, NULL, NULL, NULL`;
  const rows = await db.query<{ id: number }>(sql`
    INSERT INTO kronos_jobs (type, payload, priority, max_retries, timeout_ms, definition_id, run_at,
                             state, attempt, lease_owner, lease_expires_at, started_at)
    SELECT t, p::jsonb, pr, mr, tm, d, coalesce(ra, now()), ${claimed}
    FROM unnest(${jobs.map((j) => j.type)}::text[], ${jobs.map((j) => JSON.stringify(j.payload ?? null))}::text[],
                ${jobs.map((j) => j.priority ?? 5)}::smallint[], ${jobs.map((j) => j.maxRetries ?? 3)}::int[],
                ${jobs.map((j) => j.timeoutMs ?? null)}::int[], ${jobs.map((j) => j.definitionId ?? null)}::int[],
                ${jobs.map((j) => j.runAt?.toISOString() ?? null)}::timestamptz[])
         WITH ORDINALITY AS u(t, p, pr, mr, tm, d, ra, n)
    ORDER BY n
    RETURNING id`);
  return rows.map((r) => r.id);
}

export interface ClaimParams {
  worker: string;
  limit: number;
  leaseMs: number;
  /** Plain job types this worker has handlers for. */
  types: readonly string[];
  /** Workflow definitions whose step code this worker has loaded. */
  definitionIds: readonly number[];
}

/**
 * Takes up to `limit` due jobs, highest priority first, then oldest run_at, then id, skipping rows
 * other workers hold; each gets a lease and its attempt number goes up (the fencing token).
 */
export async function claim(db: Queryable, p: ClaimParams): Promise<ClaimedJob[]> {
  const rows = await db.query<ClaimedJob>(queueStatements.claim(p));
  // RETURNING has no order: restore the claim order.
  return rows.sort((a, b) => b.priority - a.priority || a.runAt.getTime() - b.runAt.getTime() || a.id - b.id);
}

export interface Completion {
  id: number;
  attempt: number;
  result?: unknown;
  /** Delete the row instead of keeping it completed (see JobHandler.keepCompleted). */
  remove?: boolean;
}

/**
 * Marks jobs completed, or deletes those marked `remove`, but only where the worker still holds
 * them at that attempt: a late completion from a worker whose lease expired is refused. Returns the
 * accepted attempt by job id (an outcome of an older attempt of the same job, in the same batch, is
 * not accepted).
 */
export async function complete(db: Queryable, completions: readonly Completion[]): Promise<Map<number, number>> {
  const kept = completions.filter((c) => !c.remove);
  const removed = completions.filter((c) => c.remove);
  // Two plain statements (pipelined when both are needed): each joins the batch to the primary key.
  const rows = await Promise.all([
    kept.length > 0 ? db.query<{ id: number; attempt: number }>(queueStatements.complete(kept)) : [],
    removed.length > 0 ? db.query<{ id: number; attempt: number }>(queueStatements.completeRemoving(removed)) : [],
  ]);
  return new Map(rows.flat().map((r) => [r.id, r.attempt]));
}

export interface Failure {
  id: number;
  attempt: number;
  error: string;
  /** When to try again; null sends the job to the dead-letter state. */
  retryAt: Date | null;
}

/** Records failed attempts (fenced like `complete`): back to pending at `retryAt`, or dead. */
export async function fail(db: Queryable, failures: readonly Failure[]): Promise<Map<number, number>> {
  if (failures.length === 0) return new Map();
  const rows = await db.query<{ id: number; attempt: number }>(queueStatements.fail(failures));
  return new Map(rows.map((r) => [r.id, r.attempt]));
}

/** Extends the leases of jobs this worker still holds; returns the ids it holds. */
export async function renewLeases(
  db: Queryable,
  p: { worker: string; ids: readonly number[]; leaseMs: number },
): Promise<Set<number>> {
  if (p.ids.length === 0) return new Set();
  const rows = await db.query<{ id: number }>(queueStatements.renewLeases(p));
  return new Set(rows.map((r) => r.id));
}

/**
 * Gives jobs back without counting the attempt (graceful shutdown): they are pending again at once.
 */
export async function release(db: Queryable, p: { worker: string; ids: readonly number[] }): Promise<number> {
  if (p.ids.length === 0) return 0;
  const rows = await db.query(sql`
    UPDATE kronos_jobs SET state = 'pending', attempt = attempt - 1, run_at = now(), lease_owner = NULL, lease_expires_at = NULL
    WHERE id = ANY(${p.ids as number[]}::bigint[]) AND state = 'running' AND lease_owner = ${p.worker}
    RETURNING id`);
  if (rows.length > 0) await db.query(sql`SELECT pg_notify('kronos_jobs', '')`);
  return rows.length;
}

export interface ExpiredJob extends ClaimedJob {
  dead: boolean;
}

/**
 * Takes back running jobs whose lease ran out (their worker died): retried at once, or dead when
 * out of attempts. Uses kronos_jobs_lease.
 */
export async function reapExpired(db: Queryable, p: { limit: number }): Promise<ExpiredJob[]> {
  const rows = await db.query<ExpiredJob>(queueStatements.reapExpired(p));
  if (rows.some((r) => !r.dead)) await db.query(sql`SELECT pg_notify('kronos_jobs', '')`);
  return rows;
}

export async function get(db: Queryable, p: { id: number }): Promise<Job | undefined> {
  const [row] = await db.query<Job>(sql`SELECT ${JOB_COLUMNS} FROM kronos_jobs WHERE id = ${p.id}`);
  return row;
}

export interface ListParams {
  state?: JobState;
  type?: string;
  /** Keyset paging: only jobs with a smaller id. */
  beforeId?: number;
  limit: number;
}

/** Newest first: the primary key backwards (kronos_jobs_dead for the dead-letter queue). */
export async function list(db: Queryable, p: ListParams): Promise<Job[]> {
  const byState = p.state ? sql`AND state = ${p.state}` : sql``;
  const byType = p.type ? sql`AND type = ${p.type}` : sql``;
  const before = p.beforeId !== undefined ? sql`AND id < ${p.beforeId}` : sql``;
  return db.query<Job>(sql`
    SELECT ${JOB_COLUMNS} FROM kronos_jobs WHERE true ${byState} ${byType} ${before}
    ORDER BY id DESC LIMIT ${p.limit}`);
}

/** A dead job with its exact finished_at in µs since 1970, for the next page's cursor. */
export interface DeadJob extends Job {
  finishedMicros: number;
}

/**
 * The dead-letter queue, most recently dead first (finished_at, then id); keyset cursor in µs.
 * kronos_jobs_dead narrows the scan to dead jobs (few) before the sort.
 */
export async function listDead(
  db: Queryable,
  p: { after?: { at: number; id: number }; limit: number },
): Promise<DeadJob[]> {
  const after = p.after
    ? sql`AND (finished_at, id) < ((timestamptz 'epoch' + ${p.after.at}::bigint * interval '1 microsecond'), ${p.after.id}::bigint)`
    : sql``;
  return db.query<DeadJob>(sql`
    SELECT ${JOB_COLUMNS}, (extract(epoch FROM finished_at) * 1000000)::float8 AS "finishedMicros"
    FROM kronos_jobs WHERE state = 'dead' ${after}
    ORDER BY finished_at DESC, id DESC LIMIT ${p.limit}`);
}

/**
 * Cancels a job that has not finished. A running job's worker is told over NOTIFY so its
 * AbortSignal fires; its late completion is refused because the job is no longer running.
 */
export async function cancel(db: Queryable, p: { id: number }): Promise<Job | undefined> {
  const [row] = await db.query<Job>(sql`
    UPDATE kronos_jobs SET state = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
    WHERE id = ${p.id} AND state IN ('pending', 'running')
    RETURNING ${JOB_COLUMNS}`);
  if (row) await db.query(sql`SELECT pg_notify('kronos_cancel', ${String(p.id)})`);
  return row;
}

/**
 * Cancels many jobs by id (workflow cancel and failure); running ones are told over NOTIFY.
 * Rows locked by a claim in progress are skipped rather than waited for (waiting could deadlock
 * with that claim, which holds the job and waits for the run): the claim sees the run stopped and
 * cancels them itself.
 */
export async function cancelMany(db: Queryable, p: { ids: readonly number[] }): Promise<number[]> {
  if (p.ids.length === 0) return [];
  const rows = await db.query<{ id: number }>(sql`
    UPDATE kronos_jobs SET state = 'cancelled', finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
    WHERE id IN (SELECT id FROM kronos_jobs WHERE id = ANY(${p.ids as number[]}::bigint[]) AND state IN ('pending', 'running')
                 FOR UPDATE SKIP LOCKED)
    RETURNING id`);
  if (rows.length > 0) await db.query(sql`SELECT pg_notify('kronos_cancel', ${rows.map((r) => r.id).join(",")})`);
  return rows.map((r) => r.id);
}

/** Puts a dead job back in the queue with a fresh set of attempts. */
export async function retryDead(db: Queryable, p: { id: number }): Promise<Job | undefined> {
  const [row] = await db.query<Job>(sql`
    UPDATE kronos_jobs SET state = 'pending', attempt = 0, run_at = now(), finished_at = NULL
    WHERE id = ${p.id} AND state = 'dead'
    RETURNING ${JOB_COLUMNS}`);
  if (row) await db.query(sql`SELECT pg_notify('kronos_jobs', '')`);
  return row;
}

/** Jobs waiting to run now (queue depth, for metrics and the debugger header). */
export async function countDue(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>(sql`
    SELECT count(*)::int AS n FROM kronos_jobs WHERE state = 'pending' AND run_at <= now()`);
  return row?.n ?? 0;
}

/** Deletes up to `limit` jobs finished before `before` (retention); returns how many. */
export async function deleteFinished(db: Queryable, p: { before: Date; limit: number }): Promise<number> {
  const rows = await db.query(sql`
    DELETE FROM kronos_jobs WHERE id IN (
      SELECT id FROM kronos_jobs WHERE finished_at < ${p.before}
      ORDER BY id LIMIT ${p.limit}) -- oldest ids first: ids grow with time, so no index on finished_at is kept up
    RETURNING id`);
  return rows.length;
}

/**
 * The statements on the queue's hot path, as built for their parameters; exported so tests can
 * check how PostgreSQL plans them (tests/queue/planning.test.ts).
 */
export const queueStatements = {
  claim: (p: ClaimParams) => sql`
    WITH next AS (
      SELECT id FROM kronos_jobs
      WHERE state = 'pending' AND run_at <= now()
        AND ((definition_id IS NULL AND type = ANY(${p.types as string[]}::text[]))
             OR definition_id = ANY(${p.definitionIds as number[]}::int[]))
      ORDER BY priority DESC, run_at, id
      LIMIT ${p.limit}
      FOR UPDATE SKIP LOCKED
    ) -- uses kronos_jobs_claim
    UPDATE kronos_jobs j
    SET state = 'running', attempt = j.attempt + 1, lease_owner = ${p.worker},
        lease_expires_at = now() + ${p.leaseMs} * interval '1 millisecond', started_at = now()
    FROM next WHERE j.id = next.id
    RETURNING j.id, j.type, j.payload, j.priority, j.run_at AS "runAt", j.attempt, j.max_retries AS "maxRetries",
              j.timeout_ms AS "timeoutMs", j.definition_id AS "definitionId"`,
  complete: (completions: readonly Completion[]) => sql`
    UPDATE kronos_jobs j
    SET state = 'completed', finished_at = now(), result = c.result::jsonb, lease_owner = NULL, lease_expires_at = NULL
    FROM unnest(${completions.map((c) => c.id)}::bigint[], ${completions.map((c) => c.attempt)}::int[],
                ${completions.map((c) => (c.result === undefined ? null : JSON.stringify(c.result)))}::text[]) AS c(id, attempt, result)
    WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running'
    RETURNING j.id, j.attempt`,
  /** Completion that deletes the row (Completion.remove), fenced the same way. */
  completeRemoving: (completions: readonly Completion[]) => sql`
    DELETE FROM kronos_jobs j
    USING unnest(${completions.map((c) => c.id)}::bigint[], ${completions.map((c) => c.attempt)}::int[]) AS c(id, attempt)
    WHERE j.id = c.id AND j.attempt = c.attempt AND j.state = 'running'
    RETURNING j.id, j.attempt`,
  fail: (failures: readonly Failure[]) => sql`
    UPDATE kronos_jobs j
    SET state = CASE WHEN f.retry_at IS NULL THEN 'dead' ELSE 'pending' END,
        run_at = coalesce(f.retry_at, j.run_at),
        finished_at = CASE WHEN f.retry_at IS NULL THEN now() END,
        last_error = f.error, lease_owner = NULL, lease_expires_at = NULL
    FROM unnest(${failures.map((f) => f.id)}::bigint[], ${failures.map((f) => f.attempt)}::int[],
                ${failures.map((f) => f.error)}::text[], ${failures.map((f) => f.retryAt?.toISOString() ?? null)}::timestamptz[])
         AS f(id, attempt, error, retry_at)
    WHERE j.id = f.id AND j.attempt = f.attempt AND j.state = 'running'
    RETURNING j.id, j.attempt`,
  renewLeases: (p: { worker: string; ids: readonly number[]; leaseMs: number }) => sql`
    UPDATE kronos_jobs SET lease_expires_at = now() + ${p.leaseMs} * interval '1 millisecond'
    WHERE id = ANY(${p.ids as number[]}::bigint[]) AND state = 'running' AND lease_owner = ${p.worker}
    RETURNING id`,
  reapExpired: (p: { limit: number }) => sql`
    WITH expired AS (
      SELECT id FROM kronos_jobs
      WHERE state = 'running' AND lease_expires_at < now()
      ORDER BY lease_expires_at LIMIT ${p.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE kronos_jobs j
    SET state = CASE WHEN j.attempt > j.max_retries THEN 'dead' ELSE 'pending' END,
        finished_at = CASE WHEN j.attempt > j.max_retries THEN now() END,
        run_at = now(), last_error = 'lease expired: the worker holding it stopped renewing (crashed or stalled)',
        lease_owner = NULL, lease_expires_at = NULL
    FROM expired WHERE j.id = expired.id
    RETURNING j.id, j.type, j.payload, j.priority, j.run_at AS "runAt", j.attempt, j.max_retries AS "maxRetries",
              j.timeout_ms AS "timeoutMs", j.definition_id AS "definitionId", j.state = 'dead' AS dead`,
};
