import type { Queryable } from "../db/index.ts";
import { analyze, type HotTable, neverAnalyzed } from "../store/statistics.ts";

/**
 * Analyses the hot tables that have never been analysed once `minChanges` rows changed in them,
 * and returns which. Autovacuum takes up to a minute to get to a fresh table (and never runs on
 * PGlite); until then claims are planned as "sort every pending job", which halves throughput.
 */
export async function analyzeFreshTables(db: Queryable, minChanges = 1_000): Promise<HotTable[]> {
  const tables = await neverAnalyzed(db, { minChanges });
  for (const table of tables) await analyze(db, table);
  return tables;
}
