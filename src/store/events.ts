import { type Queryable, sql } from "../db/index.ts";

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

/**
 * Appends events in one statement, which also notifies `kronos_events` (delivered at commit). Each
 * run's sequence numbers continue gaplessly from its last one, read from the primary key.
 * Callers must hold the runs' row locks (runs.lock, in id order) for the rest of the transaction:
 * that is what serialises appenders of one run. Two appenders that did not would collide on the
 * primary key (an error, never a gap or a reordering).
 */
export async function append(db: Queryable, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  // Number each run's new events 1..n here; the statement adds the run's last seq to them.
  const perRun = new Map<string, number>();
  const index = events.map((e) => {
    const n = (perRun.get(e.runId) ?? 0) + 1;
    perRun.set(e.runId, n);
    return n;
  });
  const ids = [...perRun.keys()];
  const inserted = await db.query<{ n: number }>(sql`
    WITH base AS (
      SELECT r.id, coalesce((SELECT max(e.seq) FROM kronos_events e WHERE e.run_id = r.id), 0) AS seq
      FROM kronos_runs r WHERE r.id = ANY(${ids}::uuid[])
    ), ins AS (
      INSERT INTO kronos_events (run_id, seq, type, step, attempt, data)
      SELECT e.run_id, base.seq + e.i, e.type, e.step, e.attempt, e.data::jsonb
      FROM unnest(${events.map((e) => e.runId)}::uuid[], ${index}::int[], ${events.map((e) => e.type)}::text[],
                  ${events.map((e) => e.step ?? null)}::text[], ${events.map((e) => e.attempt ?? null)}::int[],
                  ${events.map((e) => JSON.stringify(e.data ?? {}))}::text[]) AS e(run_id, i, type, step, attempt, data)
      JOIN base ON base.id = e.run_id
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM ins)::int AS n, pg_notify('kronos_events', ${notifyPayload(ids)})`);
  if (inserted[0]?.n !== events.length) {
    throw new Error(`cannot append events: ${events.length - (inserted[0]?.n ?? 0)} name a run that does not exist`);
  }
}

/** A run's events after `afterSeq`, in order (primary key range scan). */
export async function list(
  db: Queryable,
  p: { runId: string; afterSeq?: number; limit?: number },
): Promise<EventRow[]> {
  return db.query<EventRow>(sql`
    SELECT run_id AS "runId", seq, type, step, attempt, data, at FROM kronos_events
    WHERE run_id = ${p.runId} AND seq > ${p.afterSeq ?? 0}
    ORDER BY seq LIMIT ${p.limit ?? 100_000}`);
}
