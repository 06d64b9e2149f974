import { json, type Queryable, sql } from "../db/index.ts";

export interface CronEntry {
  name: string;
  schedule: string;
  type: string;
  payload: unknown;
  priority: number;
  maxRetries: number;
  nextRunAt: Date;
  lastRunAt: Date | null;
}

const COLUMNS = sql`name, schedule, type, payload, priority, max_retries AS "maxRetries",
  next_run_at AS "nextRunAt", last_run_at AS "lastRunAt"`;

/**
 * Registers or updates a recurring job. The next tick is kept unless the schedule changed, so
 * restarting nodes neither skips nor repeats a tick.
 */
export async function upsert(db: Queryable, e: Omit<CronEntry, "lastRunAt">): Promise<CronEntry> {
  const [row] = await db.query<CronEntry>(sql`
    INSERT INTO kronos_cron (name, schedule, type, payload, priority, max_retries, next_run_at)
    VALUES (${e.name}, ${e.schedule}, ${e.type}, ${json(e.payload)}::jsonb, ${e.priority}, ${e.maxRetries}, ${e.nextRunAt})
    ON CONFLICT (name) DO UPDATE SET
      type = excluded.type, payload = excluded.payload, priority = excluded.priority, max_retries = excluded.max_retries,
      next_run_at = CASE WHEN kronos_cron.schedule = excluded.schedule THEN kronos_cron.next_run_at ELSE excluded.next_run_at END,
      schedule = excluded.schedule
    RETURNING ${COLUMNS}`);
  return row as CronEntry;
}

/** Entries whose next tick is due. Uses kronos_cron_due. */
export async function due(db: Queryable, p: { now: Date; limit: number }): Promise<CronEntry[]> {
  return db.query<CronEntry>(sql`
    SELECT ${COLUMNS} FROM kronos_cron WHERE next_run_at <= ${p.now} ORDER BY next_run_at LIMIT ${p.limit}`);
}

/**
 * Moves an entry from tick `from` to tick `to` if nobody else did: compare-and-set, so a tick is
 * taken by exactly one caller even when two nodes briefly both think they lead.
 */
export async function advance(db: Queryable, p: { name: string; from: Date; to: Date }): Promise<boolean> {
  const rows = await db.query(sql`
    UPDATE kronos_cron SET next_run_at = ${p.to}, last_run_at = ${p.from}
    WHERE name = ${p.name} AND next_run_at = ${p.from}
    RETURNING name`);
  return rows.length === 1;
}

export async function list(db: Queryable): Promise<CronEntry[]> {
  return db.query<CronEntry>(sql`SELECT ${COLUMNS} FROM kronos_cron ORDER BY name`);
}

export async function remove(db: Queryable, p: { name: string }): Promise<boolean> {
  return (await db.query(sql`DELETE FROM kronos_cron WHERE name = ${p.name} RETURNING name`)).length === 1;
}
