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
 * Appends events. Each run's sequence numbers continue gaplessly from its last one: the counter
 * lives on the run row, whose lock serialises appenders of one run. Callers lock the runs first
 * (runs.lock) when they append for several, so batches cannot deadlock.
 */
export async function append(db: Queryable, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const perRun = new Map<string, number>();
  for (const e of events) perRun.set(e.runId, (perRun.get(e.runId) ?? 0) + 1);
  const ids = [...perRun.keys()];
  const tops = await db.query<{ id: string; lastSeq: number }>(sql`
    UPDATE kronos_runs r SET last_seq = r.last_seq + c.n
    FROM unnest(${ids}::uuid[], ${ids.map((id) => perRun.get(id) as number)}::int[]) AS c(id, n)
    WHERE r.id = c.id
    RETURNING r.id, r.last_seq AS "lastSeq"`);
  const next = new Map(tops.map((t) => [t.id, t.lastSeq - (perRun.get(t.id) as number) + 1]));
  const seqs = events.map((e) => {
    const seq = next.get(e.runId);
    if (seq === undefined) throw new Error(`cannot append events to run ${e.runId}: no such run`);
    next.set(e.runId, seq + 1);
    return seq;
  });
  await db.query(sql`
    INSERT INTO kronos_events (run_id, seq, type, step, attempt, data)
    SELECT r, s, t, st, a, d::jsonb
    FROM unnest(${events.map((e) => e.runId)}::uuid[], ${seqs}::int[], ${events.map((e) => e.type)}::text[],
                ${events.map((e) => e.step ?? null)}::text[], ${events.map((e) => e.attempt ?? null)}::int[],
                ${events.map((e) => JSON.stringify(e.data ?? {}))}::text[]) AS u(r, s, t, st, a, d)`);
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
