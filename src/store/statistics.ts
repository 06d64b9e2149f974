import { type Queryable, sql, staticSql } from "../db/index.ts";

/** The tables whose plans depend on statistics: every hot statement reads one of them. */
export const HOT_TABLES = [
  "kronos_jobs",
  "kronos_runs",
  "kronos_steps",
  "kronos_event_batches",
  "kronos_blobs",
] as const;
export type HotTable = (typeof HOT_TABLES)[number];

/**
 * Hot tables that have never been analysed, with how many rows changed in them since: a fresh
 * database before autovacuum's first round (up to a minute), or an embedded one, where no
 * autovacuum runs. Until then the planner guesses from page counts and sorts whole queues.
 */
export async function neverAnalyzed(db: Queryable): Promise<{ table: HotTable; changes: number }[]> {
  return db.query<{ table: HotTable; changes: number }>(sql`
    SELECT relname AS table, n_mod_since_analyze::int AS changes FROM pg_stat_user_tables
    WHERE relname = ANY(${[...HOT_TABLES]}::text[]) AND last_analyze IS NULL AND last_autoanalyze IS NULL
    ORDER BY relname`);
}

export async function analyze(db: Queryable, table: HotTable): Promise<void> {
  if (!HOT_TABLES.includes(table)) throw new Error(`not a Kronos table: ${table}`);
  await db.query(staticSql(`ANALYZE ${table}`));
}
