import { json, type Queryable, sql } from "../db/index.ts";

export type EventType =
  | "run_started"
  | "step_scheduled"
  | "step_started"
  | "step_completed"
  | "step_failed"
  | "step_retried"
  | "run_completed"
  | "run_failed"
  | "run_cancelled"
  | "run_forked";

export interface NewEvent {
  runId: string;
  type: EventType;
  step?: string;
  attempt?: number;
  data?: Record<string, unknown>;
}

export interface EventRow {
  runId: string;
  seq: number;
  type: EventType;
  step: string | null;
  attempt: number | null;
  data: Record<string, unknown>;
  at: Date;
}

/**
 * The payload of the `kronos_events` notification for appends to these runs: their ids, or empty
 * ("check every run you watch") past 100 runs, as a payload must stay under 8000 bytes.
 */
export function notifyPayload(runIds: Iterable<string>): string {
  const ids = [...new Set(runIds)];
  return ids.length <= 100 ? ids.join(",") : "";
}

/** How an event is stored in its batch row (migration 0007): absent fields are left out. */
function stored(e: NewEvent): Record<string, unknown> {
  const event: Record<string, unknown> = { type: e.type };
  if (e.step !== undefined) event.step = e.step;
  if (e.attempt !== undefined) event.attempt = e.attempt;
  if (e.data !== undefined && Object.keys(e.data).length > 0) event.data = e.data;
  return event;
}

/**
 * Appends events in one statement, which also notifies `kronos_events` (delivered at commit). A
 * run's events from one call are one row of `kronos_event_batches`, numbered gaplessly on from the
 * run's last seq (read from the primary key), in the order given.
 * Callers must hold the runs' row locks (runs.lock, in id order) for the rest of the transaction:
 * that is what serialises appenders of one run. Two appenders that did not would collide on the
 * primary key (an error, never a gap or a reordering).
 */
export async function append(db: Queryable, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const perRun = new Map<string, Record<string, unknown>[]>();
  for (const e of events) {
    const list = perRun.get(e.runId);
    if (list) list.push(stored(e));
    else perRun.set(e.runId, [stored(e)]);
  }
  const batches = [...perRun].map(([run, list]) => ({ run, events: list }));
  const inserted = await db.query<{ n: number }>(sql`
    WITH input AS (
      SELECT b.run, b.events FROM jsonb_to_recordset(${json(batches)}::jsonb) AS b(run uuid, events jsonb)
    ), base AS MATERIALIZED (
      SELECT r.id, coalesce((SELECT e.last_seq FROM kronos_event_batches e WHERE e.run_id = r.id
                             ORDER BY e.seq DESC LIMIT 1), 0) AS last
      FROM kronos_runs r WHERE r.id = ANY(${[...perRun.keys()]}::uuid[])
    ), ins AS (
      INSERT INTO kronos_event_batches (run_id, seq, last_seq, events)
      SELECT i.run, base.last + 1, base.last + jsonb_array_length(i.events), i.events
      FROM input i JOIN base ON base.id = i.run
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins)::int AS n, pg_notify('kronos_events', ${notifyPayload(perRun.keys())})`);
  if (inserted[0]?.n !== perRun.size) {
    throw new Error(`cannot append events: ${perRun.size - (inserted[0]?.n ?? 0)} name a run that does not exist`);
  }
}

/** A run's events after `afterSeq`, in order (primary key range scan). */
export async function list(
  db: Queryable,
  p: { runId: string; afterSeq?: number; limit?: number },
): Promise<EventRow[]> {
  const after = p.afterSeq ?? 0;
  // From the batch that holds seq after+1 (one backward probe of the primary key) onwards.
  return db.query<EventRow>(sql`
    SELECT b.run_id AS "runId", b.seq + e.i::int - 1 AS seq, e.event->>'type' AS type,
           e.event->>'step' AS step, (e.event->>'attempt')::int AS attempt,
           coalesce(e.event->'data', '{}') AS data, b.at
    FROM kronos_event_batches b CROSS JOIN LATERAL jsonb_array_elements(b.events) WITH ORDINALITY AS e(event, i)
    WHERE b.run_id = ${p.runId}
      AND b.seq >= coalesce((SELECT max(f.seq) FROM kronos_event_batches f
                             WHERE f.run_id = ${p.runId} AND f.seq <= ${after}::bigint + 1), 1)
      AND b.seq + e.i::int - 1 > ${after}
    ORDER BY b.seq, e.i LIMIT ${p.limit ?? 100_000}`);
}
